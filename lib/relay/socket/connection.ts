// One socket.io connection: the devices it logged in as (one per account) with their delivery cursors,
// its flood buckets, and the dispatcher that guards every event (rate, known name, size, login,
// schema) before a handler sees it. Limits that must hold across connections go through ctx.limiter.
import type { Address } from "../../brands";
import {
  type Ack,
  type ClientEvent,
  EVENTS,
  MAX_DELIVERIES_IN_FLIGHT,
  MAX_DELIVERY_BYTES_IN_FLIGHT,
  MAX_ENVELOPES_PER_DELIVERY,
  MAX_FRAME_BYTES,
  MAX_QUEUED_OUTPUT_BYTES,
  PRE_LOGIN_EVENTS,
  ProtocolError,
  type RateClass,
  type RelayError,
  type RelayLimitName,
  SCHEMAS,
  toB64,
} from "../../protocol";
import type { Envelope } from "../../protocol/schemas";
import { describeError } from "../log";
import { TokenBucket } from "../rateLimit";
import type { PendingEnvelope } from "../storage/types";
import { dropConnection, type EngineConnection } from "./parser";
import type { Handlers, RelayContext, RelaySocket } from "./types";

const RATE_CLASS: Partial<Record<ClientEvent, RateClass>> = {
  [EVENTS.register]: "auth",
  [EVENTS.challenge]: "auth",
  [EVENTS.login]: "auth",
  [EVENTS.provisionListen]: "auth",
  [EVENTS.provisionSend]: "auth",
  [EVENTS.lookup]: "directory",
  [EVENTS.bundles]: "directory",
};

// Orders logins within the process (a clock's milliseconds tie).
let loginCounter = 0;

/**
 * The bytes of bodies a new connection may have unacked before its first ack (see Delivery): enough
 * for a receiver to decrypt one batch while the relay commits the ack of the one before (several
 * hundred first messages of ~1.7 KB), a quarter of the full window for one that never reads.
 */
export const INITIAL_WINDOW_BYTES = 1024 * 1024;

export function envelopeKey(to: string, id: string): string {
  return `${to}\n${id}`;
}

export function toWireEnvelope(env: PendingEnvelope): Envelope {
  return { id: env.id, from: env.from, fromDevice: env.fromDevice, to: env.to, toDevice: env.toDevice, body: toB64(env.body), ts: env.ts };
}

function isClientEvent(name: string): name is ClientEvent {
  return Object.prototype.hasOwnProperty.call(SCHEMAS, name);
}

/** Deepest nesting a payload may have; the protocol's own deepest is 4 (`keys:upload` prekeys). */
export const MAX_PAYLOAD_DEPTH = 8;

/**
 * The size of a payload's JSON form, measured by walking it (no copy is made), stopping as soon as it
 * passes `limit` or nests deeper than MAX_PAYLOAD_DEPTH. Payloads are already-parsed JSON: the
 * parser refuses binary, so only strings, numbers, booleans, null, arrays and objects occur.
 */
export function measurePayload(payload: unknown, limit: number): { bytes: number } | "too_large" | "too_deep" {
  let bytes = 0;
  const stack: { value: unknown; depth: number }[] = [{ value: payload, depth: 0 }];
  while (stack.length) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof value === "string") bytes += Buffer.byteLength(value, "utf8") + 2;
    else if (typeof value === "number") bytes += String(value).length;
    else if (typeof value === "boolean" || value === null || value === undefined) bytes += 5;
    else if (typeof value === "object") {
      if (depth >= MAX_PAYLOAD_DEPTH) return "too_deep";
      if (Array.isArray(value)) {
        bytes += 2 + value.length;
        if (bytes > limit) return "too_large";
        for (const item of value) stack.push({ value: item, depth: depth + 1 });
      } else {
        bytes += 2;
        for (const key of Object.keys(value)) {
          bytes += Buffer.byteLength(key, "utf8") + 4;
          stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1 });
        }
      }
    } else return "too_deep"; // functions and the like cannot come from JSON: refuse as malformed
    if (bytes > limit) return "too_large";
  }
  return { bytes };
}

