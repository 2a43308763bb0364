// Starts the real relay entry as a child process on a free port with its own DATA_DIR.
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll } from "vitest";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_RELAY_LIMITS_ENV } from "./limits";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface RelayProcess {
  url: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait: no shutdown code runs. */
  kill(): Promise<void>;
}

/**
 * The relay entry (lib/relay/main.ts) built into one ES module in a temporary directory, the packages
 * left as imports (a `node_modules` link beside it resolves them): a process started from it does
 * not load and transform the relay's TypeScript through tsx, which is most of a start's CPU (~2.6 s
 * against ~1 s here). For tests that start relays often (the chaos test restarts one every few seconds).
 */
export async function bundleRelay(): Promise<{ entry: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "junction-relay-bundle-"));
  try {
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
    const { build } = await import("esbuild");
    const entry = join(dir, "main.mjs");
    // the SQLite store's thread beside it, as storeThread.mjs, where threadStore.ts looks for it
    await build({
      entryPoints: { main: join(ROOT, "lib/relay/main.ts"), storeThread: join(ROOT, "lib/relay/storage/storeThread.ts") },
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      target: "node20",
      outdir: dir,
      outExtension: { ".js": ".mjs" },
      logLevel: "warning",
    });
    return { entry, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), "junction-relay-"));
}

/**
 * `limits: "test"` (the default) relaxes only the registration and login limits (TEST_RELAY_LIMITS);
 * `"production"` runs every limit at its real value, as the hostile-traffic suite needs.
 */
export function startRelay(opts: { dataDir?: string; env?: Record<string, string>; limits?: "test" | "production"; entry?: string } = {}): Promise<RelayProcess> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const limits = opts.limits === "production" ? {} : { RELAY_LIMITS: TEST_RELAY_LIMITS_ENV };
  // `entry`: the relay prebuilt into one JavaScript file (bundleRelay), started without tsx's loader.
  const args = opts.entry ? [opts.entry, "--relay-only"] : ["--import", "tsx", "lib/relay/main.ts", "--relay-only"];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", DATA_DIR: dataDir, ...limits, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return new Promise((resolveStart, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on http:\/\/localhost:(\d+)/.exec(out);
      if (m) {
        const port = Number(m[1]);
        resolveStart({
          url: `http://localhost:${port}`,
          port,
          dataDir,
          child,
          output: () => out,
          stop: async () => {
            child.kill("SIGTERM");
            return exited;
          },
          kill: async () => {
            child.kill("SIGKILL");
            await exited;
          },
        });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    void exited.then((code) => reject(new Error(`relay exited before listening (code ${code}): ${out.slice(-2000)}`)));
  });
}

/** One relay process for a test file: started before its tests, stopped after; call the result for its URL. */
export function useRelayProcess(env?: Record<string, string>): () => string {
  let relay: RelayProcess | undefined;
  beforeAll(async () => {
    relay = await startRelay(env ? { env } : undefined);
  });
  afterAll(async () => {
    await relay?.stop();
  });
  return () => {
    if (!relay) throw new Error("relay not started");
    return relay.url;
  };
}
