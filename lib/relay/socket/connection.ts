// One socket.io connection: its login state, rate buckets and delivery cursor, and the dispatcher
// that guards every event (rate, known name, size, login, schema) before a handler sees it.
import { randomUUID } from "node:crypto";
import type { Address } from "../../brands";
import {
  type Ack,
  type ClientEvent,
  EVENTS,
  MAX_DELIVERIES_IN_FLIGHT,
  MAX_ENVELOPES_PER_DELIVERY,
  MAX_FRAME_BYTES,
  PRE_LOGIN_EVENTS,
  ProtocolError,
  type RateClass,
  type RelayError,
  SCHEMAS,
  toB64,
} from "../../protocol";
import type { Envelope } from "../../protocol/schemas";
import { describeError } from "../log";
import { TokenBucket } from "../rateLimit";
import type { PendingEnvelope } from "../storage/types";
import type { Handlers, RelayContext, RelaySocket } from "./types";

const RATE_CLASS: Partial<Record<ClientEvent, RateClass>> = {
  [EVENTS.register]: "auth",
  [EVENTS.challenge]: "auth",
  [EVENTS.login]: "auth",
  [EVENTS.lookup]: "directory",
  [EVENTS.bundles]: "directory",
};

export function envelopeKey(to: string, id: string): string {
  return `${to}\n${id}`;
}

export function toWireEnvelope(env: PendingEnvelope): Envelope {
  return { id: env.id, from: env.from, fromDevice: env.fromDevice, to: env.to, toDevice: env.toDevice, body: toB64(env.body), ts: env.ts };
}

function isClientEvent(name: string): name is ClientEvent {
  return Object.prototype.hasOwnProperty.call(SCHEMAS, name);
}

