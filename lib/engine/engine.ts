// The sync engine: one per device, run by the leader tab's worker. It owns the relay connection,
// logs in with the device auth key, keeps prekeys topped up, receives and stores envelopes, and drains
// the outbox. Dependencies come in as parameters so that Node tests run it against the real relay.
import { EVENTS, fromB64, loginMessage, ProtocolError, toB64, type Address, type BrandId, schemas } from "./deps";
import { signAuth } from "../crypto";
import type { AccountRow, DeviceRow, JunctionDB } from "../store/db";
import { ensureDevice, getDevice } from "../store/keys";
import { firstInOutbox } from "../store/outbox";
import { EngineError } from "../worker/rpc";
import { createAccount, maintainPrekeys } from "./accounts";
import type { EngineContext } from "./context";
import { DeviceDirectory } from "./directory";
import { newDeviceRow } from "./keys";
import { Counters, silentLogger, type Logger } from "./log";
import { Mutex } from "./mutex";
import { receiveBatch, type MyAccount } from "./receive";
import { OfflineError, request, type RelaySocket } from "./relay";
import { sendOutboxRow } from "./send";
import { MAX_ENVELOPES_PER_DELIVERY } from "../protocol/limits";

/**
 * Most envelopes decrypted and committed in one transaction. Pushes that arrive while a batch runs
 * are merged up to this, which saves per-transaction work; it stays well under the relay's unacked
 * window (MAX_DELIVERIES_IN_FLIGHT pages) so the next batch is already here when one commits.
 */
const RECEIVE_BATCH = 2 * MAX_ENVELOPES_PER_DELIVERY;

export interface EngineOptions {
  db: JunctionDB;
  /** Creates the relay socket (socket.io-client `io(...)`); the engine attaches its handlers and connects it. */
  connect: () => RelaySocket;
  now?: () => number;
  log?: Logger;
  /** Called whenever "connected and logged in" flips. */
  onStatus?: (online: boolean) => void;
}

const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

export class Engine {
  readonly counters = new Counters();
  private readonly ctx: EngineContext;
  private readonly directory: DeviceDirectory;
  private sock: RelaySocket | null = null;
  private loggedIn = false;
  private online = false;
  private stopped = false;
  private device: DeviceRow | null = null;
  private accounts = new Map<string, MyAccount>();
  private receiving: Promise<void> = Promise.resolve();
  /** Delivered envelopes not yet taken by a receive batch, in delivery order. */
  private inbox: schemas.Envelope[] = [];
  private receiveScheduled = false;
  /** Acks go out in commit order on their own chain, so decrypting the next batch never waits on one. */
  private acking: Promise<void> = Promise.resolve();
  /** Prekey top-ups after a batch used one-time prekeys: a relay round trip the next batch need not wait for. */
  private upkeep: Promise<void> = Promise.resolve();
  private draining: Promise<void> | null = null;
  private drainRequested = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retries = 0;
  private loginRun: Promise<void> | null = null;
  private networkUp = true;

  constructor(private readonly opts: EngineOptions) {
    this.ctx = {
      db: opts.db,
      log: opts.log ?? silentLogger,
      counters: this.counters,
      sessions: new Mutex(),
      now: opts.now ?? (() => Date.now()),
      socket: () => {
        if (!this.sock?.connected) throw new OfflineError();
        return this.sock;
      },
    };
    this.directory = new DeviceDirectory(this.ctx);
  }

  get isOnline(): boolean {
    return this.online;
  }

  start(): void {
    if (this.sock) return;
    const socket = this.opts.connect();
    this.sock = socket;
    socket.on("connect", () => {
      this.loginRun = this.afterConnect();
    });
    socket.on("disconnect", () => {
      this.loggedIn = false;
      this.setOnline(false);
    });
    socket.on(EVENTS.deliver, (payload: unknown) => this.onDeliver(payload));
    if (this.networkUp && !socket.connected) socket.connect();
  }

  /**
   * The browser says the network is gone (or back). Dropping the socket at once keeps sends queued
   * instead of written into a dead connection; socket.io does not reconnect after a manual disconnect,
   * so coming back connects explicitly.
   */
  setNetworkAvailable(up: boolean): void {
    this.networkUp = up;
    const socket = this.sock;
    if (!socket) return;
    if (!up && (socket.connected || socket.active)) socket.disconnect();
    if (up && !socket.active) socket.connect();
  }

