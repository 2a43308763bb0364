// What an idle socket holds: not its upgrade request (nor the handshake built from it), and no
// per-message deflate context, whatever the client offers.
import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { rmSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Server } from "socket.io";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningServer, startServer } from "../server";
import { tempDataDir } from "../test/relayProcess";
import { RELEASED_HANDSHAKE, releaseHandshake, releaseUpgradeRequests } from "./lean";
import type { RelayServer } from "./types";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A socket.io server set up as the relay's is (websocket upgrades, the release hooks). */
async function bareServer(): Promise<{ io: RelayServer; http: HttpServer; url: string; requests: WeakRef<IncomingMessage>[] }> {
  const http = createServer();
  const requests: WeakRef<IncomingMessage>[] = [];
  http.prependListener("upgrade", (req: IncomingMessage) => requests.push(new WeakRef(req)));
  const io: RelayServer = new Server(http, { serveClient: false, perMessageDeflate: false });
  releaseUpgradeRequests(io);
  io.use((socket, next) => {
    releaseHandshake(socket);
    next();
  });
  await new Promise<void>((done) => http.listen(0, "127.0.0.1", done));
  cleanups.push(() => new Promise<void>((done) => io.close(() => done())));
  return { io, http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, requests };
}

function open(url: string): Promise<ClientSocket> {
  const socket = connectClient(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  cleanups.push(() => void socket.disconnect());
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 10; i++) {
    gc();
    if (ref.deref() === undefined) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe("an idle socket's memory", () => {
  it("lets go of the upgrade request once the socket is admitted, and keeps the shared empty handshake", async () => {
    const server = await bareServer();
    await open(server.url);
    await open(server.url);
    expect(server.requests).toHaveLength(2);
    const [first] = server.io.of("/").sockets.values();
    expect(first?.handshake).toBe(RELEASED_HANDSHAKE);
    expect(first?.conn.request).toBeNull();
    // still connected, and the requests are gone from the heap
    expect(server.io.of("/").sockets.size).toBe(2);
    for (const ref of server.requests) expect(await collected(ref)).toBe(true);
  });

  it("leaves long-polling's real responses alone: a polling client connects and upgrades", async () => {
    const server = await bareServer();
    const socket = connectClient(server.url, { transports: ["polling", "websocket"], reconnection: false, forceNew: true });
    cleanups.push(() => void socket.disconnect());
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    await new Promise<void>((resolve) => {
      if (socket.io.engine.transport.name === "websocket") resolve();
      else socket.io.engine.once("upgrade", () => resolve());
    });
    expect(socket.io.engine.transport.name).toBe("websocket");
    const echoed = await new Promise<string>((resolve) => {
      server.io.once("connection", () => {});
      const [s] = server.io.of("/").sockets.values();
      s?.once("ping-me" as never, ((v: string, ack: (r: string) => void) => ack(v)) as never);
      socket.emit("ping-me", "hello", (r: string) => resolve(r));
    });
    expect(echoed).toBe("hello");
  });

  it("refuses per-message deflate on the relay even when the client offers it", async () => {
    const dataDir = tempDataDir();
    const server: RunningServer = await startServer({ port: 0, relayOnly: true, logToStdout: false, dataDir });
    cleanups.push(async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: true });
    cleanups.push(() => ws.terminate());
    let offered: string | undefined = "not seen";
    ws.once("upgrade", (res) => (offered = res.headers["sec-websocket-extensions"]));
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    expect(offered).toBeUndefined();
    expect(ws.extensions).toBe("");
  });
});
