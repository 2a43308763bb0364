// What the I/O worker loads. Every chunk a worker loads is compiled in full as it starts (the build's
// compile hints), and the I/O worker starts beside the engine's while a backlog is being received: what
// it imports costs the engine's start. It needs SHA-256, ChaCha20-Poly1305 (it seals some of an upload's
// pieces) and zod's mini build; nothing of the KDFs, the curves, the ratchet, the store or zod's classic build.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(__dirname, "../..");

/** Every module reached by static imports from `entry`: project files relative to the root, packages by name. */
function importGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const files = [resolve(ROOT, entry)];
  while (files.length > 0) {
    const file = files.pop()!;
    const id = relative(ROOT, file);
    if (seen.has(id)) continue;
    seen.add(id);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith(".")) {
        seen.add(fileName);
        continue;
      }
      const base = join(dirname(file), fileName);
      const found = [`${base}.ts`, `${base}.tsx`, join(base, "index.ts")].find((f) => existsSync(f));
      if (!found) throw new Error(`${id}: cannot resolve ${fileName}`);
      files.push(found);
    }
  }
  return seen;
}

describe("the I/O worker's imports", () => {
  const graph = importGraph("lib/worker/io.worker.ts");

  it("reach SHA-256, ChaCha20-Poly1305 and zod's mini build, and nothing else of lib/crypto or zod", () => {
    const crypto = [...graph].filter((m) => m.startsWith("lib/crypto/")).sort();
    expect(crypto).toEqual(["lib/crypto/bytes.ts", "lib/crypto/chunks.ts", "lib/crypto/errors.ts", "lib/crypto/leaves.ts"]);
    const packages = [...graph].filter((m) => !m.startsWith("lib/")).sort();
    expect(packages).toEqual(["@noble/ciphers/chacha.js", "@noble/hashes/sha2.js", "zod/mini"]);
  });

  it("include no store, relay, or engine module but the ciphertext side of transfers", () => {
    const project = [...graph].filter((m) => m.startsWith("lib/") && !m.startsWith("lib/crypto/")).sort();
    expect(project).toEqual(["lib/engine/attachments/cipherio.ts", "lib/worker/io.ts", "lib/worker/io.worker.ts"]);
  });

  it("are read the way the checks above need (the engine's worker reaches the whole of lib/crypto)", () => {
    const engine = importGraph("lib/worker/crypto.worker.ts");
    expect(engine.has("lib/crypto/primitives.ts")).toBe(true);
    expect(engine.has("lib/crypto/leaves.ts")).toBe(true);
    expect(engine.has("zod")).toBe(true);
  });
});
