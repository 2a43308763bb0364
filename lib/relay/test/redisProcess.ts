// A Redis server of a test's own (Node, tests only): a `redis-server` child on a free port that the test
// may kill and start again. The machine's Redis is shared by other tests and people, so a test that
// restarts Redis restarts this one, never that.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/** A free TCP port on 127.0.0.1 (free when asked: another process may take it before it is used). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * null when a `redis-server` binary can be run, else why not. Under CI a missing one is an error, not a
 * skip, as for the other scale-out services (see services.ts).
 */
export function redisServerUnavailable(): string | null {
  return binaryUnavailable("redis-server");
}

/** null when `name --version` runs, else why not; a missing one throws under CI. */
function binaryUnavailable(name: string): string | null {
  const probe = spawnSync(name, ["--version"], { encoding: "utf8" });
  const reason = probe.error ? probe.error.message : probe.status === 0 ? null : `${name} --version exited with ${probe.status}`;
  if (reason !== null && process.env.CI) throw new Error(`${name} is required on CI: ${reason}`);
  return reason;
}

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** SIGKILL, as a crash: nothing is saved (it never saves anyway). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  start(): Promise<void>;
  running(): boolean;
}

/** Starts `redis-server` on a free port, without persistence, and waits until it answers PING. */
export async function startRedisProcess(): Promise<RedisProcess> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (child) return;
    const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = proc;
    exited = new Promise((done) => proc.once("exit", () => done()));
    void exited.then(() => {
      if (child === proc) child = null;
    });
    const until = Date.now() + 10_000;
    for (;;) {
      if (!child) throw new Error(`redis-server on port ${port} exited at start`);
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on("error", () => undefined);
      const answer = await client.connect().then(() => client.ping(), () => null).catch(() => null);
      client.disconnect();
      if (answer === "PONG") return;
      if (Date.now() > until) throw new Error(`redis-server on port ${port} did not answer`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  await start();
  return {
    port,
    url,
    running: () => child !== null,
    start,
    kill: async () => {
      const proc = child;
      if (!proc) return;
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** null when a Redis Cluster can be made here (`redis-server` and `redis-cli`), else why not; required on CI. */
export function redisClusterUnavailable(): string | null {
  return redisServerUnavailable() ?? binaryUnavailable("redis-cli");
}

export interface RedisClusterProcess {
  /** `redis+cluster://127.0.0.1:p1,…`: what REDIS_URL says to select ioredis's Cluster client. */
  readonly url: string;
  readonly ports: number[];
  /** SIGKILLs every node and removes their files. */
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `masters` nodes (no replicas), each a `redis-server --cluster-enabled yes`
 * child on a free port, joined by `redis-cli --cluster create`; resolves once every node reports
 * cluster_state:ok and all 16384 slots assigned. Nothing is persisted (the nodes' config files live
 * in a temporary directory removed by stop()).
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterProcess> {
  const dir = mkdtempSync(join(tmpdir(), "junction-redis-cluster-"));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null || child.signalCode !== null ? undefined : new Promise<void>((done) => {
          child.once("exit", () => done());
          child.kill("SIGKILL");
        }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      ports.push(port);
      const child = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
          "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--cluster-node-timeout", "2000"],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      children.push(child);
    }
    const cli = (port: number, ...args: string[]) => spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { encoding: "utf8" });
    const until = Date.now() + 10_000;
    while (!ports.every((port) => cli(port, "PING").stdout.trim() === "PONG")) {
      if (Date.now() > until) throw new Error("cluster nodes did not answer PING");
      if (children.some((c) => c.exitCode !== null)) throw new Error("a cluster node exited at start");
      await new Promise((r) => setTimeout(r, 50));
    }
    const made = spawnSync("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`redis-cli --cluster create failed: ${made.stdout}${made.stderr}`);
    const ok = (port: number) => {
      const info = cli(port, "CLUSTER", "INFO").stdout;
      return info.includes("cluster_state:ok") && info.includes("cluster_slots_ok:16384") && info.includes(`cluster_known_nodes:${masters}`);
    };
    while (!ports.every(ok)) {
      if (Date.now() > until + 10_000) throw new Error("the cluster did not reach cluster_state:ok");
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`, ports, stop };
}