export interface PendingChallenge {
  deviceId: string;
  nonce: Uint8Array;
  expiresAt: number;
}

/**
 * Bytes waiting in the socket's send path: engine.io's write buffer (packets the transport could not
 * take yet) plus what the websocket holds for the network. Internal fields, read defensively: a
 * transport without them counts as empty.
 */
export function queuedOutputBytes(socket: RelaySocket): number {
  const engine = socket.conn as unknown as { writeBuffer?: { data?: unknown }[]; transport?: { socket?: { bufferedAmount?: unknown } } };
  let bytes = 0;
  for (const packet of engine.writeBuffer ?? []) if (typeof packet.data === "string") bytes += packet.data.length;
  const buffered = engine.transport?.socket?.bufferedAmount;
  return bytes + (typeof buffered === "number" ? buffered : 0);
}

/** An acked envelope: without `fromDevice` (older clients), every sender's envelope of that id. */
export interface AckedRef {
  key: string;
  fromDevice?: string;
}

/**
 * One logged-in device's delivery on this connection: everything up to `cursor` was pushed, `inflight`
 * holds what was pushed and not acked: envelopeKey → sending device → body bytes (two senders may
 * choose the same id, and each envelope is its own).
 */
class Delivery {
  cursor = 0;
  /**
   * The window's bytes grow as the device acks, as TCP's slow start does: a new connection may have
   * INITIAL_WINDOW_BYTES of bodies unacked, doubled by each ack up to the full window. A reader that
   * never acks (a connection opened only to make the relay hold mail in memory) pins no more than that.
   */
  windowBytes = INITIAL_WINDOW_BYTES;
  /** Made on the first push and dropped when all is acked: an idle device holds no map. */
  private inflight: Map<string, Map<string, number>> | null = null;
  inflightCount = 0;
  inflightBytes = 0;
  pumping = false;
  again = false;

  constructor(readonly deviceId: string) {}

  add(env: PendingEnvelope): void {
    const key = envelopeKey(env.to, env.id);
    const inflight = (this.inflight ??= new Map());
    let senders = inflight.get(key);
    if (!senders) inflight.set(key, (senders = new Map()));
    if (!senders.has(env.fromDevice)) {
      senders.set(env.fromDevice, env.body.length);
      this.inflightCount++;
      this.inflightBytes += env.body.length;
    }
    if (env.seq > this.cursor) this.cursor = env.seq;
  }

  /** An ack arrived: the device reads, so the window may grow. */
  grow(): void {
    this.windowBytes = Math.min(MAX_DELIVERY_BYTES_IN_FLIGHT, this.windowBytes * 2);
  }

  forget(ref: AckedRef): void {
    const senders = this.inflight?.get(ref.key);
    if (!senders) return;
    for (const [fromDevice, bytes] of senders) {
      if (ref.fromDevice !== undefined && ref.fromDevice !== fromDevice) continue;
      senders.delete(fromDevice);
      this.inflightCount--;
      this.inflightBytes -= bytes;
    }
    if (senders.size === 0) this.inflight?.delete(ref.key);
    if (this.inflightCount === 0) this.inflight = null;
  }

  /** How many more envelopes, and how many more body bytes, may be pushed now. */
  room(): { envelopes: number; bytes: number } {
    return {
      envelopes: MAX_ENVELOPES_PER_DELIVERY * MAX_DELIVERIES_IN_FLIGHT - this.inflightCount,
      bytes: this.windowBytes - this.inflightBytes,
    };
  }
}

/** What the relay keeps in socket.io's `socket.data`. */
interface SocketData {
  clientKey?: string;
  connection?: Connection;
}

function onAnyEvent(this: RelaySocket, event: string, ...args: unknown[]): void {
  (this.data as SocketData).connection?.receive(event, args);
}

