// What an idle socket holds: not its upgrade request (nor the handshake built from it), and no
// per-message deflate context, whatever the client offers.
import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { connect as connectTcp, type AddressInfo } from "node:net";
import { rmSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Server } from "socket.io";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningServer, startServer } from "../server";
import { tempDataDir } from "../test/relayProcess";
import { NO_SERVER_ACKS, RELEASED_HANDSHAKE, compactSocket, releaseHandshake, releaseUpgradeRequests } from "./lean";
import type { RelayServer } from "./types";

setFlagsFromString("--expose-gc");
setFlagsFromString("--allow-natives-syntax");
const gc = runInNewContext("gc") as () => void;
/** Whether V8 keeps `o` as a fast-mode object (a shared hidden class), not as a dictionary. */
const hasFastProperties = runInNewContext("(o) => %HasFastProperties(o)") as (o: object) => boolean;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A socket.io server set up as the relay's is (websocket upgrades, the release hooks). */
async function bareServer(): Promise<{ io: RelayServer; http: HttpServer; url: string; requests: WeakRef<IncomingMessage>[]; standIns: WeakRef<object>[] }> {
  const http = createServer();
  const requests: WeakRef<IncomingMessage>[] = [];
  const standIns: WeakRef<object>[] = [];
  http.prependListener("upgrade", (req: IncomingMessage) => requests.push(new WeakRef(req)));
  const io: RelayServer = new Server(http, { serveClient: false, perMessageDeflate: false });
  // an engine.io middleware sees the upgrade's stand-in response (and is what it is made for)
  io.engine.use((_req: unknown, res: object, next: () => void) => {
    standIns.push(new WeakRef(res));
    next();
  });
  releaseUpgradeRequests(io);
  io.use((socket, next) => {
    releaseHandshake(socket);
    next();
  });
  io.on("connection", (socket) => {
    socket.onAny(() => undefined);
    compactSocket(socket);
  });
  await new Promise<void>((done) => http.listen(0, "127.0.0.1", done));
  cleanups.push(() => new Promise<void>((done) => io.close(() => done())));
  return { io, http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, requests, standIns };
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

  it("lets go of engine.io's upgrade stand-in response and its setup-time error listener", async () => {
    const server = await bareServer();
    await open(server.url);
    expect(server.standIns).toHaveLength(1);
    expect(await collected(server.standIns[0]!)).toBe(true);
    const [socket] = server.io.of("/").sockets.values();
    const ws = (socket!.conn.transport as unknown as { socket: WebSocket }).socket;
    expect(ws.listeners("error").map((fn) => fn.name)).not.toContain("onUpgradeError");
    expect(ws.listenerCount("error")).toBe(1);
  });

  it("keeps every listener list of a connected socket as a small fast object, listeners and order unchanged", async () => {
    const server = await bareServer();
    const client = await open(server.url);
    const [socket] = server.io.of("/").sockets.values();
    type Lists = { _events: object; rawListeners(e: string): { name: string }[] };
    const engine = socket!.conn as unknown as Lists & { transport: Lists & { socket: Lists & { _socket: Lists; _receiver: Lists } } };
    const ws = engine.transport.socket;
    for (const emitter of [ws._socket, ws, ws._receiver, engine.transport, engine, socket as unknown as Lists]) {
      expect(hasFastProperties(emitter._events)).toBe(true);
      expect(Object.getPrototypeOf(Object.getPrototypeOf(emitter._events))).toBeNull();
      // "close" and "error" listeners are plain functions, not once-wrappers
      for (const event of ["close", "error"]) expect(emitter.rawListeners(event).map((fn) => fn.name)).not.toContain("bound onceWrapper");
    }
    const extensions = (ws as unknown as { _extensions: object })._extensions;
    expect(Object.isFrozen(extensions) && Object.keys(extensions)).toEqual([]);
    expect(server.io.engine.clientsCount).toBe(1);
    // the lists still work: an event, an ack, and a disconnect that the server hears
    const echoed = await new Promise<string>((resolve) => {
      socket!.once("ping-me" as never, ((v: string, ack: (r: string) => void) => ack(v)) as never);
      client.emit("ping-me", "hello", (r: string) => resolve(r));
    });
    expect(echoed).toBe("hello");
    // the server waits for no acks: every socket shares one empty table, and an emit with a callback throws
    expect((socket as unknown as { acks: unknown }).acks).toBe(NO_SERVER_ACKS);
    const emit = (socket as unknown as { emit(event: string, ack: () => void): void }).emit.bind(socket);
    expect(() => emit("hello", () => undefined)).toThrow(/does not wait for acks/);
    expect(NO_SERVER_ACKS.size).toBe(0);
    const gone = new Promise<string>((resolve) => socket!.once("disconnect", resolve));
    client.disconnect();
    expect(await gone).toBe("client namespace disconnect");
    // engine.io's count of clients (its once-"close" listener, now a plain one) goes down once
    for (let i = 0; i < 100 && server.io.engine.clientsCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.io.engine.clientsCount).toBe(0);
  });

  it("reads frames split anywhere (header, mask and data in separate chunks) and keeps no frame between messages", async () => {
    const server = await bareServer();
    const { port } = server.http.address() as AddressInfo;
    const tcp = connectTcp(port, "127.0.0.1");
    cleanups.push(() => void tcp.destroy());
    let received = "";
    tcp.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    await new Promise<void>((resolve) => tcp.once("connect", () => resolve()));
    tcp.write(
      "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    const until = async (text: string) => {
      for (let i = 0; i < 200 && !received.includes(text); i++) await new Promise((r) => setTimeout(r, 10));
      expect(received).toContain(text);
    };
    await until('"sid"');
    /** A masked text frame, written a byte or two at a time. */
    const sendSplit = async (text: string) => {
      const payload = Buffer.from(text);
      const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
      const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4]!)]);
      for (let i = 0; i < frame.length; i += 2) {
        tcp.write(frame.subarray(i, i + 2));
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await sendSplit("40"); // socket.io's connect
    await until("40{");
    const [socket] = server.io.of("/").sockets.values();
    const heard = new Promise<string>((resolve) => socket!.once("ping-me" as never, resolve as never));
    await sendSplit('420["ping-me","split"]');
    expect(await heard).toBe("split");
    const receiver = (socket!.conn.transport as unknown as { socket: { _receiver: { _mask?: unknown; _buffers: unknown[] } } }).socket._receiver;
    expect(receiver._mask).toBeUndefined();
    expect(receiver._buffers).toHaveLength(0);
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