  /** Disconnects and waits for work in flight; queued work stays in Dexie for the next leader. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const socket = this.sock;
    this.sock = null;
    socket?.removeAllListeners();
    socket?.disconnect();
    this.loggedIn = false;
    this.setOnline(false);
    this.inbox = [];
    await Promise.allSettled([this.receiving, this.acking, this.upkeep, this.draining, this.loginRun]);
  }

  /** Resolves once nothing is being received or sent right now (for tests and handover). */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [this.loginRun, this.receiving, this.acking, this.upkeep, this.draining];
      await Promise.allSettled(pending);
      const now = [this.loginRun, this.receiving, this.acking, this.upkeep, this.draining];
      if (pending.every((p, i) => p === now[i])) return;
    }
  }

  /** Something was queued (here or by a follower tab): send it when we can. */
  poke(): void {
    this.drainRequested = true;
    if (this.draining || !this.loggedIn || this.stopped) return;
    const run = this.drain();
    this.draining = run;
    void run.finally(() => {
      if (this.draining === run) this.draining = null;
      // A poke that landed after drain() last looked at drainRequested but before this callback saw
      // `draining` still set and returned: without this, that send would wait for the next poke.
      if (this.drainRequested && !this.retryTimer) this.poke();
    });
  }

  // ---- RPC-facing operations that need the relay ----

  async createAccount(params: { brand: BrandId; handle: string; displayName: string }): Promise<{ address: Address }> {
    const device = await ensureDevice(this.ctx.db, () => newDeviceRow(this.ctx.now()));
    this.device = device;
    const account = await createAccount(this.ctx, device, params);
    // log in again so that the relay serves the new account on this connection
    await this.loginRun;
    this.loginRun = this.afterConnect();
    await this.loginRun;
    return { address: account.address };
  }

  async lookup(address: Address): Promise<{ identityKey: Uint8Array; deviceIds: string[] } | null> {
    await this.loginRun;
    try {
      const res = await request(this.ctx.socket(), EVENTS.lookup, { address });
      return { identityKey: fromB64(res.identityKey), deviceIds: res.deviceIds };
    } catch (error) {
      if (error instanceof ProtocolError && error.code === "not_found") return null;
      throw error;
    }
  }

  // ---- connection ----

  private setOnline(online: boolean): void {
    if (this.online === online) return;
    this.online = online;
    this.opts.onStatus?.(online);
  }

  private async afterConnect(): Promise<void> {
    try {
      const loggedIn = await this.login();
      if (this.stopped) return;
      // with no account yet there is nothing to log in as; being connected is all "online" can mean
      this.setOnline(Boolean(this.sock?.connected));
      if (!loggedIn) return;
      this.retries = 0;
      await this.flushOwedAcks();
      for (const address of this.accounts.keys()) {
        await maintainPrekeys(this.ctx, address as Address).catch((error: unknown) => this.warn("prekey upkeep failed", error));
      }
      // the relay pushes the backlog by itself after login, one delivery window at a time
      this.poke();
    } catch (error) {
      this.warn("login failed", error);
    }
  }

  private async login(): Promise<boolean> {
    const { db } = this.ctx;
    this.loggedIn = false;
    this.device = (await getDevice(db)) ?? null;
    await this.loadAccounts();
    if (!this.device || this.accounts.size === 0) return false;
    const deviceId = this.device.deviceId;
    const { nonce } = await request(this.ctx.socket(), EVENTS.challenge, { deviceId });
    const signature = signAuth(this.device.authPrivateKey, loginMessage(fromB64(nonce), deviceId));
    const res = await request(this.ctx.socket(), EVENTS.login, { deviceId, signature: toB64(signature) });
    const missing = [...this.accounts.keys()].filter((a) => !res.addresses.includes(a));
    if (missing.length > 0) this.ctx.log.warn("relay does not know some accounts", { count: missing.length });
    this.loggedIn = true;
    return true;
  }

  private async loadAccounts(): Promise<void> {
    const { db } = this.ctx;
    const rows: AccountRow[] = await db.accounts.toArray();
    const next = new Map<string, MyAccount>();
    for (const account of rows) {
      const keys = await db.identityKeys.get(account.address);
      if (keys) next.set(account.address, { account, keys });
    }
    this.accounts = next;
  }

  // ---- receiving ----

  private onDeliver(payload: unknown): void {
    const parsed = schemas.Deliver.safeParse(payload);
    if (!parsed.success) {
      this.counters.bump("bad_delivery");
      return;
    }
    if (parsed.data.envelopes.length === 0 || this.stopped) return;
    for (const env of parsed.data.envelopes) this.inbox.push(env);
    if (this.receiveScheduled) return;
    this.receiveScheduled = true;
    this.receiving = this.receiving.then(() => this.receiveQueued());
  }

  /** Takes what has been delivered so far, batch by batch, until nothing is queued. */
  private async receiveQueued(): Promise<void> {
    try {
      while (this.inbox.length > 0 && !this.stopped) {
        const batch = this.inbox.splice(0, RECEIVE_BATCH);
        await this.receive(batch).catch((error: unknown) => this.warn("receive failed", error));
      }
    } finally {
      this.receiveScheduled = false;
    }
  }

  private async receive(envelopes: schemas.Envelope[]): Promise<void> {
    const device = this.device;
    if (!device || this.stopped) return;
    const outcome = await this.ctx.sessions.run(() => receiveBatch(this.ctx, device, this.accounts, envelopes));
    this.counters.bump("stored", outcome.stored);
    for (const address of outcome.newDevicesOf) this.directory.invalidate(address);
    // committed above (with the acks owed in pendingAcks): only now may the relay forget them
    const refs = outcome.acks.map((a) => ({ to: a.to, id: a.id }));
    this.acking = this.acking.then(() => this.ack(refs)).catch((error: unknown) => this.warn("ack failed", error));
    if (outcome.stored > 0) this.poke();
    for (const address of outcome.prekeysUsedBy) {
      this.upkeep = this.upkeep.then(() => maintainPrekeys(this.ctx, address)).catch((error: unknown) => this.warn("prekey upkeep failed", error));
    }
  }

  /**
   * Acks go out only after the commit; what could not be acked is in pendingAcks and resent at login.
   * The pages of one batch are acked side by side, so a merged batch costs one round trip, not several.
   */
  private async ack(refs: { to: Address; id: string }[]): Promise<void> {
    const chunks: { to: Address; id: string }[][] = [];
    for (let i = 0; i < refs.length; i += MAX_ENVELOPES_PER_DELIVERY) chunks.push(refs.slice(i, i + MAX_ENVELOPES_PER_DELIVERY));
    const results = await Promise.allSettled(chunks.map(async (chunk) => request(this.ctx.socket(), EVENTS.ack, { envelopes: chunk })));
    const done: string[] = [];
    results.forEach((result, i) => {
      if (result.status === "fulfilled") for (const r of chunks[i]) done.push(`${r.to}|${r.id}`);
      else if (!(result.reason instanceof OfflineError)) this.warn("ack failed", result.reason);
    });
    if (done.length > 0) await this.forgetOwedAcks(done);
  }

  /**
   * Drops acked rows from pendingAcks. Usually nothing else is owed (the next batch has not committed
   * yet), and then one clear replaces a delete per row. A row is only ever added by a commit and
   * removed after its ack, so a table exactly as large as the acked set holds nothing else. Should two
   * overlapping acks ever fool the count, a cleared row costs one redelivery, which dedupes like any other.
   */
  private async forgetOwedAcks(keys: string[]): Promise<void> {
    const { db } = this.ctx;
    const distinct = new Set(keys);
    await db.transaction("rw", db.pendingAcks, async () => {
      if ((await db.pendingAcks.count()) === distinct.size) await db.pendingAcks.clear();
      else await db.pendingAcks.bulkDelete([...distinct]);
    });
  }

  private async flushOwedAcks(): Promise<void> {
    const owed = await this.ctx.db.pendingAcks.toArray();
    if (owed.length > 0) await this.ack(owed.map((a) => ({ to: a.to, id: a.id })));
  }

  // ---- sending ----

  private async drain(): Promise<void> {
    try {
      while (this.drainRequested && this.loggedIn && !this.stopped) {
        this.drainRequested = false;
        for (;;) {
          if (!this.loggedIn || this.stopped || !this.device) return;
          const row = await firstInOutbox(this.ctx.db);
          if (!row) break;
          const outcome = await sendOutboxRow(this.ctx, this.directory, this.device.deviceId, row);
          if (outcome === "retry") {
            this.scheduleRetry();
            return;
          }
          this.retries = 0;
        }
      }
    } catch (error) {
      this.warn("outbox drain failed", error);
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    const delay = RETRY_MS[Math.min(this.retries, RETRY_MS.length - 1)];
    this.retries += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.poke();
    }, delay);
  }

  private warn(event: string, error: unknown): void {
    this.ctx.log.warn(event, {
      name: error instanceof Error ? error.name : "unknown",
      code: typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : "",
    });
  }

  requireAccount(address: string): MyAccount {
    const mine = this.accounts.get(address);
    if (!mine) throw new EngineError("not_found", "not one of my accounts");
    return mine;
  }
}
