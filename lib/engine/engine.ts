// The sync engine: one per device, run by the leader tab's worker. It owns the relay connection,
// logs in with the device auth key, keeps prekeys topped up, receives and stores envelopes, and drains
// the outbox. Dependencies come in as parameters so that Node tests run it against the real relay.
import { z } from "zod";
import { EVENTS, fromB64, loginMessage, ProtocolError, toB64, type Address, type BrandId, schemas } from "./deps";
import { generateAuthKeyPair, MAX_LINKED_DEVICES, signAuth } from "../crypto";
import { owedEnvelopes, type AccountRow, type DeviceRow, type EnvelopeRef, type JunctionDB } from "../store/db";
import { devicesOf } from "../store/keys";
import { randomId } from "../store/ids";
import { EngineError } from "../worker/rpc";
import { createAccount, maintainPrekeys } from "./accounts";
import { ensureMyDeviceList } from "./deviceLists";
import { HISTORY_WAIT_MS, LINK_STEP_MS, LinkCancelled, linkDevice, LinkRefused, ProvisionInbox, removeDevice, removedHere, startLink, type LinkedDevice } from "./linking";
import { forgetArchivePieces, offerHistory, receiveOffer, type BlobAccess, type MediaBlob } from "./history/transfer";
import { heldMediaSize } from "./history/archive";
import { HistoryOffer } from "./history/offer";
import { blobList, HISTORY_MEDIA_KEY, historyMediaWait, HISTORY_DONE_KEY, HISTORY_UPLOADS_KEY, MAX_HISTORY_BLOBS, HISTORY_ASK_KEY, HISTORY_KEY, historyAsks, historyProgress, keepOffer, mediaByDefault, HISTORY_MEDIA_SENT_KEY, mediaSentTo, pendingHistory, setHistoryProgress, setLinkState, setPendingHistory, settleAfterRestart, type HistoryAsk, type HistoryUpload, type LinkFailure } from "../store/history";
import { queueHistoryDone, queueSync, syncTables } from "./sync/queue";
import { sameBytes } from "../store/identities";
import { announceDeviceNames } from "./deviceNames";
import type { EngineContext } from "./context";
import { DeviceDirectory } from "./directory";
import { Counters, silentLogger, type Logger } from "./log";
import { Mutex } from "./mutex";
import { commitBatch, decryptBatch, ReceiveCarry, RecoveryLimits, type BatchOutcome, type DecryptedBatch, type MyAccount } from "./receive";
import { OfflineError, request, type RelaySocket } from "./relay";
import { sendOutboxRow } from "./send";
import { isTransientStorageError, runMaintenance } from "./maintenance";
import { sweepExpired } from "./disappearing";
import { runBackfill } from "./search";
import { receiveTyping, TypingSender, type TypingOutcome } from "./typing";
import { MAX_ENVELOPES_PER_DELIVERY } from "../protocol/limits";
import { TransferRunner } from "./attachments/runner";
import { ReceiptHold } from "./receiptHold";
import type { CipherIo } from "./attachments/cipherio";

/**
 * Most envelopes decrypted and committed in one transaction. Pushes that arrive while a batch runs
 * are merged up to this, which saves per-transaction work; it stays well under the relay's unacked
 * window (MAX_DELIVERIES_IN_FLIGHT pages) so the next batch is already here (and decrypting) while one
 * commits.
 */
const RECEIVE_BATCH = 2 * MAX_ENVELOPES_PER_DELIVERY;
/**
 * The first batch of a run is smaller: nothing commits beside its decryption (the pipeline has no batch
 * before it), and a backlog's first messages then show that much sooner, while the next batch already
 * decrypts beside its commit. Its decryption is the coldest too (the code's first runs).
 */
const FIRST_RECEIVE_BATCH = MAX_ENVELOPES_PER_DELIVERY / 4;
/** A push, before its envelopes are checked one by one. */
const DeliverPage = z.object({ envelopes: z.array(z.unknown()).max(MAX_ENVELOPES_PER_DELIVERY) });

export interface EngineOptions {
  db: JunctionDB;
  /** Creates the relay socket (socket.io-client `io(...)`); the engine attaches its handlers and connects it. */
  connect: () => RelaySocket;
  now?: () => number;
  log?: Logger;
  /** Called whenever "connected and logged in" flips. */
  onStatus?: (online: boolean) => void;
  /** Where attachment blobs are fetched from and uploaded to (default: the page's own origin). */
  blobs?: { baseUrl: string; fetch?: (input: string, init?: RequestInit) => Promise<Response>; io?: CipherIo };
}

const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
/**
 * The disappearing sweep looks again at least this often: a message with a timer written by another tab
 * (a follower pokes, but a timer line from another device does not) is never kept much past its time.
 */
const SWEEP_RECHECK_MS = 60_000;
/**
 * A history archive the relay did not delete (unreachable, busy) is looked at again after these waits, the last
 * repeating, besides every other look (a login, a sync, a finished download).
 */
export const ARCHIVE_DELETE_RETRY_MS = [2_000, 15_000, 60_000, 5 * 60_000, 30 * 60_000];
/** How often housekeeping runs while the engine stays connected. */
const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;
/** Outbox rows read per page while draining. */
const OUTBOX_PAGE = 200;
/** A batch that failed for a reason other than storage is tried whole this often, then envelope by envelope. */
const BATCH_ATTEMPTS_BEFORE_SPLIT = 3;
/** What a relay answers when it cannot serve now; the same request works later (or on another node). */
const RELAY_NOT_NOW = new Set(["rate_limited", "unavailable", "internal"]);

/** Unreachable, or reachable and busy, failing or shutting down: a receive that needed it is tried again. */
function isTransientRelayError(error: unknown): boolean {
  return error instanceof OfflineError || (error instanceof ProtocolError && RELAY_NOT_NOW.has(error.code));
}

/**
 * The session lock, knowing whether anyone else waits for it: the receive pipeline holds it across
 * batches and lets a waiting send in after the commit in flight.
 */
class SessionLock extends Mutex {
  private waiting = 0;

  get contended(): boolean {
    return this.waiting > 0;
  }

  override async run<T>(task: () => Promise<T>): Promise<T> {
    this.waiting += 1;
    let entered = false;
    try {
      return await super.run(() => {
        this.waiting -= 1;
        entered = true;
        return task();
      });
    } finally {
      if (!entered) this.waiting -= 1;
    }
  }
}

/** A batch whose commit has started (and not yet been awaited). */
interface Committing {
  batch: schemas.Envelope[];
  commit: Promise<BatchOutcome>;
}