function payloadBytes(payload: unknown): number {
  try {
    const json = JSON.stringify(payload);
    return json === undefined ? 0 : Buffer.byteLength(json, "utf8");
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export interface PendingChallenge {
  deviceId: string;
  nonce: Uint8Array;
  expiresAt: number;
}

export class Connection {
  readonly id = randomUUID();
  deviceId: string | null = null;
  readonly accounts = new Set<Address>();
  challenge: PendingChallenge | null = null;
  private readonly buckets: Record<RateClass | "events", TokenBucket>;
  // Delivery: everything up to `cursor` was pushed; `inflight` holds pushed envelopes not yet acked.
  private cursor = 0;
  private readonly inflight = new Map<string, number>();
  private pumping = false;
  private again = false;
  private closed = false;

  constructor(
    readonly socket: RelaySocket,
    readonly ctx: RelayContext,
    private readonly handlers: Handlers,
    private readonly track: <T>(work: Promise<T>) => Promise<T>,
  ) {
    const { events, directory, auth } = ctx.rateLimits;
    this.buckets = {
      events: new TokenBucket(events, ctx.now),
      directory: new TokenBucket(directory, ctx.now),
      auth: new TokenBucket(auth, ctx.now),
    };
    socket.onAny((event: string, ...args: unknown[]) => {
      void this.track(this.dispatch(event, args));
    });
    socket.on("disconnect", (reason) => this.onDisconnect(reason));
  }

  get loggedIn(): boolean {
    return this.deviceId !== null;
  }

  /** Called once login succeeded. */
  loginAs(deviceId: string, accounts: Address[]): void {
    if (this.deviceId !== deviceId) {
      if (this.deviceId) this.ctx.hub.remove(this.deviceId, this);
      this.deviceId = deviceId;
      this.cursor = 0;
      this.inflight.clear();
      this.ctx.hub.add(deviceId, this);
    }
    this.accounts.clear();
    for (const a of accounts) this.accounts.add(a);
  }

  /** Drops acked envelopes from the in-flight window. */
  forget(keys: string[]): void {
    for (const key of keys) this.inflight.delete(key);
    this.pump();
  }

  /** Marks envelopes returned by `mailbox:fetch` as handed out, so pushes continue after them. */
  handedOut(envelopes: PendingEnvelope[]): void {
    for (const env of envelopes) {
      this.inflight.set(envelopeKey(env.to, env.id), env.seq);
      if (env.seq > this.cursor) this.cursor = env.seq;
    }
  }

  /**
   * Pushes pending envelopes in storage order, pages of at most MAX_ENVELOPES_PER_DELIVERY and at most
   * MAX_DELIVERIES_IN_FLIGHT pages' worth unacked, so the client's work and the ack's commit overlap. Re-entrant calls
   * while a pump runs are folded into one more pass, so nothing is pushed twice on this connection.
   */
  pump(): void {
    if (this.closed || !this.deviceId) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.track(this.pumpLoop()).finally(() => {
      this.pumping = false;
    });
  }

  private async pumpLoop(): Promise<void> {
    const deviceId = this.deviceId;
    if (!deviceId) return;
    try {
      for (;;) {
        this.again = false;
        const room = MAX_ENVELOPES_PER_DELIVERY * MAX_DELIVERIES_IN_FLIGHT - this.inflight.size;
        if (room <= 0 || this.closed) return;
        const batch = await this.ctx.store.pendingEnvelopes(deviceId, this.cursor, Math.min(room, MAX_ENVELOPES_PER_DELIVERY));
        if (batch.length === 0) {
          if (this.again) continue;
          return;
        }
        if (this.closed || this.deviceId !== deviceId) return;
        this.handedOut(batch);
        this.socket.emit(EVENTS.deliver, { envelopes: batch.map(toWireEnvelope) });
        this.ctx.log.debug("deliver", { conn: this.id, device: deviceId, count: batch.length });
      }
    } catch (err) {
      this.ctx.log.error("deliver failed", { conn: this.id, err: describeError(err) });
    }
  }

  private onDisconnect(reason: string): void {
    this.closed = true;
    if (this.deviceId) this.ctx.hub.remove(this.deviceId, this);
    this.ctx.log.info("disconnect", { conn: this.id, device: this.deviceId, reason });
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
      // A flood must not become a flood of log lines: refusals for rate only show at debug level.
      const level = error.code === "rate_limited" ? "debug" : "info";
      this.ctx.log[level]("refused", { conn: this.id, device: this.deviceId, event: isClientEvent(event) ? event : "unknown", code: error.code });
      reply({ ok: false, error });
    };

    if (this.ctx.closing()) return fail({ code: "unavailable", message: "relay shutting down" });
    if (!this.buckets.events.take()) return fail({ code: "rate_limited", message: "too many events" });
    if (!isClientEvent(event)) return fail({ code: "bad_request", message: "unknown event" });
    if (payloadBytes(args[0]) > MAX_FRAME_BYTES) return fail({ code: "too_large", message: `payload over ${MAX_FRAME_BYTES} bytes` });
    if (!this.loggedIn && !PRE_LOGIN_EVENTS.includes(event)) return fail({ code: "unauthorized", message: "log in first" });
    const rateClass = RATE_CLASS[event];
    if (rateClass && !this.buckets[rateClass].take()) return fail({ code: "rate_limited", message: `too many ${rateClass} requests` });
    if (args.length !== 1) return fail({ code: "bad_request", message: "expected one payload and an ack" });
    const parsed = SCHEMAS[event].request.safeParse(args[0]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
      return fail({ code: "bad_request", message: `${where}${issue?.message ?? "invalid payload"}`.slice(0, 300) });
    }
    try {
      const handler = this.handlers[event] as (conn: Connection, req: unknown) => Promise<object>;
      const result = await handler(this, parsed.data);
      reply({ ok: true, ...result });
    } catch (err) {
      if (err instanceof ProtocolError) return fail({ code: err.code, message: err.message });
      this.ctx.log.error("handler failed", { conn: this.id, event, err: describeError(err) });
      reply({ ok: false, error: { code: "internal", message: "internal error" } });
    }
  }
}
