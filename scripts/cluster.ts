// `npm run cluster -- --nodes 3`: a local cluster of relay nodes on one Postgres database and one
// Redis (by default the ones on this machine), each serving the app and the relay on its own port
// (3001, 3002, …). For trying several nodes by hand and for the scale-out tests. Ctrl-C stops all.
//
//   --nodes N            how many nodes (default 3)
//   --port P             the first node's port (default 3001)
//   --relay-only         no app, only the relay (no build needed; much less memory per node)
//   --database-url URL   default DATABASE_URL or postgres://postgres@127.0.0.1:5432/test
//   --schema NAME        default DATABASE_SCHEMA or junction_cluster
//   --redis-url URL      default REDIS_URL or redis://127.0.0.1:6379
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "3" },
    port: { type: "string", default: "3001" },
    "relay-only": { type: "boolean", default: false },
    "database-url": { type: "string", default: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test" },
    schema: { type: "string", default: process.env.DATABASE_SCHEMA ?? "junction_cluster" },
    "redis-url": { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
  },
});
const count = Number(values.nodes);
const firstPort = Number(values.port);
if (!Number.isInteger(count) || count < 1 || count > 16) throw new Error("--nodes must be 1–16");

async function main(): Promise<void> {
  if (!values["relay-only"]) {
    // @ts-expect-error start.mjs is plain JavaScript without declarations
    const { needsBuild, build } = (await import("./start.mjs")) as { needsBuild(): boolean; build(): void };
    if (needsBuild()) build();
  }
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const c of children) c.kill(signal);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => stopAll(signal));

  for (let i = 0; i < count; i++) {
    const port = firstPort + i;
    const child = spawn(process.execPath, ["--import", "tsx", "lib/relay/main.ts", ...(values["relay-only"] ? ["--relay-only"] : [])], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
      env: {
        ...process.env,
        NODE_ENV: process.env.NODE_ENV ?? "production",
        PORT: String(port),
        DATA_DIR: `${root}/data/cluster-node-${i + 1}`,
        DATABASE_URL: values["database-url"],
        DATABASE_SCHEMA: values.schema,
        REDIS_URL: values["redis-url"],
      },
    });
    children.push(child);
    child.stdout?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n").filter(Boolean)) process.stdout.write(`[node ${i + 1}] ${line}\n`);
    });
    child.on("exit", (code, signal) => {
      if (!stopping) console.error(`[node ${i + 1}] exited (${signal ?? code}); the other nodes go on`);
      if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(0);
    });
    console.log(`junction cluster: node ${i + 1} on http://localhost:${port}`);
  }
  console.log(`junction cluster: ${count} nodes on ${values["database-url"]} (schema ${values.schema}) and ${values["redis-url"]}; Ctrl-C stops them`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