export class Engine {
  readonly counters = new Counters();
  private readonly ctx: EngineContext;
  private readonly lock = new SessionLock();
  private readonly directory: DeviceDirectory;
  private sock: RelaySocket | null = null;
  private loggedIn = false;
  private online = false;
  private stopped = false;
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
  /** Handshakes the relay refused in a row, and the pause before the next try. */
  private refusals = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private retries = 0;
  private loginRun: Promise<void> | null = null;
  private networkUp = true;
  private readonly recovery = new RecoveryLimits();
  /** Consecutive failed attempts of the batch at the head of the inbox. */
  private receiveFailures = 0;
  private receiveRetryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryAt = 0;
  /** Housekeeping while connected: placeholders that waited a day, the sent log (also run at every login). */
  private maintenanceTimer: ReturnType<typeof setInterval> | null = null;
  /** The receive run waiting for a fuller batch while a commit runs. */
  private inboxWaiter: { size: number; resolve: () => void } | null = null;
  /** A committed batch queued outbox rows (receipts): drain once the receive run lets go of the lock. */
  private pokeAfterReceive = false;
  /** Receipts wait for a backlog being received, for a bounded time. */
  private readonly receipts = new ReceiptHold(() => this.poke());
  /** The next disappearing sweep, and when it is due. */
  private sweepTimer: ReturnType<typeof setTimeout> | null = null;
  private sweepAt = Infinity;
  private sweeping: Promise<void> = Promise.resolve();
  /** Indexing messages stored before the search index (once per start, in small batches). */
  private backfilling: Promise<unknown> = Promise.resolve();
  /** Typing signals pushed to me, one after another. */
  private typingIn: Promise<void> = Promise.resolve();
  private readonly typing: TypingSender;
  /** Attachment uploads and downloads. */
  readonly transfers: TransferRunner;
  /** Messages of the provisioning channels this engine listens on while it links a device. */
  private readonly provisions = new ProvisionInbox();
  /** Links waiting for the person to confirm the new device's name. */
  private readonly pendingLinks = new Map<string, { answer: (yes: boolean) => void; finished: Promise<LinkedDevice | null> }>();
  /** The history this new device is receiving, to stop when the person skips it. */
  private historyIn: AbortController | null = null;
  /** History work (this new device's kept offer, my linked devices' asks), one step at a time. */
  private historyRun: Promise<void> = Promise.resolve();
  /** Wakes the history step when this new device's wait for an offer runs out. */
  private historyTimer: ReturnType<typeof setTimeout> | null = null;
  /** The next look at archives the relay did not delete, and how many looks in a row failed. */
  private deleteRetryTimer: ReturnType<typeof setTimeout> | null = null;
  private deleteFailures = 0;
  /** A receive batch carried sync items: an offer or an ask may have come. */
  private historySyncSeen = false;

  constructor(private readonly opts: EngineOptions) {
    this.ctx = {
      db: opts.db,
      log: opts.log ?? silentLogger,
      counters: this.counters,
      sessions: this.lock,
      now: opts.now ?? (() => Date.now()),
      socket: () => {
        if (!this.sock?.connected) throw new OfflineError();
        return this.sock;
      },
      connectedSocket: async (ms) => {
        // the engine replaces its socket after a refused handshake, so this asks for the current one
        const until = Date.now() + ms;
        while (!this.sock?.connected) {
          if (Date.now() >= until || this.stopped) throw new OfflineError();
          await new Promise((r) => setTimeout(r, 100));
        }
        return this.sock;
      },
    };
    this.directory = new DeviceDirectory(this.ctx);
    this.transfers = new TransferRunner(this.ctx, { baseUrl: opts.blobs?.baseUrl ?? "", fetch: opts.blobs?.fetch, io: opts.blobs?.io, onUploaded: () => this.poke(), onDownloaded: () => this.historyCheck() });
    this.typing = new TypingSender(this.ctx);
  }

  get isOnline(): boolean {
    return this.online;
  }

