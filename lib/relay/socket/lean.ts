// What an idle socket keeps of its upgrade request: nothing, once it is admitted. engine.io keeps the
// request as `conn.request`, socket.io a handshake object built from it (its headers, query and
// auth), and engine.io's stand-in response for upgrades (the one its middlewares get) stays on the TCP
// socket's "close" listeners with the request in it, for the socket's life: ~1.5 KB of each idle
// socket's ~13 KB. The relay reads the client's address from the request once, in its admission
// check (server.ts), and nothing afterwards. Once a socket is connected, `compactSocket` trims what
// socket.io, engine.io and ws keep of its setup (docs/BENCHMARKS.md, "Memory per idle socket").
import { ServerResponse } from "node:http";
import type { RelayServer, RelaySocket } from "./types";

type Handshake = RelaySocket["handshake"];

/** What every admitted socket has as its handshake: one shared, frozen, empty object. */
export const RELEASED_HANDSHAKE: Handshake = Object.freeze({
  headers: Object.freeze({}),
  time: "",
  address: "",
  xdomain: false,
  secure: false,
  issued: 0,
  url: "",
  query: Object.freeze({}),
  auth: Object.freeze({}),
}) as Handshake;

interface EngineWithMiddlewares {
  _applyMiddlewares?: (req: unknown, res: unknown, callback: (err?: unknown) => void) => void;
}

/**
 * Makes engine.io's upgrade stand-in response forget its request once engine.io's middlewares ran
 * (the relay has none; they are the only reader of it), and takes the stand-in off the TCP socket: it
 * listens for the socket's "close" to tell middlewares the response is done, and with its once-wrapper
 * and listener lists that is ~0.5 KB per idle socket. A real http response (long-polling) is left as
 * it is. Without the internal hook (another engine.io version), nothing changes.
 */
export function releaseUpgradeRequests(io: RelayServer): void {
  const engine = io.engine as unknown as EngineWithMiddlewares;
  const apply = engine._applyMiddlewares;
  if (typeof apply !== "function") return;
  engine._applyMiddlewares = function (req, res, callback) {
    apply.call(this, req, res, (err) => {
      if (res && !(res instanceof ServerResponse) && typeof res === "object" && "req" in res) {
        (res as { req: unknown }).req = null;
        forgetStandIn(res as StandIn);
      }
      callback(err);
    });
  };
}

interface StandIn {
  socket?: { rawListeners?(event: string): unknown[]; removeListener(event: string, fn: unknown): void };
  emit?(event: string): boolean;
}

