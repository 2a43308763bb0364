// The entry: `node --import tsx lib/relay/main.ts [--dev] [--relay-only]`, env PORT and DATA_DIR.
import { startServer } from "./server";

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const server = await startServer({
    dev: args.has("--dev"),
    relayOnly: args.has("--relay-only"),
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(JSON.stringify({ level: "error", msg: "shutdown failed", signal, err: String(err) }));
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  console.error(JSON.stringify({ level: "error", msg: "startup failed", err: err instanceof Error ? err.message : String(err) }));
  process.exit(1);
});
