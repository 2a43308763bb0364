// The real server (Next app + relay, one process) for the benchmark, on a free port with a temp
// DATA_DIR. It runs from a private snapshot of the build: other people rebuild `.next` in the same
// checkout at any time, and a rebuild under a running server breaks every page load after it.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export class ServerStartError extends Error {
  override name = "ServerStartError";
}

export interface BenchServer {
  url: string;
  /** SIGTERM, wait for the exit, remove the snapshot and the data. Safe to call twice. */
  stop(): Promise<void>;
  /** The server's process (its CPU is counted apart from the browser's). */
  pid: number | null;
}

function buildRunning(): boolean {
  const res = spawnSync("pgrep", ["-f", "next build"], { encoding: "utf8" });
  return res.status === 0 && res.stdout.trim().length > 0;
}

async function waitForOtherBuilds(log: (line: string) => void): Promise<void> {
  if (!buildRunning()) return;
  log("waiting for a running `next build` to finish…");
  while (buildRunning()) await sleep(2_000);
}

/** Builds the app only when there is no build at all (another build in progress is waited for). */
export async function ensureBuild(log: (line: string) => void): Promise<void> {
  await waitForOtherBuilds(log);
  if (existsSync(join(ROOT, ".next", "BUILD_ID"))) return;
  log("no build found: running `npm run build`…");
  execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
}

/** A directory that looks like the project to `next start`, with its own copy of `.next`. */
async function snapshot(log: (line: string) => void): Promise<string> {
  for (;;) {
    await waitForOtherBuilds(log);
    const dir = mkdtempSync(join(tmpdir(), "junction-bench-app-"));
    cpSync(join(ROOT, ".next"), join(dir, ".next"), { recursive: true });
    // a build that started while we copied leaves a torn copy: take it again
    if (!buildRunning() && existsSync(join(dir, ".next", "BUILD_ID"))) {
      for (const name of ["node_modules", "public", "lib"]) symlinkSync(join(ROOT, name), join(dir, name));
      for (const name of ["package.json", "next.config.js", "tsconfig.json"]) cpSync(join(ROOT, name), join(dir, name));
      return dir;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The relay's daily share of a mailbox per sender (5,000 envelopes) is below the benchmark's backlog of one
 * sender: the bench raises that one limit through the relay's own override (RELAY_LIMITS), and nothing else.
 */
function benchLimits(): string {
  const own = process.env.RELAY_LIMITS ? (JSON.parse(process.env.RELAY_LIMITS) as Record<string, unknown>) : {};
  return JSON.stringify({ sendPerPair: { burst: 1_000_000, perSecond: 1_000_000 }, ...own });
}

export async function startServer(log: (line: string) => void): Promise<BenchServer> {
  await ensureBuild(log);
  const appDir = await snapshot(log);
  const dataDir = mkdtempSync(join(tmpdir(), "junction-bench-data-"));
  // RELAY_CPU_PROF=DIR: the relay's own V8 CPU profile, written to DIR when it stops (node --cpu-prof)
  const profile = process.env.RELAY_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.RELAY_CPU_PROF}`] : [];
  // RELAY_NODE_FLAGS="…": more flags for the relay's node (e.g. --trace-gc, with RELAY_OUTPUT=FILE to read it)
  const flags = process.env.RELAY_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
  const child: ChildProcess = spawn(process.execPath, [...profile, ...flags, "--import", "tsx", join(appDir, "lib/relay/main.ts")], {
    cwd: appDir,
    env: { ...process.env, NODE_ENV: "production", PORT: "0", DATA_DIR: dataDir, NEXT_TELEMETRY_DISABLED: "1", RELAY_LIMITS: benchLimits() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  // a crash of this process (no finally runs) must not leave the server behind
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(appDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  };

  let out = "";
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      const onData = (chunk: Buffer) => {
        if (process.env.RELAY_OUTPUT) appendFileSync(process.env.RELAY_OUTPUT, chunk);
        out += chunk.toString();
        if (out.length > 20_000) out = out.slice(-20_000);
        const m = /listening on (http:\/\/localhost:\d+)/.exec(out);
        if (m?.[1]) resolveUrl(m[1]);
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      void exited.then(() => reject(new ServerStartError(`server exited before listening: ${out.slice(-2_000)}`)));
      setTimeout(() => reject(new ServerStartError("server did not start within 60 s")), 60_000).unref();
    });
    return { url, stop, pid: child.pid ?? null };
  } catch (error) {
    await stop();
    throw error;
  }
}