/** Removes the stand-in's `socket.once("close", () => this.emit("close"))`, the last "close" listener it added. */
function forgetStandIn(res: StandIn): void {
  const listeners = res.socket?.rawListeners?.("close");
  const last = listeners?.[listeners.length - 1] as { listener?: unknown } | undefined;
  if (typeof last?.listener === "function" && /\.emit\(["']close["']\)/.test(String(last.listener))) res.socket!.removeListener("close", last);
}

/** Lets go of a socket's request and handshake: call once the admission check has read them. */
export function releaseHandshake(socket: RelaySocket): void {
  (socket.conn as unknown as { request: unknown }).request = null;
  (socket as unknown as { handshake: Handshake }).handshake = RELEASED_HANDSHAKE;
}

type Listeners = Record<string | symbol, unknown>;
interface Emitter {
  _events?: Listeners;
}

// The prototype of compacted listener lists: empty and without a prototype of its own, so a list
// inherits nothing (as `{ __proto__: null }` does), but is a fast-mode object with a hidden class
// shared by every socket, not a dictionary.
const NO_LISTENERS: object = Object.freeze(Object.create(null));

/**
 * Fresh listener lists for an event emitter. Node makes them `{ __proto__: null }`, a dictionary
 * (V8's slow mode) of ~300 B however few events it holds, and a listener array grown by pushes keeps
 * room for 16 more. Same listeners, same order; only their storage shrinks (~0.2 KB per emitter).
 */
function compacted(events: Listeners): Listeners {
  const fresh = Object.create(NO_LISTENERS) as Listeners;
  for (const key of Reflect.ownKeys(events)) {
    const v = events[key];
    if (v === undefined) continue;
    fresh[key] = Array.isArray(v) ? v.map((fn) => unwrapOnce(key, fn)) : unwrapOnce(key, v);
  }
  return fresh;
}

/**
 * A `once` listener of "close" or "error" as the plain listener it wraps: Node's once-wrapper (a bound
 * function and its state object) is ~0.15 KB, and these emitters (ws's WebSocket, engine.io's
 * transport and socket) emit "close" once in their life and, on "error", close (and engine.io then
 * removes its listeners from the transport). `removeListener(event, listener)` finds either form.
 */
function unwrapOnce(event: string | symbol, fn: unknown): unknown {
  if (event !== "close" && event !== "error") return fn;
  const inner = (fn as { listener?: unknown }).listener;
  return typeof fn === "function" && fn.name === "bound onceWrapper" && typeof inner === "function" ? inner : fn;
}

// ws's frame reader keeps, between messages, the last frame's mask (4 bytes, but a view of the whole
// chunk it came in: up to 64 KB of the socket's last read) and an emptied array of the chunks it read.
interface ReceiverState {
  _state?: number;
  _mask?: unknown;
  _buffers?: unknown[];
  _bufferedBytes?: number;
}
type StartLoop = (this: ReceiverState, cb: unknown) => void;
const LEAN = Symbol("junction.lean");
/** ws's state "reading the next frame's header": nothing of the last frame is read again. */
const GET_INFO = 0;

/**
 * Makes ws's `Receiver` let go of the last frame's mask and its chunk array once it waits for a new
 * frame with nothing buffered. Its read loop (`startLoop`) is the one place frames are parsed; the
 * mask is read again from every masked frame's header before its data, and the array is only pushed
 * to and shifted. Without that method (another ws version), nothing changes.
 */
function releaseFrames(receiverClass: { prototype: { startLoop?: StartLoop; [LEAN]?: true } }): void {
  const proto = receiverClass.prototype;
  const startLoop = proto.startLoop;
  if (proto[LEAN] || typeof startLoop !== "function") return;
  // a new reader waits for a frame's header: the state number this relies on
  if (new (receiverClass as unknown as new () => ReceiverState)()._state !== GET_INFO) return;
  proto[LEAN] = true;
  proto.startLoop = function (cb) {
    startLoop.call(this, cb);
    if (this._state !== GET_INFO || this._bufferedBytes !== 0) return;
    this._mask = undefined;
    if (this._buffers?.length === 0) this._buffers = [];
  };
}

/**
 * socket.io's table of the acks the server waits for (an empty Map per socket, ~0.2 KB). The relay
 * never emits with an ack (clients ack; the server answers theirs), so every socket shares this one,
 * which stays empty: an emit with an ack callback throws instead of waiting in it.
 */
class NoServerAcks extends Map<number, unknown> {
  override set(): this {
    throw new Error("the relay does not wait for acks from clients (see compactSocket)");
  }
}
export const NO_SERVER_ACKS: ReadonlyMap<number, unknown> = new NoServerAcks();

/** ws's extensions of a socket without any (per-message deflate is off): one shared, frozen, empty object. */
const NO_EXTENSIONS: object = Object.freeze({});

interface WsLike extends Emitter {
  _extensions?: object;
  _sender?: { _extensions?: object };
  _socket?: Emitter & { _peername?: unknown };
  _receiver?: Emitter & { _extensions?: object; constructor: Parameters<typeof releaseFrames>[0] };
  listeners?(event: string): { name?: string }[];
  removeListener?(event: string, fn: unknown): void;
}
interface EngineLike extends Emitter {
  cleanupFn?: unknown[];
  transport?: Emitter & { socket?: WsLike };
}

/**
 * What is left of a socket's setup, dropped once it is connected (call after the relay set up its
 * listeners): engine.io's "websocket error before upgrade" listener, which it removes only when
 * upgrading from long-polling; the slack of every listener list and array that setup grew, from the
 * TCP socket up to socket.io's, and the once-wrappers of "close" and "error" listeners; ws's empty
 * extensions and Node's cached peer address. The socket shares one empty table of server acks, and
 * the first call makes ws's frame reader release its last frame between messages (`releaseFrames`).
 * Each list keeps its listeners, in order. Properties an engine.io, ws or socket.io version does not
 * have are skipped.
 */
export function compactSocket(socket: RelaySocket): void {
  const sio = socket as unknown as Emitter & { _anyListeners?: unknown[]; acks?: unknown; client?: { decoder?: { _callbacks?: Listeners } } };
  const engine = socket.conn as unknown as EngineLike;
  const ws = engine.transport?.socket;
  if (ws && typeof ws.listeners === "function" && typeof ws.removeListener === "function") {
    for (const fn of ws.listeners("error")) if (fn.name === "onUpgradeError" && ws.listeners("error").length > 1) ws.removeListener("error", fn);
  }
  if (ws?._receiver) releaseFrames(ws._receiver.constructor);
  if (ws?._extensions && Reflect.ownKeys(ws._extensions).length === 0) {
    ws._extensions = NO_EXTENSIONS;
    if (ws._sender) ws._sender._extensions = NO_EXTENSIONS;
    if (ws._receiver) ws._receiver._extensions = NO_EXTENSIONS;
  }
  // Node's cache of the peer's address (an object); read again from the handle if ever asked for
  if (ws?._socket && "_peername" in ws._socket) ws._socket._peername = undefined;
  for (const emitter of [ws?._socket, ws, ws?._receiver, engine.transport, engine, sio]) {
    if (emitter?._events && typeof emitter._events === "object") emitter._events = compacted(emitter._events);
  }
  if (Array.isArray(engine.cleanupFn)) engine.cleanupFn = engine.cleanupFn.slice();
  if (Array.isArray(sio._anyListeners)) sio._anyListeners = sio._anyListeners.slice();
  if (sio.acks instanceof Map && sio.acks.size === 0) sio.acks = NO_SERVER_ACKS;
  // socket.io's packet decoder is a component-emitter: its lists are `_callbacks`, not `_events`
  const decoder = sio.client?.decoder;
  if (decoder?._callbacks && typeof decoder._callbacks === "object") decoder._callbacks = compacted(decoder._callbacks);
}