  start(): void {
    if (this.sock) return;
    void settleAfterRestart(this.ctx.db)
      .catch((error: unknown) => this.warn("history state", error))
      .then(() => this.historyCheck());
    // what expired while the app was closed goes before anything else is shown again
    this.sweepNow();
    // after the sweep's first look, so nothing expired is indexed only to go again
    this.backfilling = this.sweeping.then(() => runBackfill(this.ctx.db, () => this.stopped)).catch((error: unknown) => this.warn("search indexing failed", error));
    const socket = this.opts.connect();
    this.sock = socket;
    socket.on("connect", () => {
      this.refusals = 0;
      this.loginRun = this.afterConnect();
    });
    // A refusal by the relay's handshake check (its per-address connection cap, say, full of a crashed
    // node's slots for a while) is final to socket.io: it does not reconnect by itself after one, and the
    // device would stay offline until reloaded. Try again after a pause, as for any other outage.
    const connectLater = () => {
      if (socket.active || this.stopped || !this.networkUp || this.reconnectTimer) return;
      const delay = RETRY_MS[Math.min(this.refusals, RETRY_MS.length - 1)];
      this.refusals += 1;
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        if (!this.stopped && this.networkUp && this.sock === socket && !socket.active) socket.connect();
      }, delay);
    };
    socket.on("connect_error", connectLater);
    socket.on("disconnect", (reason) => {
      this.loggedIn = false;
      this.setOnline(false);
      // the relay closed the connection itself (it is shutting down for a restart or a deploy): socket.io
      // takes that as final too, and the device would stay offline until reloaded
      if (reason === "io server disconnect") connectLater();
    });
    socket.on(EVENTS.deliver, (payload: unknown) => this.onDeliver(payload));
    socket.on(EVENTS.typingDeliver, (payload: unknown) => this.onTyping(payload));
    socket.on(EVENTS.provisionDeliver, (payload: unknown) => this.provisions.deliver(payload));
    socket.on(EVENTS.devicesRemoved, (payload: unknown) => void this.onRemoved(payload));
    if (this.networkUp && !socket.connected) socket.connect();
    // The login's signature is this thread's first use of Ed25519, and noble builds its base-point table on
    // first use (tens of ms): between the relay's challenge and the login, which the backlog's first push
    // waits for. A throwaway key pair builds it now, while the worker waits for the connection instead.
    setTimeout(() => generateAuthKeyPair(), 0);
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
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.receiveRetryTimer) clearTimeout(this.receiveRetryTimer);
    this.receipts.clear();
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.historyTimer) clearTimeout(this.historyTimer);
    if (this.deleteRetryTimer) clearTimeout(this.deleteRetryTimer);
    // a transfer stopped by the engine stopping (a reload) goes on at the next start: its offer stays kept
    this.historyIn?.abort();
    const socket = this.sock;
    this.sock = null;
    socket?.removeAllListeners();
    socket?.disconnect();
    this.loggedIn = false;
    this.setOnline(false);
    this.inbox = [];
    this.inboxWaiter?.resolve();
    await this.transfers.stop();
    await Promise.allSettled([this.receiving, this.acking, this.upkeep, this.draining, this.loginRun, this.sweeping, this.typingIn, this.backfilling]);
  }

  /**
   * Runs `task` holding the session lock, so that nothing is decrypted or encrypted meanwhile: for tests that
   * read a session row, encrypt by hand and write it back (a receipt decrypted in between would otherwise
   * write back the state it read, and the next message would reuse a message number).
   */
  withSessionLock<T>(task: () => Promise<T>): Promise<T> {
    return this.lock.run(task);
  }

  /** Resolves once nothing is being received or sent right now (for tests and handover). */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [this.loginRun, this.receiving, this.acking, this.upkeep, this.draining, this.sweeping];
      await Promise.allSettled(pending);
      const now = [this.loginRun, this.receiving, this.acking, this.upkeep, this.draining, this.sweeping];
      if (pending.every((p, i) => p === now[i])) return;
    }
  }

  /** Something was queued (here or by a follower tab): send it when we can. */
  poke(): void {
    // what was just written may disappear sooner than anything before it
    this.sweepSoon();
    // an attachment queued (its upload), or asked for (its download)
    if (this.loggedIn && !this.stopped) this.transfers.kick();
    this.drainRequested = true;
    if (this.draining || !this.loggedIn || this.stopped) return;
    const run = this.drain();
    this.draining = run;
    void run.finally(() => {
      if (this.draining === run) this.draining = null;
      // A poke that landed after drain() last looked at drainRequested but before this callback saw
      // `draining` still set and returned: without this, that send would wait for the next poke.
      if (this.drainRequested) this.poke();
    });
  }

  // ---- disappearing messages ----

  /** Sweeps now, then arms the timer for the next expiry. */
  private sweepNow(): void {
    if (this.stopped) return;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    this.sweepAt = Infinity;
    this.sweeping = this.sweeping
      .then(() => sweepExpired(this.ctx))
      .then(
        ({ next }) => this.armSweep(next),
        (error: unknown) => {
          this.warn("disappearing sweep failed", error);
          this.armSweep(null);
        },
      );
  }

  /** Looks for the next expiry (something with a timer may have been written) and arms the timer for it. */
  sweepSoon(): void {
    if (this.stopped) return;
    this.sweeping = this.sweeping
      .then(async () => (await this.ctx.db.messages.orderBy("expiresAt").first())?.expiresAt ?? null)
      .then(
        (next) => this.armSweep(next),
        () => undefined,
      );
  }

  private armSweep(next: number | null): void {
    if (this.stopped) return;
    const at = Math.min(next ?? Infinity, this.ctx.now() + SWEEP_RECHECK_MS);
    if (this.sweepTimer && this.sweepAt <= at) return;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = setTimeout(() => this.sweepNow(), Math.max(0, at - this.ctx.now()));
  }

  // ---- typing ----

  /** Tells the peer's online devices that I am typing (or stopped); best effort (see typing.ts). */
  async setTyping(conversationId: string, typing: boolean, now?: number): Promise<TypingOutcome> {
    await this.loginRun;
    if (!this.loggedIn) return "skipped";
    return this.typing.send(conversationId, typing, now);
  }

  private onTyping(payload: unknown): void {
    const parsed = schemas.TypingDeliver.safeParse(payload);
    if (!parsed.success) {
      this.counters.bump("bad_typing");
      return;
    }
    if (this.stopped) return;
    this.typingIn = this.typingIn
      .then(() => receiveTyping(this.ctx, this.accounts, parsed.data))
      .catch((error: unknown) => this.warn("typing signal failed", error));
  }

  // ---- RPC-facing operations that need the relay ----

  async createAccount(params: { brand: BrandId; handle: string; displayName: string }): Promise<{ address: Address }> {
    const account = await createAccount(this.ctx, params);
    // log in again so that the relay serves the new account on this connection
    await this.loginRun;
    this.loginRun = this.afterConnect();
    await this.loginRun;
    return { address: account.address };
  }

  /** A new device: the link code to show; the accounts appear once the primary has linked this device. */
  async startLink(params: { name: string }): Promise<{ code: string }> {
    const { db } = this.ctx;
    const pending = await startLink(
      this.ctx,
      this.provisions,
      params.name,
      async () => {
        // log in again so that the relay serves the linked accounts on this connection
        await this.loginRun;
        this.loginRun = this.afterConnect();
        await this.loginRun;
      },
      () => setLinkState(db, { state: "waiting", mistyped: true }),
    );
    await setLinkState(db, { state: "waiting" });
    pending.done.then(
      async () => {
        await setLinkState(db, null);
        await setHistoryProgress(db, { direction: "in", state: "waiting", done: 0, total: 0 });
        this.historyCheck();
        // the offer over the link channel, when it comes that way first (it also comes as a sync)
        const offer = await pending.history.catch(() => null);
        if (!offer) return;
        const kept = await pendingHistory(db);
        // skipped before it came: not fetched; the primary may delete the archive
        if (kept?.skipped) {
          if (offer.t === "history") await this.doneWith(kept.accounts, offer.blobId, () => setPendingHistory(db, null));
          else await setPendingHistory(db, null);
        } else if (await db.transaction("rw", db.meta, () => keepOffer(db, offer))) this.historyCheck();
      },
      async (error: unknown) => {
        this.warn("linking failed", error);
        await setLinkState(db, { state: "failed", reason: linkFailure(error) }).catch(() => undefined);
      },
    );
    return { code: pending.code };
  }

  /** A new device: the person does not want the history (or no more of it); what came stays. */
  async skipHistory(): Promise<null> {
    const { db } = this.ctx;
    const now = this.ctx.now();
    // read and written in one transaction: an offer that comes meanwhile (a sync) is either seen here or
    // finds the history skipped, never overwritten by it
    const pending = await db.transaction("rw", [db.meta, ...syncTables(db)], async () => {
      const pending = await pendingHistory(db);
      // the primary deletes an archive this device will not fetch
      if (pending?.offer?.t === "history") await queueHistoryDone(db, pending.accounts[0], pending.offer.blobId, now);
      // its offer has not come: kept as skipped, so that the archive is reported done (and deleted) when it does
      const waiting = pending && !pending.failed && !pending.offer;
      await setPendingHistory(db, waiting ? { accounts: pending.accounts, since: pending.since, skipped: true } : null);
      return pending;
    });
    this.poke();
    if (this.historyIn) {
      this.historyIn.abort();
      this.historyIn = null;
      await setHistoryProgress(db, { direction: "in", state: "skipped", done: 0, total: 0 });
      return null;
    }
    if (pending && !pending.failed) {
      await setHistoryProgress(db, { direction: "in", state: "skipped", done: 0, total: 0 });
      return null;
    }
    // nothing under way: a finished or failed transfer's line is dismissed
    const shown = await historyProgress(db);
    if (shown?.direction === "in" && (shown.state === "done" || shown.state === "failed")) await db.meta.delete(HISTORY_KEY);
    return null;
  }

  /**
   * A new device whose history failed or never came: asks the primary (a sync to my own devices) to send
   * it again, and waits for it as after the link.
   */
  async askHistory(): Promise<null> {
    const { db } = this.ctx;
    if (this.historyIn) throw new EngineError("bad_request", "the history is on its way");
    const pending = await pendingHistory(db);
    const shown = await historyProgress(db);
    if (!pending?.failed && !(shown?.direction === "in" && shown.state === "failed")) throw new EngineError("bad_request", "no history to ask for");
    const accounts = pending?.accounts.filter((a) => this.accounts.has(a)) ?? ([...this.accounts.keys()] as Address[]);
    if (accounts.length === 0) throw new EngineError("not_found", "not one of my accounts");
    const now = this.ctx.now();
    await db.transaction("rw", [db.meta, ...syncTables(db)], async () => {
      await setPendingHistory(db, { accounts, since: now, ...(pending?.failedBlobs ? { failedBlobs: pending.failedBlobs } : {}) });
      await setHistoryProgress(db, { direction: "in", state: "waiting", done: 0, total: 0 });
      for (const our of accounts) {
        const device = this.accounts.get(our)?.deviceId;
        if (device) await queueSync(db, [our], [{ t: "historyAsk", device, at: now }], now);
      }
    });
    this.poke();
    this.historyCheck();
    return null;
  }

  /** Goes on with the history work: this new device's kept offer (or its wait), my linked devices' asks. */
  private historyCheck(): void {
    this.historyRun = this.historyRun.then(() => this.historyStep()).catch((error: unknown) => this.warn("history transfer failed", error));
  }

  private async historyStep(): Promise<void> {
    if (this.stopped) return;
    await this.answerAsks();
    await this.deleteDoneArchives();
    await this.mediaSettled();
    if (this.historyIn) return;
    const { db } = this.ctx;
    const pending = await pendingHistory(db);
    if (!pending || pending.failed || pending.skipped) return;
    if (!pending.offer) {
      const left = pending.since + HISTORY_WAIT_MS - this.ctx.now();
      if (this.historyTimer) clearTimeout(this.historyTimer);
      this.historyTimer = null;
      if (left > 0) {
        this.historyTimer = setTimeout(() => this.historyCheck(), left);
        const shown = await historyProgress(db);
        if (shown?.direction !== "in" || shown.state !== "waiting") await setHistoryProgress(db, { direction: "in", state: "waiting", done: 0, total: 0 });
        return;
      }
      // no offer came in time: the person may ask again
      await setPendingHistory(db, { ...pending, failed: true });
      await setHistoryProgress(db, { direction: "in", state: "failed", done: 0, total: 0, reason: "expired" });
      return;
    }
    const offer = HistoryOffer.safeParse(pending.offer);
    if (offer.success && offer.data.t === "nohistory" && offer.data.failed) {
      // the primary's side failed: kept as failed, so the person may ask again
      await setPendingHistory(db, { ...pending, failed: true });
      await setHistoryProgress(db, { direction: "in", state: "failed", done: 0, total: 0, reason: "failed" });
      return;
    }
    if (!offer.success || offer.data.t === "nohistory") {
      await setPendingHistory(db, null);
      await setHistoryProgress(db, { direction: "in", state: offer.success ? "skipped" : "failed", done: 0, total: 0 });
      return;
    }
    const abort = new AbortController();
    this.historyIn = abort;
    const pointed = offer.data;
    // in the background: skipping or stopping aborts it; asks are answered meanwhile
    void (async () => {
      try {
        const counts = await receiveOffer(this.ctx, this.blobAccess(), pointed, pending.accounts, abort.signal);
        if (counts.media.length > 0) {
          // the primary deletes the archive with its photos and files: told once their downloads settled (mediaSettled)
          await db.transaction("rw", db.meta, async () => {
            const waits = (await historyMediaWait(db)).filter((w) => w.blobId !== pointed.blobId);
            await db.meta.put({ key: HISTORY_MEDIA_KEY, value: [...waits, { blobId: pointed.blobId, accounts: pending.accounts, ids: counts.media }].slice(-MAX_HISTORY_BLOBS) });
            await setPendingHistory(db, null);
          });
          this.transfers.kick();
        } else await this.doneWith(pending.accounts, pointed.blobId, () => setPendingHistory(db, null));
      } catch (error) {
        // skipped (skipHistory wrote its state: what the download kept goes) or stopped (the offer and the
        // pieces stay: the next start goes on from them)
        if (abort.signal.aborted || this.stopped) {
          if (!this.stopped) await forgetArchivePieces(this.ctx, pointed.blobId).catch(() => undefined);
          return;
        }
        this.warn("history transfer failed", error);
        // asked again, a new archive comes: what this one kept goes
        await forgetArchivePieces(this.ctx, pointed.blobId);
        await setPendingHistory(db, { ...pending, failed: true, failedBlobs: [...(pending.failedBlobs ?? []), pointed.blobId].slice(-8) });
        await setHistoryProgress(db, { direction: "in", state: "failed", done: 0, total: 0, messages: pointed.messages, reason: "failed" });
      } finally {
        if (this.historyIn === abort) this.historyIn = null;
      }
    })().catch((error: unknown) => this.warn("history state", error));
  }

  /**
   * A new device is done with an archive (imported, or the person skipped it): `then` (in the same
   * transaction) and a sync that tells the primary, which deletes it at the relay.
   */
  private async doneWith(accounts: Address[], blobId: string, then: () => Promise<void>): Promise<void> {
    const { db } = this.ctx;
    const now = this.ctx.now();
    await db.transaction("rw", [db.meta, ...syncTables(db)], async () => {
      await then();
      await queueHistoryDone(db, accounts[0], blobId, now);
    });
    this.poke();
  }

  /**
   * The primary: the archives my linked devices are done with (and only those I uploaded) go from the relay,
   * each with the photos and files uploaded with it. What could not be deleted now is tried again at the next
   * look, and at the latest after a wait that grows with each failure (`ARCHIVE_DELETE_RETRY_MS`).
   */
  private async deleteDoneArchives(): Promise<void> {
    const { db } = this.ctx;
    const done = await blobList<string>(db, HISTORY_DONE_KEY);
    if (done.length === 0 || !this.loggedIn) return;
    const uploads = await blobList<HistoryUpload>(db, HISTORY_UPLOADS_KEY);
    const finished = new Set<string>();
    /** Media still on the relay of an archive not finished yet. */
    const left = new Map<string, MediaBlob[]>();
    const deleted = async (b: MediaBlob): Promise<boolean> => {
      try {
        await request(this.ctx.socket(), EVENTS.blobDelete, { from: b.from, id: b.blobId });
        return true;
      } catch (error) {
        // gone already (expired): nothing to do; anything else is tried again at the next look
        if (error instanceof ProtocolError && error.code === "not_found") return true;
        this.warn("history archive not deleted", error);
        return false;
      }
    };
    for (const blobId of done) {
      const upload = uploads.find((u) => u.blobId === blobId);
      if (upload) {
        const media = [...(upload.media ?? [])];
        while (media.length > 0 && (await deleted(media[0]))) media.shift();
        if (media.length > 0 || !(await deleted({ blobId, from: upload.from }))) {
          left.set(blobId, media);
          continue;
        }
      }
      finished.add(blobId);
    }
    this.deleteRetryAfter(left.size > 0);
    await db.transaction("rw", db.meta, async () => {
      const stay = (await blobList<string>(db, HISTORY_DONE_KEY)).filter((b) => !finished.has(b));
      await db.meta.put({ key: HISTORY_DONE_KEY, value: stay });
      const kept = (await blobList<HistoryUpload>(db, HISTORY_UPLOADS_KEY)).filter((u) => !finished.has(u.blobId)).map((u) => (left.has(u.blobId) ? { ...u, media: left.get(u.blobId) } : u));
      await db.meta.put({ key: HISTORY_UPLOADS_KEY, value: kept });
    });
  }

  /** Arms the next look after a failed deletion (the wait grows with each failure in a row), or resets it. */
  private deleteRetryAfter(failed: boolean): void {
    if (!failed) {
      this.deleteFailures = 0;
      return;
    }
    if (this.deleteRetryTimer || this.stopped) return;
    const wait = ARCHIVE_DELETE_RETRY_MS[Math.min(this.deleteFailures++, ARCHIVE_DELETE_RETRY_MS.length - 1)];
    this.deleteRetryTimer = setTimeout(() => {
      this.deleteRetryTimer = null;
      this.historyCheck();
    }, wait);
  }

  /**
   * A new device: an archive whose photos and files all came (or failed, or were refused as altered, or
   * their message was deleted) is reported done, so the primary deletes it and them at the relay.
   */
  private async mediaSettled(): Promise<void> {
    const { db } = this.ctx;
    for (const wait of await historyMediaWait(db)) {
      const rows = await db.transfers.bulkGet(wait.ids);
      if (rows.some((r) => r?.state === "queued" || r?.state === "downloading")) continue;
      await this.doneWith(wait.accounts, wait.blobId, async () => {
        await db.meta.put({ key: HISTORY_MEDIA_KEY, value: (await historyMediaWait(db)).filter((w) => w.blobId !== wait.blobId) });
      });
    }
  }

  /** The primary: my linked devices that asked for the history again get it (a device not on my list, nothing). */
  private async answerAsks(): Promise<void> {
    const { db } = this.ctx;
    const asks = await db.transaction("rw", db.meta, async () => {
      const held = await historyAsks(db);
      if (held.length > 0) await db.meta.delete(HISTORY_ASK_KEY);
      return held;
    });
    if (asks.length === 0) return;
    const targets: HistoryAsk[] = [];
    const names: string[] = [];
    for (const ask of asks) {
      const mine = this.accounts.get(ask.our);
      if (!mine || !sameBytes(mine.keys.publicKey, mine.account.identityKey)) continue;
      const list = await db.deviceLists.get(ask.our);
      if (!list?.devices.some((d) => d.deviceId === ask.device) || ask.device === mine.deviceId) continue;
      targets.push(ask);
      names.push(list.names?.[ask.device] ?? "");
    }
    if (targets.length === 0) return;
    const accounts = [...new Set(targets.map((t) => t.our))];
    // photos and files go by the link's default rule, unless the relay refused them the last time or the
    // device already had an archive with them (it may not read them, or not finish their downloads)
    const last = await historyProgress(db);
    const refused = last?.direction === "out" && last.state === "failed" && (last.reason === "quota" || last.reason === "too_many");
    const sentBefore = new Set(await mediaSentTo(db));
    const media = !refused && !targets.some((t) => sentBefore.has(t.device)) && mediaByDefault(await heldMediaSize(db, accounts, this.ctx.now()));
    const link = { from: accounts[0], accounts, peer: names.find((n) => n) ?? "your other device", wanted: true, media };
    void offerHistory(this.ctx, this.blobAccess(), link, (offer, mediaBlobs) => this.sendOffer(targets, offer, undefined, mediaBlobs)).catch((error: unknown) => this.warn("history transfer failed", error));
  }

  /** The primary's offer to a linked device: over the link channel when there is one, and as a sync to that device (kept by the relay). */
  private async sendOffer(targets: { our: Address; device: string }[], offer: HistoryOffer, viaLink?: (offer: HistoryOffer) => Promise<void>, media: MediaBlob[] = []): Promise<void> {
    const { db } = this.ctx;
    if (viaLink) await viaLink(offer).catch((error: unknown) => this.warn("history offer not sent over the link", error));
    const now = this.ctx.now();
    await db.transaction("rw", [db.meta, ...syncTables(db)], async () => {
      // the archives I uploaded: deleted at the relay once the device says it is done with one
      if (offer.t === "history" && targets[0]) {
        const uploads = await blobList<HistoryUpload>(db, HISTORY_UPLOADS_KEY);
        await db.meta.put({ key: HISTORY_UPLOADS_KEY, value: [...uploads, { blobId: offer.blobId, from: targets[0].our, ...(media.length > 0 ? { media } : {}) }].slice(-MAX_HISTORY_BLOBS) });
        if (media.length > 0) {
          const sent = new Set([...(await mediaSentTo(db)), ...targets.map((t) => t.device)]);
          await db.meta.put({ key: HISTORY_MEDIA_SENT_KEY, value: [...sent].slice(-MAX_HISTORY_BLOBS) });
        }
      }
      for (const t of targets) await queueSync(db, [t.our], [{ t: "history", device: t.device, offer, at: now }], now);
    });
    this.poke();
  }

  private blobAccess(): BlobAccess {
    return { baseUrl: this.opts.blobs?.baseUrl ?? "", fetch: this.opts.blobs?.fetch };
  }

  /**
   * The primary, step one: opens the link with the device that shows `code` and returns its name; the
   * link goes on once the person answers (confirmLink), within LINK_STEP_MS.
   */
  async linkDevice(params: { code: string }): Promise<{ name: string; linkId: string; media: { count: number; bytes: number } }> {
    await this.loginRun;
    const mine = [...this.accounts.values()].map((m) => ({ account: m.account, keys: m.keys, deviceId: m.deviceId }));
    await refuseOverLimit(this.ctx.db, mine.map((m) => m.account.address));
    // what "Include photos and files" would send: those of the accounts this device can link (it holds their key)
    const primaries = mine.filter((m) => sameBytes(m.keys.publicKey, m.account.identityKey)).map((m) => m.account.address);
    const { count, bytes } = await heldMediaSize(this.ctx.db, primaries, this.ctx.now());
    let named!: (value: { name: string; linkId: string }) => void;
    const asked = new Promise<{ name: string; linkId: string }>((resolve) => (named = resolve));
    const linkId = randomId();
    const finished = linkDevice(this.ctx, this.provisions, mine, params.code, (name) => {
      const answer = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.pendingLinks.delete(linkId);
          resolve(false);
        }, LINK_STEP_MS);
        this.pendingLinks.set(linkId, { answer: (yes) => (clearTimeout(timer), resolve(yes)), finished: Promise.resolve(null) });
      });
      named({ name, linkId });
      return answer;
    });
    finished.catch(() => undefined);
    const res = await Promise.race([asked, finished.then(() => ({ name: "", linkId: "" }))]);
    const pending = this.pendingLinks.get(linkId);
    if (pending) pending.finished = finished;
    return { ...res, media: { count, bytes } };
  }

  /** The primary, step two: the person confirmed (or not) the new device's name. */
  async confirmLink(params: { linkId: string; confirm: boolean; history?: boolean; media?: boolean }): Promise<{ linked: boolean }> {
    const pending = this.pendingLinks.get(params.linkId);
    if (!pending) throw new EngineError("not_found", "no such link in progress");
    this.pendingLinks.delete(params.linkId);
    pending.answer(params.confirm);
    try {
      const linked = await pending.finished;
      if (linked) {
        // in the background: the dialog shows its progress from the meta table
        const link = { from: linked.accounts[0], accounts: linked.accounts, peer: linked.name, wanted: params.history !== false, media: params.media === true };
        void offerHistory(this.ctx, this.blobAccess(), link, (offer, media) => this.sendOffer(linked.devices, offer, (o) => linked.offer(o), media)).catch((error: unknown) => this.warn("history transfer failed", error));
      }
      // the new device (and my others) learn the names this one knows, the new device's among them
      await announceDeviceNames(this.ctx.db, this.ctx.now()).catch((error: unknown) => this.warn("device names not synced", error));
      this.poke();
      return { linked: true };
    } catch (error) {
      if (error instanceof LinkCancelled) return { linked: false };
      throw error;
    }
  }

  /** The primary: removes a linked device from my accounts. */
  async removeDevice(params: { deviceId: string }): Promise<null> {
    await this.loginRun;
    await removeDevice(this.ctx, [...this.accounts.values()], params.deviceId);
    return null;
  }

  /** This device was removed from an account (checked against the account key): it wipes itself. */
  private async onRemoved(payload: unknown): Promise<void> {
    try {
      const wiped = await removedHere(this.ctx, payload, (address) => this.accounts.get(address)?.deviceId);
      if (!wiped) return;
      this.ctx.log.warn("this device was removed from its accounts: wiped", {});
      this.accounts = new Map();
      this.loggedIn = false;
    } catch (error) {
      this.warn("device removal failed", error);
    }
  }

  async lookup(address: Address): Promise<{ identityKey: Uint8Array } | null> {
    await this.loginRun;
    try {
      const res = await request(this.ctx.socket(), EVENTS.lookup, { address });
      return { identityKey: fromB64(res.identityKey) };
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
      await runMaintenance(this.ctx).catch((error: unknown) => this.warn("maintenance failed", error));
      this.maintenanceTimer ??= setInterval(() => {
        if (this.loggedIn && !this.stopped) void runMaintenance(this.ctx).catch((error: unknown) => this.warn("maintenance failed", error));
      }, MAINTENANCE_INTERVAL_MS);
      for (const [address, mine] of this.accounts) {
        await ensureMyDeviceList(this.ctx, address as Address, mine.deviceId, mine.keys).catch((error: unknown) => this.warn("device list upkeep failed", error));
      }
      for (const address of this.accounts.keys()) {
        await maintainPrekeys(this.ctx, address as Address).catch((error: unknown) => this.warn("prekey upkeep failed", error));
      }
      // the relay pushes the backlog by itself after login, one delivery window at a time
      this.poke();
      // archives to delete, asks to answer, a kept offer to go on with
      this.historyCheck();
    } catch (error) {
      this.warn("login failed", error);
    }
  }

  private async login(): Promise<boolean> {
    this.loggedIn = false;
    const devices = await this.loadAccounts();
    if (this.accounts.size === 0) return false;
    // one login per relay device: each account is its own device (older accounts may share one)
    const served = new Set<string>();
    for (const device of new Map([...devices.values()].map((d) => [d.deviceId, d])).values()) {
      const deviceId = device.deviceId;
      const { nonce } = await request(this.ctx.socket(), EVENTS.challenge, { deviceId });
      const signing = performance.now();
      const signature = signAuth(device.authPrivateKey, loginMessage(fromB64(nonce), deviceId));
      // on the way to the relay's first push: Diagnostics shows what it cost (the bench reads it)
      this.counters.bump("login_sign_ms", Math.round(performance.now() - signing));
      const res = await request(this.ctx.socket(), EVENTS.login, { deviceId, signature: toB64(signature) });
      for (const a of res.addresses) served.add(a);
    }
    const missing = [...this.accounts.keys()].filter((a) => !served.has(a));
    if (missing.length > 0) this.ctx.log.warn("relay does not know some accounts", { count: missing.length });
    this.loggedIn = true;
    return true;
  }

  /** Loads my accounts (with their keys and devices); returns each account's device row for the login. */
  private async loadAccounts(): Promise<Map<Address, DeviceRow>> {
    const { db } = this.ctx;
    const rows: AccountRow[] = await db.accounts.toArray();
    const devices = await devicesOf(db, rows.map((r) => r.address));
    const next = new Map<string, MyAccount>();
    for (const account of rows) {
      const keys = await db.identityKeys.get(account.address);
      const device = devices.get(account.address);
      if (keys && device) next.set(account.address, { account, keys, deviceId: device.deviceId });
    }
    this.accounts = next;
    return devices;
  }

  // ---- receiving ----

  /**
   * Each envelope of a push is checked on its own: one malformed envelope never drops the others of its
   * page. A malformed one that still names itself is acked (it can never become valid); one that does
   * not is only counted.
   */
  private onDeliver(payload: unknown): void {
    const page = DeliverPage.safeParse(payload);
    if (!page.success) {
      this.counters.bump("bad_delivery");
      return;
    }
    if (this.stopped) return;
    const malformed: EnvelopeRef[] = [];
    for (const raw of page.data.envelopes) {
      const env = schemas.Envelope.safeParse(raw);
      if (env.success) {
        this.inbox.push(env.data);
        continue;
      }
      this.counters.bump("bad_envelope");
      const named = raw as { to?: unknown; id?: unknown; fromDevice?: unknown };
      const ref = schemas.EnvelopeRef.safeParse({ to: named?.to, id: named?.id, fromDevice: named?.fromDevice });
      if (ref.success) malformed.push({ to: ref.data.to as Address, id: ref.data.id, ...(ref.data.fromDevice ? { fromDevice: ref.data.fromDevice } : {}) });
      else {
        // a sender device that is itself malformed: settle the id for every sender, as older relays did
        const bare = schemas.EnvelopeRef.safeParse({ to: named?.to, id: named?.id });
        if (bare.success) malformed.push({ to: bare.data.to as Address, id: bare.data.id });
      }
    }
    if (malformed.length > 0) {
      this.ctx.log.warn("malformed envelopes acked", { count: malformed.length });
      this.sendAck(malformed);
    }
    if (this.inboxWaiter && this.inbox.length >= this.inboxWaiter.size) this.inboxWaiter.resolve();
    this.scheduleReceive();
  }

  private scheduleReceive(): void {
    if (this.receiveScheduled || this.inbox.length === 0 || this.receiveRetryTimer) return;
    this.receiveScheduled = true;
    this.receiving = this.receiving.then(() => this.receiveQueued());
  }

  /**
   * Takes what has been delivered so far, batch by batch, until nothing is queued. A batch that throws
   * committed nothing and is not acked: it goes back to the head of the queue and is tried again after a
   * pause (storage full, the database closing). A batch that keeps failing for another reason is split so
   * that one bad envelope cannot hold the others; alone, it is acked and counted after the same attempts.
   */
  private async receiveQueued(): Promise<void> {
    try {
      while (this.inbox.length > 0 && !this.stopped) {
        const goOn = await this.ctx.sessions.run(() => this.receiveRun());
        if (this.pokeAfterReceive) {
          this.pokeAfterReceive = false;
          this.poke();
        }
        if (!goOn) return;
      }
    } finally {
      this.receiveScheduled = false;
    }
  }

  /**
   * Receives batch after batch while holding the session lock, as a pipeline: batch N+1 decrypts (with the
   * records batch N left in the carry, not with rows N's commit has not written yet) while N commits.
   * Commits run one at a time in delivery order, and a batch is acked only after its own commit. If a
   * commit fails, the batch decrypted after it is dropped unstored and both go back to the queue: the
   * next run reads the stored rows again. The lock is let go only once no commit is in flight (so a send
   * never reads a session row that is about to change), and as soon as that is so when a send waits.
   * Returns false when a failure stops receiving until the retry timer.
   */
  private async receiveRun(): Promise<boolean> {
    const carry = new ReceiveCarry();
    let inFlight: Committing | null = null;
    let first = true;
    carry.quiet = async () => {
      await inFlight?.commit.catch(() => undefined);
    };
    while (this.inbox.length > 0 && !this.stopped && !(inFlight && this.lock.contended)) {
      const size = this.receiveFailures >= BATCH_ATTEMPTS_BEFORE_SPLIT ? 1 : first ? FIRST_RECEIVE_BATCH : RECEIVE_BATCH;
      first = false;
      // while a commit runs, a fuller batch is worth waiting for: fewer, larger transactions
      if (inFlight && this.inbox.length < size) {
        await Promise.race([inFlight.commit.catch(() => undefined), this.inboxReaches(size)]);
        this.inboxWaiter = null;
        if (this.stopped || this.lock.contended) break;
      }
      const batch = this.inbox.splice(0, size);
      let decrypted: DecryptedBatch;
      try {
        decrypted = await decryptBatch(this.ctx, this.accounts, batch, this.recovery, carry);
      } catch (error) {
        // the batch in flight comes first: if its commit failed too, it is the one to blame
        const previous = inFlight as Committing | null;
        inFlight = null;
        return (previous ? await this.settle(previous, batch) : null) ?? this.receiveFailed(error, batch, []);
      }
      const previous = inFlight as Committing | null;
      inFlight = null;
      // if its commit failed, this batch was decrypted with states that never got stored: it is dropped
      // with it, and decrypted again on the retry
      const failed = previous ? await this.settle(previous, batch) : null;
      if (failed !== null) return failed;
      if (this.stopped) return false;
      if (decrypted.syncs.length > 0) this.historySyncSeen = true;
      const commit = commitBatch(this.ctx, this.accounts, decrypted);
      // awaited in the next turn or below; until then a rejection is not "unhandled"
      commit.catch(() => undefined);
      inFlight = { batch, commit };
    }
    // a send let in with envelopes still queued: the pipeline starts over after it
    if (this.inbox.length > 0 && !this.stopped) this.counters.bump("receive_yielded");
    const last = inFlight as Committing | null;
    return (last ? await this.settle(last) : null) ?? true;
  }

  /** Resolves once `size` envelopes wait in the inbox (or the engine stops). */
  private inboxReaches(size: number): Promise<void> {
    return new Promise((resolve) => {
      this.inboxWaiter = { size, resolve };
    });
  }

  /**
   * Waits for a commit: null once it is stored (and acked). If it failed, it goes back to the queue with
   * `dropped` (decrypted behind it) and the result is what receiveRun returns (false: receiving pauses).
   */
  private async settle(c: Committing, dropped: schemas.Envelope[] = []): Promise<boolean | null> {
    let outcome: BatchOutcome;
    try {
      outcome = await c.commit;
    } catch (error) {
      return this.receiveFailed(error, c.batch, dropped);
    }
    this.committed(outcome);
    return null;
  }

  /** A batch is stored: only now may the relay forget it. */
  private committed(outcome: BatchOutcome): void {
    this.receiveFailures = 0;
    this.counters.bump("stored", outcome.stored);
    for (const address of outcome.newDevicesOf) this.directory.invalidate(address);
    this.sendAck(outcome.acks, [outcome.ackRow]);
    if (outcome.expiresAt !== null) this.armSweep(outcome.expiresAt);
    // the receipts go once the run lets go of the session lock, not between its batches
    if (outcome.queued) this.pokeAfterReceive = true;
    if (outcome.transfers) this.transfers.kick();
    // a history offer for this device, or a linked device's ask, may have come with its syncs
    if (this.historySyncSeen) {
      this.historySyncSeen = false;
      this.historyCheck();
    }
    for (const address of outcome.prekeysUsedBy) {
      this.upkeep = this.upkeep.then(() => maintainPrekeys(this.ctx, address)).catch((error: unknown) => this.warn("prekey upkeep failed", error));
    }
  }

  /**
   * `failed` committed nothing (and `dropped`, decrypted after it, was never committed): both go back to
   * the head of the queue, unacked, and receiving pauses before trying again. True when receiving goes on
   * at once (a single envelope that keeps failing for a reason other than storage is given up on).
   */
  private receiveFailed(error: unknown, failed: schemas.Envelope[], dropped: schemas.Envelope[]): boolean {
    if (this.stopped) return false;
    this.receiveFailures += 1;
    this.counters.bump("receive_transient");
    // decrypted behind a commit that failed: their states were never stored, so they are decrypted again
    if (dropped.length > 0) this.counters.bump("receive_redone", dropped.length);
    this.warn("receive failed, will retry", error);
    // storage or the relay saying "not now" is never the envelope's fault: it is never given up on
    const notNow = isTransientStorageError(error) || isTransientRelayError(error);
    if (!notNow && failed.length === 1 && this.receiveFailures >= 2 * BATCH_ATTEMPTS_BEFORE_SPLIT) {
      // alone and still failing for a reason that is not storage: it will never succeed
      this.counters.bump("receive_error");
      this.receiveFailures = 0;
      this.sendAck(failed.map((e) => ({ to: e.to as Address, id: e.id })));
      this.inbox.unshift(...dropped);
      return true;
    }
    this.inbox.unshift(...failed, ...dropped);
    const delay = RETRY_MS[Math.min(this.receiveFailures - 1, RETRY_MS.length - 1)];
    this.receiveRetryTimer = setTimeout(() => {
      this.receiveRetryTimer = null;
      this.scheduleReceive();
    }, delay);
    return false;
  }

  /**
   * Sends an ack at once: the relay deletes by id, so acks need no order, and one never waits for the
   * round trip (and pendingAcks write) of the one before. The relay pushes more only as acks come back,
   * so this is on the backlog's critical path. `acking` settles once every ack sent so far has.
   */
  private sendAck(refs: EnvelopeRef[], rows: string[] = []): void {
    const sent = this.ack(refs, rows).catch((error: unknown) => this.warn("ack failed", error));
    this.acking = Promise.all([this.acking, sent]).then(() => undefined);
  }

  /**
   * Acks go out only after the commit; what could not be acked stays in pendingAcks (`rows`, which owe
   * exactly `refs`) and is sent again at login. The pages of one batch are acked side by side, so a merged
   * batch costs one round trip, not several.
   */
  private async ack(refs: EnvelopeRef[], rows: string[] = []): Promise<void> {
    const chunks: EnvelopeRef[][] = [];
    for (let i = 0; i < refs.length; i += MAX_ENVELOPES_PER_DELIVERY) chunks.push(refs.slice(i, i + MAX_ENVELOPES_PER_DELIVERY));
    const results = await Promise.allSettled(chunks.map(async (chunk) => request(this.ctx.socket(), EVENTS.ack, { envelopes: chunk })));
    const left: EnvelopeRef[] = [];
    results.forEach((result, i) => {
      if (result.status === "fulfilled") return;
      left.push(...chunks[i]);
      if (!(result.reason instanceof OfflineError)) this.warn("ack failed", result.reason);
    });
    if (rows.length > 0 && left.length < refs.length) await this.forgetOwedAcks(rows, left);
  }

  /** Drops the pendingAcks rows of an ack; what it could not ack (`left`) stays owed, in one row. */
  private async forgetOwedAcks(rows: string[], left: EnvelopeRef[]): Promise<void> {
    const { db } = this.ctx;
    await db.transaction("rw", db.pendingAcks, async () => {
      await db.pendingAcks.bulkDelete(rows);
      if (left.length > 0) await db.pendingAcks.put({ key: `batch:${randomId()}`, envelopes: left });
    });
  }

  private async flushOwedAcks(): Promise<void> {
    const owed = await this.ctx.db.pendingAcks.toArray();
    if (owed.length > 0) await this.ack(owed.flatMap(owedEnvelopes), owed.map((row) => row.key));
  }

  // ---- sending ----

  /**
   * Sends what is queued. Every conversation is its own queue in `seq` order: a row that must wait (backoff
   * after a transient failure, or a safety number to accept) holds the rows of its conversation only, and
   * the others go on. Offline stops the drain; login pokes it again.
   */
  private async drain(): Promise<void> {
    try {
      while (this.drainRequested && this.loggedIn && !this.stopped) {
        this.drainRequested = false;
        const receiptsDue = this.receipts.due(this.ctx.now());
        const blocked = new Set<string>();
        let earliest = Infinity;
        let after = -1;
        for (;;) {
          const rows = await this.ctx.db.outbox.where("seq").above(after).limit(OUTBOX_PAGE).toArray();
          if (rows.length === 0) break;
          for (const row of rows) {
            after = row.seq ?? after;
            if (!this.loggedIn || this.stopped) return;
            if (blocked.has(row.conversationId)) continue;
            if (row.notBefore !== undefined && row.notBefore > this.ctx.now()) {
              blocked.add(row.conversationId);
              earliest = Math.min(earliest, row.notBefore);
              continue;
            }
            // a receipt waits for the backlog being received (receiptHold.ts); the run's end drains again
            if (row.kind === "receipt" && !receiptsDue && this.receipts.waits(this.receivingBacklog(), this.ctx.now())) {
              this.pokeAfterReceive = true;
              continue;
            }
            const outcome = await sendOutboxRow(this.ctx, this.directory, (address) => this.accounts.get(address)?.deviceId, row);
            if (outcome === "offline") return;
            // an attachment still uploading: its message goes when the upload ends, the rows after it now
            if (outcome === "uploading") continue;
            // a durable message reached the mailbox of every device: typing's gap there closes
            if (outcome === "sent" && (row.kind === "message" || row.kind === "change") && !row.onlyDevice) this.typing.durableSent(row.conversationId);
            if (outcome === "retry" || outcome === "held") {
              blocked.add(row.conversationId);
              if (outcome === "retry") {
                const fresh = row.seq === undefined ? undefined : await this.ctx.db.outbox.get(row.seq);
                if (fresh?.notBefore !== undefined) earliest = Math.min(earliest, fresh.notBefore);
              }
              continue;
            }
            this.retries = 0;
          }
        }
        if (earliest < Infinity) this.scheduleRetryAt(earliest);
      }
    } catch (error) {
      this.warn("outbox drain failed", error);
      this.scheduleRetry();
    }
  }

  /** Envelopes are queued to be received, and receiving is not paused after a failure. */
  private receivingBacklog(): boolean {
    return this.receiveScheduled && this.inbox.length > 0 && this.receiveRetryTimer === null && !this.stopped;
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const delay = RETRY_MS[Math.min(this.retries, RETRY_MS.length - 1)];
    this.retries += 1;
    this.scheduleRetryAt(this.ctx.now() + delay);
  }

  /** Pokes the drain at `at` (the earliest row waiting for its backoff), unless an earlier poke is set. */
  private scheduleRetryAt(at: number): void {
    if (this.stopped) return;
    if (this.retryTimer && this.retryAt <= at) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.poke();
    }, Math.max(0, at - this.ctx.now()));
  }

  private warn(event: string, error: unknown): void {
    this.ctx.log.warn(event, {
      name: error instanceof Error ? error.name : "unknown",
      code: typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : "",
    });
  }

  /** Storage, socket and locks, for the group actions (lib/engine/groups). */
  get context(): EngineContext {
    return this.ctx;
  }

  requireAccount(address: string): MyAccount {
    const mine = this.accounts.get(address);
    if (!mine) throw new EngineError("not_found", "not one of my accounts");
    return mine;
  }
}

/** Why a link failed, in the words the new device's screen picks from. */
function linkFailure(error: unknown): LinkFailure {
  if (error instanceof LinkRefused) return "cancelled";
  if (error instanceof EngineError && error.code === "offline") return "expired";
  if (error instanceof EngineError && error.code === "bad_request") return "refused";
  return "failed";
}

/** A fifth linked device is refused before the new device is even asked for its name. */
async function refuseOverLimit(db: JunctionDB, addresses: Address[]): Promise<void> {
  const lists = await db.deviceLists.bulkGet(addresses);
  if (lists.some((row) => row !== undefined && row.devices.length > MAX_LINKED_DEVICES)) {
    throw new EngineError("bad_request", `you have ${MAX_LINKED_DEVICES} linked devices already, the most an account can have: remove one to link another`);
  }
}