function onSocketDisconnect(this: RelaySocket, reason: string): void {
  (this.data as SocketData).connection?.onDisconnect(reason);
}

export class Connection {
  /** socket.io's id for the socket: random, and the id of its slot in the per-address connection cap. */
  readonly id: string;
  // Held by every idle socket, so kept small: arrays (a connection serves a device or two, and a
  // device a few accounts) instead of maps, and no bucket before its first use. The arrays are copied
  // to their exact length after a login: one grown by a push keeps room for 16 more (~130 B each).
  /** The devices this connection logged in as (one per account), with their deliveries. */
  private devices: Delivery[] = [];
  /** Every account of those devices and its device: address, deviceId, address, deviceId, … */
  private accounts: string[] = [];
  challenge: PendingChallenge | null = null;
  private readonly eventBucket: TokenBucket;
  private readonly classBuckets: Partial<Record<RateClass, TokenBucket>> = {};
  private closed = false;
  private waitingForDrain = false;
  /** When this connection last logged in, in login order: the per-device cap keeps the latest logins. */
  loginOrder = 0;

  constructor(
    readonly socket: RelaySocket,
    readonly ctx: RelayContext,
    private readonly handlers: Handlers,
    private readonly track: <T>(work: Promise<T>) => Promise<T>,
    /** The client's address as the limits key it (an IPv4 address, an IPv6 /64 or "unknown"). */
    readonly clientKey: string,
  ) {
    this.id = socket.id;
    this.eventBucket = new TokenBucket(ctx.rateLimits.events, ctx.now);
    // One pair of listeners shared by every socket (socket.io calls them with the socket as `this`),
    // not two closures per socket.
    (socket.data as SocketData).connection = this;
    socket.onAny(onAnyEvent);
    socket.on("disconnect", onSocketDisconnect);
  }

  /** Runs an event through the guards and its handler (called for every event of the socket). */
  receive(event: string, args: unknown[]): void {
    void this.track(this.dispatch(event, args));
  }

  get loggedIn(): boolean {
    return this.devices.length > 0;
  }

  get deviceIds(): string[] {
    return this.devices.map((d) => d.deviceId);
  }

  hasDevice(deviceId: string): boolean {
    return this.delivery(deviceId) !== undefined;
  }

  private delivery(deviceId: string): Delivery | undefined {
    for (const d of this.devices) if (d.deviceId === deviceId) return d;
    return undefined;
  }

  /** The device that holds `address` on this connection, if this connection is logged in as it. */
  deviceOf(address: string): string | undefined {
    for (let i = 0; i < this.accounts.length; i += 2) if (this.accounts[i] === address) return this.accounts[i + 1];
    return undefined;
  }

  /** Called once a login succeeded: this connection now also serves `deviceId` and its accounts. */
  loginAs(deviceId: string, accounts: Address[]): void {
    this.loginOrder = ++loginCounter;
    if (!this.hasDevice(deviceId)) {
      this.devices.push(new Delivery(deviceId));
      this.ctx.hub.add(deviceId, this);
    }
    for (const a of accounts) {
      let i = 0;
      while (i < this.accounts.length && this.accounts[i] !== a) i += 2;
      this.accounts[i] = a;
      this.accounts[i + 1] = deviceId;
    }
    this.devices = this.devices.slice();
    this.accounts = this.accounts.slice();
  }

  /** Drops acked envelopes from a device's in-flight window. */
  forget(deviceId: string, refs: AckedRef[]): void {
    const delivery = this.delivery(deviceId);
    if (!delivery) return;
    for (const ref of refs) delivery.forget(ref);
    if (refs.length > 0) delivery.grow();
    this.pump(deviceId);
  }

  /** Marks envelopes returned by `mailbox:fetch` as handed out, so pushes continue after them. */
  handedOut(deviceId: string, envelopes: PendingEnvelope[]): void {
    const delivery = this.delivery(deviceId);
    if (!delivery) return;
    for (const env of envelopes) delivery.add(env);
  }

