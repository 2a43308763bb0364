// `node --import tsx scripts/bench-relay/socketMemory.ts [N] [layers]`: what one idle socket costs at
// each layer of the relay's transport, without the relay: N idle connections to a server child that
// is, in turn, a plain TCP server (`net`), a `ws` WebSocket server, engine.io alone (socket.io's
// transport layer, with the relay's options), socket.io on its default ws engine, socket.io with the
// relay's engine options (websocket only, no per-message deflate, 1 MiB frames), and socket.io on
// another `wsEngine` when one is installed (EIOWS_PATH=…/node_modules/eiows). Per layer:
// growth of RSS and of the V8 heap in use per socket, each after two forced collections in the server,
// and the server's `process.memoryUsage()` `external` + `arrayBuffers` growth. The clients run in this
// process (their memory is not the server's). Layers: net,ws,eio,sio,sio-relay,sio-eiows (default: all
// that can run).
import { fork } from "node:child_process";
import { createConnection } from "node:net";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { Socket as EngineSocket } from "engine.io-client";
import { io as ioClient, type Socket } from "socket.io-client";

const N = Number(process.argv[2] ?? 2000);
const wanted = (process.argv[3] ?? "net,ws,eio,sio,sio-relay,sio-eiows").split(",");

interface Usage {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

// ---- the server child ----
if (process.env.SOCKET_MEMORY_LAYER) {
  const layer = process.env.SOCKET_MEMORY_LAYER;
  const { createServer } = await import("node:http");
  const net = await import("node:net");
  const gc = (globalThis as { gc?: () => void }).gc!;
  const held: unknown[] = [];
  let port = 0;
  if (layer === "net") {
    const server = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  } else if (layer === "ws") {
    const { WebSocketServer } = await import("ws");
    const http = createServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    wss.on("connection", (ws) => ws.on("message", () => undefined));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    port = (http.address() as { port: number }).port;
  } else if (layer === "eio") {
    const { attach } = await import("engine.io");
    const http = createServer();
    const engine = attach(http, { transports: ["websocket"], perMessageDeflate: false, maxHttpBufferSize: 1 << 20 });
    engine.on("connection", (socket: { on(ev: string, fn: () => void): void }) => socket.on("message", () => undefined));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    port = (http.address() as { port: number }).port;
  } else {
    const { Server } = await import("socket.io");
    const http = createServer();
    const relayOptions = { transports: ["websocket" as const], perMessageDeflate: false, maxHttpBufferSize: 1 << 20, serveClient: false };
    const engine = layer === "sio-eiows" ? { wsEngine: (await import(process.env.EIOWS_PATH!)).Server } : {};
    const io = new Server(http, layer === "sio" ? { serveClient: false } : { ...relayOptions, ...engine });
    io.on("connection", (socket) => socket.on("ping", (ack: () => void) => ack()));
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    port = (http.address() as { port: number }).port;
  }
  const usage = (): Usage => {
    gc();
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  };
  const v8 = await import("node:v8");
  process.on("message", (msg) => {
    if (msg !== "usage") return;
    const reading = usage();
    // SOCKET_MEMORY_SNAPSHOTS=DIR: a heap snapshot after each reading, for heapDominators.ts
    if (process.env.SOCKET_MEMORY_SNAPSHOTS) v8.writeHeapSnapshot(`${process.env.SOCKET_MEMORY_SNAPSHOTS}/${layer}-${Date.now()}.heapsnapshot`);
    process.send!(reading);
  });
  process.send!({ port });
} else {
  const here = fileURLToPath(import.meta.url);
  const rows: string[] = [];
  for (const layer of wanted) {
    if (layer === "sio-eiows" && !process.env.EIOWS_PATH) {
      rows.push(`| ${layer} | not run: EIOWS_PATH unset | | | |`);
      continue;
    }
    const child = fork(here, [], { execArgv: ["--import", "tsx", "--expose-gc"], env: { ...process.env, SOCKET_MEMORY_LAYER: layer }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const next = <T>() => new Promise<T>((resolve) => child.once("message", (m) => resolve(m as T)));
    const { port } = await next<{ port: number }>();
    await new Promise((r) => setTimeout(r, 1000));
    child.send("usage");
    const before = await next<Usage>();
    const closers: (() => void)[] = [];
    for (let i = 0; i < N; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, N - i) }, () => {
          if (layer === "net") {
            return new Promise<void>((resolve, reject) => {
              const s = createConnection({ port, host: "127.0.0.1" }, () => resolve());
              s.once("error", reject);
              closers.push(() => s.destroy());
            });
          }
          if (layer === "ws") {
            return new Promise<void>((resolve, reject) => {
              const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
              ws.once("open", () => resolve());
              ws.once("error", reject);
              closers.push(() => ws.terminate());
            });
          }
          if (layer === "eio") {
            return new Promise<void>((resolve, reject) => {
              const s = new EngineSocket(`ws://127.0.0.1:${port}`, { transports: ["websocket"] });
              s.once("open", () => resolve());
              s.once("error", reject);
              closers.push(() => s.close());
            });
          }
          return new Promise<void>((resolve, reject) => {
            const s: Socket = ioClient(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false, forceNew: true });
            s.once("connect", () => s.emit("ping", () => resolve()));
            s.once("connect_error", reject);
            closers.push(() => s.disconnect());
          });
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 3000));
    child.send("usage");
    const after = await next<Usage>();
    const per = (k: keyof Usage) => ((after[k] - before[k]) / N / 1024).toFixed(1);
    rows.push(`| ${layer} | ${per("rss")} KB | ${per("heapUsed")} KB | ${per("external")} KB | ${per("arrayBuffers")} KB |`);
    process.stderr.write(`socketMemory: ${rows[rows.length - 1]}\n`);
    for (const close of closers) close();
    child.kill();
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stdout.write(`${N} idle sockets per layer; server growth per socket after two forced collections\n\n| layer | RSS | V8 heap used | external | array buffers |\n|---|---|---|---|---|\n${rows.join("\n")}\n`);
  process.exit(0);
}
