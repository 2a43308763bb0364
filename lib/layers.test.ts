// The layer rules of DESIGN.md §3 are lint rules; this proves they bite, file kind by file kind.
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint({ cwd: process.cwd() });

async function restricted(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.filter((m) => m.ruleId === "no-restricted-imports" || m.ruleId === "no-restricted-globals").map((m) => m.message);
}

describe("layer boundaries", () => {
  it("keeps lib/crypto pure: no Node modules, storage, sockets or DOM globals", async () => {
    expect(await restricted("lib/crypto/probe.ts", `import { createHash } from "crypto"; export const a = createHash;`)).toHaveLength(1);
    expect(await restricted("lib/crypto/probe.ts", `import Dexie from "dexie"; export const a = Dexie;`)).toHaveLength(1);
    expect(await restricted("lib/crypto/probe.ts", `import { io } from "socket.io-client"; export const a = io;`)).toHaveLength(1);
    expect(await restricted("lib/crypto/probe.ts", `export const a = window.location;`)).toHaveLength(1);
    expect(await restricted("lib/crypto/probe.ts", `import { ed25519 } from "@noble/curves/ed25519.js"; export const a = ed25519;`)).toEqual([]);
  });

  it("keeps lib/relay out of client code", async () => {
    for (const file of ["components/Probe.tsx", "lib/hooks/probe.ts", "lib/engine/probe.ts", "lib/worker/probe.ts", "lib/store/probe.ts"]) {
      expect(await restricted(file, `import { startServer } from "../relay/server"; export const a = startServer;`), file).toHaveLength(1);
    }
  });

  it("lets components reach data only through lib/hooks", async () => {
    expect(await restricted("components/Probe.tsx", `import { io } from "socket.io-client"; export const a = io;`)).toHaveLength(1);
    expect(await restricted("components/Probe.tsx", `import Dexie from "dexie"; export const a = Dexie;`)).toHaveLength(1);
    expect(await restricted("components/Probe.tsx", `import { getDb } from "../lib/store/db"; export const a = getDb;`)).toHaveLength(1);
    expect(await restricted("components/Probe.tsx", `import { getEngine } from "../lib/worker/client"; export const a = getEngine;`)).toHaveLength(1);
    expect(await restricted("components/Probe.tsx", `import { BRANDS } from "../lib/brands"; export const a = BRANDS;`)).toEqual([]);
  });

  it("keeps the engine and crypto away from hooks", async () => {
    expect(await restricted("lib/hooks/probe.ts", `import { encrypt } from "../crypto"; export const a = encrypt;`)).toHaveLength(1);
    expect(await restricted("lib/hooks/probe.ts", `import { io } from "socket.io-client"; export const a = io;`)).toHaveLength(1);
  });

  it("keeps client code out of lib/relay", async () => {
    expect(await restricted("lib/relay/probe.ts", `import Dexie from "dexie"; export const a = Dexie;`)).toHaveLength(1);
    expect(await restricted("lib/relay/probe.ts", `import { getDb } from "../store/db"; export const a = getDb;`)).toHaveLength(1);
  });
});