  /**
   * Closes the connection now, without waiting for its send buffer to drain: what was pushed and not
   * acked stays in the database, and the memory it holds here is freed at once (a polite close would
   * wait for a reader that may never read).
   */
  drop(): void {
    this.closed = true;
    this.socket.disconnect(true);
    dropConnection(this.socket.conn as unknown as EngineConnection);
  }

  /** True while the socket's send buffer is over its bound: push nothing more until it drains. */
  backedUp(): boolean {
    const queued = queuedOutputBytes(this.socket);
    if (queued > 2 * MAX_QUEUED_OUTPUT_BYTES) {
      // Far past the bound (answers to a flood of fetches, say): close it; the device catches up from
      // the database when it reconnects, and its memory here is freed now.
      this.ctx.metrics.refused("slow_reader");
      this.drop();
      return true;
    }
    if (queued <= MAX_QUEUED_OUTPUT_BYTES) return false;
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      this.socket.conn.once("drain", () => {
        this.waitingForDrain = false;
        this.pump();
      });
    }
    return true;
  }

  /**
   * Pushes pending envelopes of `deviceId` (or of every device of this connection) in storage order, in
   * pages of at most MAX_ENVELOPES_PER_DELIVERY, while fewer than MAX_DELIVERIES_IN_FLIGHT pages and
   * MAX_DELIVERY_BYTES_IN_FLIGHT body bytes are unacked and the socket's buffer is under its bound: so
   * the client's work and the ack's commit overlap, and a reader that stops holds a bounded amount.
   * Re-entrant calls while a pump runs fold into one more pass: nothing is pushed twice here.
   */
  pump(deviceId?: string): void {
    if (this.closed) return;
    const targets = deviceId === undefined ? [...this.devices] : [this.delivery(deviceId)];
    for (const delivery of targets) {
      if (!delivery) continue;
      if (delivery.pumping) {
        delivery.again = true;
        continue;
      }
      delivery.pumping = true;
      void this.track(this.pumpLoop(delivery)).finally(() => {
        delivery.pumping = false;
      });
    }
  }

  private async pumpLoop(delivery: Delivery): Promise<void> {
    try {
      for (;;) {
        delivery.again = false;
        const room = delivery.room();
        if (room.envelopes <= 0 || room.bytes <= 0 || this.closed || this.backedUp()) return;
        const batch = await this.ctx.store.pendingEnvelopes(delivery.deviceId, delivery.cursor, Math.min(room.envelopes, MAX_ENVELOPES_PER_DELIVERY), room.bytes);
        if (batch.length === 0) {
          if (delivery.again) continue;
          return;
        }
        if (this.closed || this.delivery(delivery.deviceId) !== delivery) return;
        for (const env of batch) delivery.add(env);
        this.socket.emit(EVENTS.deliver, { envelopes: batch.map(toWireEnvelope) });
        this.ctx.metrics.envelopesAt("pushed", batch.length);
        this.ctx.log.debug("deliver", { conn: this.id, count: batch.length });
      }
    } catch (err) {
      this.ctx.log.error("deliver failed", { conn: this.id, err: describeError(err) });
    }
  }

  onDisconnect(reason: string): void {
    this.closed = true;
    for (const { deviceId } of this.devices) this.ctx.hub.remove(deviceId, this);
    this.ctx.onClosed(this);
    this.ctx.log.debug("disconnect", { conn: this.id, reason });
  }

  private bucket(rateClass: RateClass): TokenBucket {
    return (this.classBuckets[rateClass] ??= new TokenBucket(this.ctx.rateLimits[rateClass], this.ctx.now));
  }

  /** Takes from a cross-connection limit; throws `rate_limited` (or `code`) with the wait when refused. */
  async limit(name: RelayLimitName, key: string, cost = 1, code: "rate_limited" | "quota_exceeded" = "rate_limited"): Promise<void> {
    const rule = this.ctx.limits[name];
    // more than the whole allowance at once can never pass: refuse it as over the limit, for a day
    if (cost > rule.burst) throw new ProtocolError(code, `over the limit at once (${name})`, { retryAfterMs: 24 * 60 * 60 * 1000 });
    const decision = await this.ctx.limiter.take(rule, key, cost);
    if (!decision.ok) throw new ProtocolError(code, code === "quota_exceeded" ? "daily share of this mailbox used" : `limit reached (${name})`, { retryAfterMs: decision.retryAfterMs });
  }

  /** Like `limit`, but answers whether the request is within it instead of throwing. */
  async within(name: RelayLimitName, key: string, cost = 1): Promise<boolean> {
    const rule = this.ctx.limits[name];
    return (await this.ctx.limiter.take(rule, key, Math.min(cost, rule.burst))).ok;
  }

  private async dispatch(event: string, rawArgs: unknown[]): Promise<void> {
    const args = [...rawArgs];
    const last = args[args.length - 1];
    const callback = typeof last === "function" ? (args.pop() as (res: unknown) => void) : null;
    const reply = (res: Ack<object>) => {
      if (!callback) return;
      try {
        callback(res);
      } catch (err) {
        this.ctx.log.warn("ack failed", { conn: this.id, event, err: describeError(err) });
      }
    };
    const fail = (error: RelayError) => {
      // Refusals are what hostile traffic produces: a flood must not become a flood of log lines, so
      // they show at debug level only (the periodic stats line counts them by code).
      this.ctx.metrics.refused(error.code);
      this.ctx.metrics.event(name, "refused");
      this.ctx.log.debug("refused", { conn: this.id, event: isClientEvent(event) ? event : "unknown", code: error.code });
      reply({ ok: false, error });
    };

    const name = isClientEvent(event) ? event : "unknown";
    if (this.ctx.closing()) return fail({ code: "unavailable", message: "relay shutting down" });
    if (!this.eventBucket.take()) return fail({ code: "rate_limited", message: "too many events" });
    if (!isClientEvent(event)) return fail({ code: "bad_request", message: "unknown event" });
    const size = measurePayload(args[0], MAX_FRAME_BYTES);
    if (size === "too_large") return fail({ code: "too_large", message: `payload over ${MAX_FRAME_BYTES} bytes` });
    if (size === "too_deep") return fail({ code: "bad_request", message: `payload nested deeper than ${MAX_PAYLOAD_DEPTH}` });
    if (!this.loggedIn && !PRE_LOGIN_EVENTS.includes(event)) return fail({ code: "unauthorized", message: "log in first" });
    const rateClass = RATE_CLASS[event];
    if (rateClass && !this.bucket(rateClass).take()) return fail({ code: "rate_limited", message: `too many ${rateClass} requests` });
    if (args.length !== 1) return fail({ code: "bad_request", message: "expected one payload and an ack" });
    const parsed = SCHEMAS[event].request.safeParse(args[0]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
      // never the client's own input back (zod names unrecognized keys in its message)
      const what = issue?.code === "unrecognized_keys" ? "unrecognized key" : (issue?.message ?? "invalid payload");
      return fail({ code: "bad_request", message: `${where}${what}`.slice(0, 300) });
    }
    try {
      const handler = this.handlers[event] as (conn: Connection, req: unknown) => Promise<object>;
      const result = await handler(this, parsed.data);
      this.ctx.metrics.event(name, "ok");
      reply({ ok: true, ...result });
    } catch (err) {
      if (err instanceof ProtocolError) {
        return fail({
          code: err.code,
          message: err.message,
          ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
          ...(err.devices === undefined ? {} : { devices: err.devices }),
        });
      }
      this.ctx.log.error("handler failed", { conn: this.id, event, err: describeError(err) });
      this.ctx.metrics.event(name, "error");
      reply({ ok: false, error: { code: "internal", message: "internal error" } });
    }
  }
}
