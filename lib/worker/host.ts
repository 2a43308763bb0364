// One per worker (one worker per tab). Competes for the device's engine lock; the winner runs the
// engine, the others serve local calls from Dexie and forward the rest. When the leader's tab closes
// its lock is released and a waiting worker takes over with the same database.
import type { JunctionDB } from "../store/db";
import { Engine, type EngineOptions } from "../engine/engine";
import { isLeaderMethod, leaderHandlers, localHandlers, type HandlerDeps } from "../engine/api";
import { toEngineError } from "../engine/errors";
import { randomId } from "../store/ids";
import { RingLogger, type Logger } from "../engine/log";
import type { RelaySocket } from "../engine/relay";
import { isPeerMessage, LOCK_NAME, type LockProvider, type PeerChannel, type PeerMessage } from "./channel";
import { EngineError, isEngineErrorCode, type ConnectionStatus, type RpcHandlers, type RpcMethod, type RpcReply, type RpcRequest, type WorkerEvent } from "./rpc";

export const FORWARD_TIMEOUT_MS = 30_000;

export interface HostOptions {
  db: JunctionDB;
  locks: LockProvider;
  channel: PeerChannel;
  connect: () => RelaySocket;
  /** Replies and events for this tab's UI. */
  post: (message: RpcReply | WorkerEvent) => void;
  now?: () => number;
  /** Where log lines go besides the host's own ring (which the Diagnostics view reads). */
  log?: Logger;
  /** How many log lines the ring keeps. */
  logLines?: number;
  /** Where the engine's attachment transfers go and do their ciphertext work (the engine's defaults). */
  blobs?: EngineOptions["blobs"];
}

interface Forwarded {
  method: RpcMethod;
  params: unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class WorkerHost {
  private engine: Engine | null = null;
  private online = false;
  private closed = false;
  private releaseLock: (() => void) | null = null;
  private readonly forwarded = new Map<string, Forwarded>();
  private readonly now: () => number;
  private readonly deps: HandlerDeps;
  private readonly local: ReturnType<typeof localHandlers>;
  private leaderApi: RpcHandlers | null = null;
  private networkUp = true;
  /** Every line of this worker (the engine's included), newest kept, for diagnostics. */
  readonly log: RingLogger;

  constructor(private readonly opts: HostOptions) {
    this.now = opts.now ?? (() => Date.now());
    this.log = new RingLogger(opts.logLines, opts.log, this.now);
    this.deps = {
      db: opts.db,
      now: this.now,
      recentLog: () => this.log.entries(),
      status: () => this.status(),
      poke: () => {
        if (this.engine) this.engine.poke();
        else this.opts.channel.postMessage({ type: "poke" });
      },
    };
    this.local = localHandlers(this.deps);
    opts.channel.addEventListener("message", (event) => {
      if (isPeerMessage(event.data)) void this.onPeer(event.data);
    });
  }

  get isLeader(): boolean {
    return this.engine !== null;
  }

  status(): ConnectionStatus {
    return { online: this.online, leader: this.isLeader };
  }

  /** Joins the election; resolves at once (leadership may come now or much later). */
  start(): void {
    void this.opts.locks
      .request(LOCK_NAME, () => this.lead())
      .catch((error: unknown) => this.log.warn("engine lock failed", { name: error instanceof Error ? error.name : "unknown" }));
    this.opts.channel.postMessage({ type: "status?" });
    void this.readStoredStatus();
  }

  /** Stops the engine and gives up the lock, as a closing tab does. */
  async close(): Promise<void> {
    this.closed = true;
    await this.engine?.stop();
    this.engine = null;
    this.leaderApi = null;
    this.releaseLock?.();
    for (const [id, f] of this.forwarded) {
      clearTimeout(f.timer);
      f.reject(new EngineError("offline", "engine closed"));
      this.forwarded.delete(id);
    }
  }

  /** Browser connectivity as navigator.onLine reports it: no point holding a socket while the OS says offline. */
  setNetworkAvailable(up: boolean): void {
    if (this.networkUp === up) return;
    this.networkUp = up;
    this.engine?.setNetworkAvailable(up);
  }

  async handle(request: RpcRequest): Promise<void> {
    try {
      const result = await this.dispatch(request.method, request.params);
      this.opts.post({ seq: request.seq, ok: true, result });
    } catch (error) {
      const e = toEngineError(error);
      this.opts.post({ seq: request.seq, ok: false, error: { name: e.name, code: e.code, message: e.message } });
    }
  }

  private async dispatch(method: RpcMethod, params: unknown): Promise<unknown> {
    if (this.leaderApi) return (this.leaderApi[method] as (p: unknown) => Promise<unknown>)(params);
    if (isLeaderMethod(method)) return this.forward(method, params);
    return (this.local[method] as (p: unknown) => Promise<unknown>)(params);
  }

  private forward(method: RpcMethod, params: unknown): Promise<unknown> {
    const id = randomId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.forwarded.delete(id);
        reject(new EngineError("offline", "no engine answered"));
      }, FORWARD_TIMEOUT_MS);
      this.forwarded.set(id, { method, params, resolve, reject, timer });
      this.opts.channel.postMessage({ type: "rpc", id, method, params });
    });
  }

  private async lead(): Promise<void> {
    if (this.closed) return;
    const engine = new Engine({
      db: this.opts.db,
      connect: this.opts.connect,
      now: this.now,
      log: this.log,
      onStatus: (online) => this.setStatus(online),
      blobs: this.opts.blobs,
    });
    this.engine = engine;
    this.leaderApi = leaderHandlers(engine, this.deps);
    engine.setNetworkAvailable(this.networkUp);
    engine.start();
    this.log.info("engine started");
    this.pushStatus();
    // calls forwarded to the old leader died with it: serve them here
    for (const [id, f] of this.forwarded) {
      clearTimeout(f.timer);
      this.forwarded.delete(id);
      this.dispatch(f.method, f.params).then(f.resolve, f.reject);
    }
    await new Promise<void>((resolve) => {
      this.releaseLock = resolve;
    });
  }

  private setStatus(online: boolean): void {
    this.online = online;
    this.log.info(online ? "relay connected" : "relay disconnected");
    void this.opts.db.meta.put({ key: "status", value: { online, at: this.now() } }).catch(() => undefined);
    this.opts.channel.postMessage({ type: "status", online });
    this.pushStatus();
  }

  private pushStatus(): void {
    this.opts.post({ type: "status", status: this.status() });
  }

  private async readStoredStatus(): Promise<void> {
    const row = await this.opts.db.meta.get("status").catch(() => undefined);
    const value = row?.value as { online?: unknown } | undefined;
    if (!this.isLeader && typeof value?.online === "boolean" && value.online !== this.online) {
      this.online = value.online;
      this.pushStatus();
    }
  }

  private async onPeer(message: PeerMessage): Promise<void> {
    switch (message.type) {
      case "rpc": {
        if (!this.leaderApi) return;
        if (!isLeaderMethod(message.method)) return;
        try {
          const result = await this.dispatch(message.method, message.params);
          this.opts.channel.postMessage({ type: "rpc-reply", id: message.id, ok: true, result });
        } catch (error) {
          const e = toEngineError(error);
          this.opts.channel.postMessage({ type: "rpc-reply", id: message.id, ok: false, error: { code: e.code, message: e.message } });
        }
        return;
      }
      case "rpc-reply": {
        const f = this.forwarded.get(message.id);
        if (!f) return;
        clearTimeout(f.timer);
        this.forwarded.delete(message.id);
        if (message.ok) f.resolve(message.result);
        else f.reject(new EngineError(isEngineErrorCode(message.error.code) ? message.error.code : "internal", message.error.message));
        return;
      }
      case "poke":
        this.engine?.poke();
        return;
      case "status":
        if (this.isLeader) return;
        this.online = message.online;
        this.pushStatus();
        return;
      case "status?":
        if (this.isLeader) this.opts.channel.postMessage({ type: "status", online: this.online });
        return;
    }
  }
}
