// Receive → decrypt → store, for one batch of envelopes, in two steps. decryptBatch runs on copies of the
// session records in memory (a ReceiveCarry, which the next batch decrypts with while this one commits) and
// stores nothing; commitBatch then writes the new states, the messages, conversation rows, contacts,
// identities, owed receipts, placeholders, decryption-error requests and the owed relay acks in ONE
// transaction. The caller sends the relay ack only after that commit, so a crash at any point either
// redelivers (and dedupes) or loses nothing.
//
// Every failure has one defined outcome:
// - a duplicate (a redelivery, a replay): acked, nothing shown;
// - a message that does not open (forged, a lost or corrupt session, a peer that started over): acked, a
//   "Waiting for this message…" placeholder in its conversation, and a decryption-error request to the
//   sending device, which starts a fresh session and sends it again (the placeholder is then replaced);
// - content this build does not understand: stored as "needs a newer version", never dropped;
// - anything else (storage, quota, a worker shutting down): thrown, so nothing is committed or acked and
//   the caller retries the batch.
import type { Address } from "./deps";
import type { AccountRow, JunctionDB, AttachmentKeyRow, DeviceListRow, ContactRow, ConversationRow, IdentityKeyRow, IdentityRow, EnvelopeRef, MessageRow, OutboxRow, BaseKeyRow, HeldGroupRow, PendingChangeRow, QuoteRef, SentRow, TransferRow, WaitingRow } from "../store/db";
import { conversationId, HELD_GROUP_MAX, PENDING_CHANGES_MAX } from "../store/db";
import { identityId, prekeyKey, randomId, selfQueue, sessionKey } from "../store/ids";
import { identityAfter, sameBytes } from "../store/identities";
import { contactAfter, newConversation, putMessagesOnce, advanceState, markIncomingRead, markListened, markMemberReceipt } from "../store/conversations";
import { queueReceipt } from "../store/outbox";
import { incomingTransfer, mediaTables } from "../store/media";
import { attachmentInfo, attachmentKeyRow, blobBytes } from "./attachments/content";
import { getPrekey } from "../store/keys";
import {
  archiveCurrent,
  CryptoError,
  decryptRecord,
  deserializeKemPrekey,
  deserializeOneTimePrekey,
  deserializeSignedPrekey,
  type PrekeyStore,
  type ReplayGuard,
} from "../crypto";
import { fromB64, toB64, type schemas } from "./deps";
import type { EngineContext } from "./context";
import { decodeContent, parseContent, type ChangeContent, type MessageContent, type UnknownContent } from "./content/envelope";
import { applyChange, kindOf } from "./content/registry";
import type { ChangeScope, IncomingChange } from "./content/change";
import { MAX_QUOTE_CHARS } from "./content/kinds/text";
import type { ReceiptContent } from "./content/kinds/receipt";
import { getSettings } from "../store/settings";
import { boundToTransaction } from "../store/transactions";
import { applyRecordWrites, loadRecords, readOutsideTransactions, takeRecordWrites, type LiveRecord, type RecordKey, type RecordWrites } from "./records";
import { decodeDecryptionError, DECRYPTION_ERROR_FRAME, MAX_IDS_PER_REQUEST, REQUESTS_PER_DEVICE, SESSION_RESET_INTERVAL_MS, WindowLimiter } from "./recovery";
import { envelopeId } from "./envelopes";
import { Slicer } from "./yielding";
import { commitGroups, GroupBatch, type OpenedGroupMessage } from "./groups/service";
import { GROUP_FRAME, groupConversationId, groupRowId } from "./groups/state";
import { admitHeld, nowKnown, unknownHeldBy } from "./groups/held";
import type { GroupContent } from "./content/registry";
import { fetchDeviceList, isListRefusal, listedKey } from "./deviceLists";
import type { SyncContent } from "./content/kinds/sync";
import { applyHeld, applySync, readOnArrival, syncApplyTables } from "./sync/apply";

export interface MyAccount {
  account: AccountRow;
  keys: IdentityKeyRow;
  /** The relay device this account receives on. */
  deviceId: string;
}

interface IncomingText {
  our: Address;
  their: Address;
  payload: MessageContent;
  direction: "in" | "out";
  from: Address;
  /** A group's conversation (a sender-key message): `their` is then the member who wrote it. */
  conv?: string;
}

/** The conversation a text goes to. */
function convOf(t: { our: Address; their: Address; conv?: string }): string {
  return t.conv ?? conversationId(t.our, t.their);
}

/** A change (reaction, edit, delete, timer) as received, with the device it came from. */
interface ReceivedChange {
  change: IncomingChange<ChangeContent>;
  from: Address;
}

interface IncomingReceipt {
  our: Address;
  their: Address;
  kind: ReceiptContent["kind"];
  ids: string[];
  at?: number;
  /** For my messages in this group. */
  groupId?: string;
}

interface IncomingUnknown {
  our: Address;
  their: Address;
  content: UnknownContent;
  direction: "in" | "out";
  envelope: schemas.Envelope;
}

interface Failure {
  our: Address;
  from: Address;
  fromDevice: string;
  envelope: schemas.Envelope;
}

export interface BatchOutcome {
  /** Every envelope of the batch: stored, or dropped on purpose. All are owed an ack. */
  acks: EnvelopeRef[];
  /** The pendingAcks row that holds them until the relay has them. */
  ackRow: string;
  stored: number;
  /** Addresses that wrote from a device we had no session with: their device lists are stale. */
  newDevicesOf: Set<Address>;
  /** My accounts that used up one-time prekeys in this batch: time to check the relay's stock. */
  prekeysUsedBy: Set<Address>;
  /** Outbox rows were added (receipts, resends, requests): the outbox should drain. */
  queued: boolean;
  /** The earliest expiry among the messages stored (disappearing), or null. */
  expiresAt: number | null;
  /** Attachments arrived that fetch themselves: the transfer runner has work. */
  transfers: boolean;
}

/** State that outlives one batch: how often we asked each device, and reset sessions with it. */
export class RecoveryLimits {
  readonly requests = new WindowLimiter(REQUESTS_PER_DEVICE.count, REQUESTS_PER_DEVICE.windowMs);
  readonly resets = new WindowLimiter(1, SESSION_RESET_INTERVAL_MS);
}

/**
 * What one batch's decryption leaves for the next while commits are in flight: the session records as the
 * batches before it left them (the next batch decrypts with those, never with rows a commit has not
 * written yet), and the one-time prekeys and base keys they used. It is only good while the session lock
 * is held throughout and every earlier commit succeeds; otherwise it is dropped and a fresh one reads the
 * stored rows again.
 */
export class ReceiveCarry {
  readonly live = new Map<string, LiveRecord>();
  /** One-time prekeys used by batches decrypted with this carry: gone, whatever storage still says. */
  readonly usedPrekeys = new Set<string>();
  /** Base keys those batches remembered: used, whatever storage says. */
  readonly baseKeys = new Set<string>();
  /**
   * Resolves once no earlier batch's commit is running. Decryption reads storage (session rows it does not
   * hold, prekeys, the sent log) only after it, so that no read ever runs beside a commit's transaction.
   */
  quiet: () => Promise<void> = () => Promise.resolve();
}

/** A decrypted batch, held in memory until its commit: nothing of it is stored yet. */
export interface DecryptedBatch {
  readonly now: number;
  readonly acks: EnvelopeRef[];
  readonly writes: RecordWrites;
  readonly usedPrekeys: string[];
  readonly baseKeys: BaseKeyRow[];
  readonly identities: { our: Address; their: Address; key: Uint8Array }[];
  readonly texts: IncomingText[];
  readonly unknowns: IncomingUnknown[];
  readonly changes: ReceivedChange[];
  readonly receipts: IncomingReceipt[];
  /** Messages of mine read on another of my devices. */
  readonly readElsewhere: { our: Address; their: Address; ids: string[]; at: number }[];
  /** Syncs from my own other devices, in the order they came. */
  readonly syncs: { our: Address; content: SyncContent }[];
  /** My other devices heard from in this batch: the relay's time of each one's newest envelope (`address|device`). */
  readonly seen: Map<string, number>;
  readonly retryReplies: { id: string; from: Address; fromDevice: string; outcome: "drop" | "gone" }[];
  readonly placeholders: MessageRow[];
  readonly placeholderPeers: { our: Address; their: Address }[];
  readonly waitingRows: WaitingRow[];
  /** Resends, answers to requests and my own requests, in that order. */
  readonly outbox: OutboxRow[];
  readonly newDevicesOf: Set<Address>;
  readonly prekeysUsedBy: Set<Address>;
  /** Group messages to hold for their sender key, and held ones that opened (their keys). */
  readonly held: HeldGroupRow[];
  readonly released: string[];
  /** Group rows, sender keys and membership lines this batch changed (groups/service.ts). */
  readonly groups: ReturnType<GroupBatch["writes"]>;
}

/**
 * The checked device lists of a batch's senders, read in one go; a sender device that is not on the list
 * held fetches the account's list again (once per batch): a device linked since. The fetched list is
 * stored (public data) even though the batch itself commits later.
 */
class SenderLists {
  private rows: Promise<Map<string, DeviceListRow | undefined>> | undefined;
  /** The lookups started for senders with a device not on the list held, by sender (at most one each). */
  private readonly fetches = new Map<string, Promise<DeviceListRow | undefined>>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly envelopes: schemas.Envelope[],
  ) {}

  private read(): Promise<Map<string, DeviceListRow | undefined>> {
    this.rows ??= (async () => {
      const senders = [...new Set(this.envelopes.map((e) => e.from as Address))];
      const found = await this.ctx.db.deviceLists.bulkGet(senders);
      return new Map(senders.map((a, i) => [a, found[i]]));
    })();
    return this.rows;
  }

  /**
   * Starts reading the lists held, then asks the relay for those that lack a device of the batch, while the
   * batch decrypts: the lookups' round trips overlap the decryption instead of following its first message.
   * Not awaited: failures surface only where `accountKeyFor` needs the answer, as without this.
   */
  prefetch(): void {
    const started = this.read().then((rows) => {
      for (const env of this.envelopes) {
        const from = env.from as Address;
        if (!listedKey(rows.get(from), env.fromDevice)) void this.fetch(from);
      }
    });
    started.catch(() => undefined);
  }

  private fetch(from: Address): Promise<DeviceListRow | undefined> {
    let pending = this.fetches.get(from);
    if (!pending) {
      pending = fetchDeviceList(this.ctx, from).catch((error: unknown) => {
        // only a list that is refused or absent means "not listed"; anything else (offline, a relay error,
        // storage) is not the message's fault: the batch is tried again, never acked and dropped
        if (!isListRefusal(error)) throw error;
        this.ctx.log.warn("sender's device list refused", { error: error instanceof Error ? error.name : "unknown" });
        return undefined;
      });
      // awaited where a message needs it; one nobody needs must not be an unhandled rejection
      pending.catch(() => undefined);
      this.fetches.set(from, pending);
    }
    return pending;
  }

  /** The account key of `from` if `device` is on its list with `identityKey`, else undefined. */
  async accountKeyFor(from: Address, device: string, identityKey: Uint8Array): Promise<Uint8Array | undefined> {
    const rows = await this.read();
    let row = rows.get(from);
    if (!listedKey(row, device)) {
      const fetched = await this.fetch(from);
      if (fetched) {
        row = fetched;
        rows.set(from, row);
      }
    }
    const key = listedKey(row, device);
    return row && key && sameBytes(key, identityKey) ? row.accountKey : undefined;
  }
}

const WAITING_PREFIX = "wait:";
const UNKNOWN_PREFIX = "unknown:";

/**
 * Decrypts a batch with the records of `carry` (reading the ones it lacks), and leaves the advanced
 * records there for the next batch. Stores nothing. Throws only for what is not the message's fault.
 */
export async function decryptBatch(
  ctx: EngineContext,
  accounts: Map<string, MyAccount>,
  envelopes: schemas.Envelope[],
  limits: RecoveryLimits,
  carry: ReceiveCarry,
): Promise<DecryptedBatch> {
  const { db, counters } = ctx;
  const now = ctx.now();
  const usedPrekeys: string[] = [];
  const baseKeys: BaseKeyRow[] = [];
  const identities: { our: Address; their: Address; key: Uint8Array }[] = [];
  const texts: IncomingText[] = [];
  const unknowns: IncomingUnknown[] = [];
  const changes: ReceivedChange[] = [];
  const receipts: IncomingReceipt[] = [];
  const readElsewhere: DecryptedBatch["readElsewhere"] = [];
  const syncs: DecryptedBatch["syncs"] = [];
  const seen = new Map<string, number>();
  const failures: Failure[] = [];
  const retryReplies: DecryptedBatch["retryReplies"] = [];
  const requests: { our: Address; from: Address; fromDevice: string; ids: string[]; senderKeys: string[] }[] = [];
  // group messages that came before their sender key or their group (held, then opened when it comes)
  const held: { row: HeldGroupRow; known: boolean }[] = [];
  const newDevicesOf = new Set<Address>();
  const prekeysUsedBy = new Set<Address>();
  // naming the sender: another sender may have chosen the same id, and its envelope is not ours to settle
  const acks: EnvelopeRef[] = envelopes.map((e) => ({ to: e.to as Address, id: e.id, fromDevice: e.fromDevice }));
  // the last identity key seen per peer in this batch: a backlog from one sender is one observation
  const lastIdentity = new Map<string, Uint8Array>();
  const live = carry.live;
  // identity keys seen in this batch, for checking the group changes that come with them
  const seenKeys = new Map<string, Uint8Array>();
  const groups = new GroupBatch(ctx, () => carry.quiet(), seenKeys, (our) => accounts.get(our)?.account.identityKey);
  const placeGroup = (to: Address, from: Address, opened: OpenedGroupMessage) => {
    const content = opened.content;
    const placement = content.type === "unknown" ? "unknown" : kindOf(content.type)?.placement;
    const direction = from === to ? "out" : "in";
    if (placement === "message") texts.push({ our: to, their: from, payload: content as MessageContent, direction, from, conv: opened.conversationId });
    else if (placement === "change" && (content as ChangeContent).type !== "timer") {
      changes.push({ change: { our: to, their: from, direction, content: content as ChangeContent, conv: opened.conversationId }, from });
    } else counters.bump("group_content_dropped");
  };

  // every session record the batch needs that the carry lacks, in two bulk reads
  const wanted = new Map<string, RecordKey>();
  for (const env of envelopes) {
    const key = sessionKey(env.to, env.from, env.fromDevice);
    if (!live.has(key)) wanted.set(key, { our: env.to as Address, their: env.from as Address, device: env.fromDevice });
  }
  if (wanted.size > 0) {
    await carry.quiet();
    for (const [k, v] of await loadRecords(ctx, [...wanted.values()])) live.set(k, v);
  }
  // the senders' checked device lists: a message counts only from a device on its account's list
  const senderLists = new SenderLists(ctx, envelopes);
  senderLists.prefetch();
  // one store per account for the whole batch (what it reads waits for quiet storage)
  const stores = new Map<string, PrekeyStore>();
  // the commit in flight and the relay's acks and pushes get a turn every few milliseconds
  const slicer = new Slicer();

  for (const env of envelopes) {
    if (slicer.due()) await slicer.yield();
    const to = env.to as Address;
    const from = env.from as Address;
    const mine = accounts.get(to);
    if (!mine || env.toDevice !== mine.deviceId || (from === to && env.fromDevice === mine.deviceId)) {
      counters.bump("misrouted");
      continue;
    }
    const body = fromB64(env.body);
    if (body[0] === DECRYPTION_ERROR_FRAME) {
      const asked = decodeDecryptionError(body);
      if (asked) requests.push({ our: to, from, fromDevice: env.fromDevice, ids: asked.envelopeIds, senderKeys: asked.senderKeys });
      else counters.bump("bad_request_frame");
      continue;
    }
    if (body[0] === GROUP_FRAME) {
      // a sender-key message: one body for every member device, opened with the sender device's chain
      const opened = await groups.open(to, from, env.fromDevice, body);
      if (opened === "duplicate") counters.bump("duplicate");
      if (typeof opened === "string") continue;
      if ("held" in opened) {
        held.push({ row: { key: `${to}|${env.fromDevice}|${env.id}`, ourAddress: to, groupId: opened.held, envelopeId: env.id, from, fromDevice: env.fromDevice, body: env.body, ts: env.ts, receivedAt: now }, known: opened.known });
        continue;
      }
      placeGroup(to, from, opened);
      continue;
    }
    const session = live.get(sessionKey(to, from, env.fromDevice)) as LiveRecord;
    let prekeys = stores.get(to);
    if (!prekeys) {
      prekeys = prekeyStore(ctx, to, carry);
      stores.set(to, prekeys);
    }
    let result: Awaited<ReturnType<typeof decryptRecord>>;
    try {
      result = await decryptRecord({
        record: session.record,
        ourIdentity: { publicKey: mine.keys.publicKey, privateKey: mine.keys.privateKey },
        ourAddress: to,
        theirAddress: from,
        ciphertext: body,
        prekeys,
        now,
      });
    } catch (error) {
      // not a CryptoError: storage or the platform failed, not the message; nothing is committed or acked
      if (!(error instanceof CryptoError)) throw error;
      if (error.code === "duplicate") {
        counters.bump("duplicate");
        continue;
      }
      counters.bump("undecryptable");
      ctx.log.warn("message did not decrypt", { code: error.code });
      failures.push({ our: to, from, fromDevice: env.fromDevice, envelope: env });
      continue;
    }
    // written by a device the account's list does not name (with this identity key): not the account's;
    // for a copy of "my own" message, that is a forgery
    const accountKey = await senderLists.accountKeyFor(from, env.fromDevice, result.theirIdentityKey);
    if (!accountKey || (from === to && !sameBytes(accountKey, mine.account.identityKey))) {
      counters.bump(from === to ? "forged" : "unlisted_device");
      continue;
    }
    if (!session.record.current && session.record.archived.length === 0) newDevicesOf.add(from);
    // another device of mine, heard from ("last active" in Settings → Linked devices)
    if (from === to) seen.set(`${to}|${env.fromDevice}`, Math.max(seen.get(`${to}|${env.fromDevice}`) ?? 0, env.ts));
    session.record = result.record;
    session.dirty = true;
    if (result.openedIn !== "current") session.archiveDirty = true;
    if (result.openedIn === "archived") counters.bump("opened_in_archive");
    if (result.replayGuard) {
      const row = baseKeyRow(to, result.replayGuard, now);
      baseKeys.push(row);
      carry.baseKeys.add(row.key);
    }
    if (result.usedOneTimePrekeyId !== undefined) {
      const key = prekeyKey(to, "onetime", result.usedOneTimePrekeyId);
      usedPrekeys.push(key);
      carry.usedPrekeys.add(key);
      prekeysUsedBy.add(to);
    }
    if (result.usedKemOneTimePrekeyId !== undefined) {
      const key = prekeyKey(to, "kemOneTime", result.usedKemOneTimePrekeyId);
      usedPrekeys.push(key);
      carry.usedPrekeys.add(key);
      prekeysUsedBy.add(to);
    }
    if (from !== to) {
      const peer = `${to}|${from}`;
      const seen = lastIdentity.get(peer);
      // safety numbers are the account key's, whichever of the account's devices wrote
      if (!seen || !sameBytes(seen, accountKey)) {
        lastIdentity.set(peer, accountKey);
        // group changes are signed with the account key: they are checked against it
        seenKeys.set(peer, accountKey);
        identities.push({ our: to, their: from, key: accountKey });
      }
    }

    // dispatched on where the kind goes (registry.ts), not on the kind itself
    const content = decodeContent(result.plaintext);
    const placement = content.type === "unknown" ? "unknown" : (kindOf(content.type)?.placement ?? "unknown");
    if (placement === "message" || placement === "change") {
      const durable = content as MessageContent | ChangeContent;
      // a copy of what I wrote on another device belongs to my conversation with `to`
      const their = from === to ? durable.to : from;
      if (!their || their === to) {
        counters.bump("bad_payload");
        continue;
      }
      const direction = from === to ? "out" : "in";
      if (placement === "message") texts.push({ our: to, their: their as Address, payload: durable as MessageContent, direction, from });
      else changes.push({ change: { our: to, their: their as Address, direction, content: durable as ChangeContent }, from });
    } else if (placement === "receipt") {
      const r = content as ReceiptContent;
      if (from !== to) receipts.push({ our: to, their: from, kind: r.kind, ids: r.ids, ...(r.at !== undefined ? { at: r.at } : {}), ...(r.groupId ? { groupId: r.groupId } : {}) });
      // my other device read these messages of `to`'s: they are read here too
      else if (r.kind === "read" && r.to && r.to !== to) readElsewhere.push({ our: to, their: r.to as Address, ids: r.ids, at: Math.min(r.at ?? now, now) });
    } else if (placement === "control") {
      if (content.type === "retryReply") {
        for (const id of content.notMessages) retryReplies.push({ id, from, fromDevice: env.fromDevice, outcome: "drop" });
        for (const id of content.unavailable) retryReplies.push({ id, from, fromDevice: env.fromDevice, outcome: "gone" });
      }
    } else if (placement === "group") {
      const g = content as GroupContent;
      if (g.type === "groupUpdate") await groups.update(to, from, g);
      else {
        await groups.distribution(to, from, env.fromDevice, g);
        // sent again because I asked: the placeholder its first envelope left (in our 1:1 conversation) goes
        if (g.retryOf) retryReplies.push({ id: g.retryOf, from, fromDevice: env.fromDevice, outcome: "drop" });
      }
    } else if (placement === "sync") {
      // my own other device's changes: only from my account (its device list and key were checked above);
      // a peer that sends one is refused and counted
      if (from === to) syncs.push({ our: to, content: content as SyncContent });
      else counters.bump("sync_refused");
    } else if (placement === "signal") {
      // ephemeral kinds never travel through the mailbox: one that does is dropped, nothing shows it
      counters.bump("signal_in_mailbox");
    } else {
      const unknown = content as UnknownContent;
      counters.bump("unsupported_content");
      const their = from === to ? unknown.to : from;
      if (!their || their === to) {
        // a copy from my other device of a kind this build cannot place in any conversation
        counters.bump("unsupported_unplaced");
        continue;
      }
      unknowns.push({ our: to, their: their as Address, content: unknown, direction: from === to ? "out" : "in", envelope: env });
    }
  }

  // Held group messages whose group or sender key came in this batch (or earlier in it) open now, in the
  // order they came; the rest stay held (a known group's get a placeholder and a request for the key).
  const released: string[] = [];
  const groupKnown: HeldGroupRow[] = [];
  if (groups.touched.size > 0 || held.length > 0) {
    const stored: HeldGroupRow[] = [];
    if (groups.touched.size > 0) {
      await carry.quiet();
      for (const id of groups.touched) {
        const [our, gid] = id.split("|");
        stored.push(...(await readOutsideTransactions(() => db.heldGroup.where("[ourAddress+groupId]").equals([our, gid]).toArray())));
      }
    }
    const fresh = held.filter((h) => groups.touched.has(`${h.row.ourAddress}|${h.row.groupId}`)).map((h) => h.row);
    const retry = [...stored.sort((x, y) => x.receivedAt - y.receivedAt || x.ts - y.ts), ...fresh];
    const opened = new Set<string>();
    const freshByKey = new Map(held.map((h) => [h.row.key, h]));
    for (const h of retry) {
      const result = await groups.open(h.ourAddress, h.from, h.fromDevice, fromB64(h.body));
      if (typeof result === "object" && "held" in result) {
        // its group came, its sender's key not yet: now it gets a placeholder and the key is asked for
        const fresh = freshByKey.get(h.key);
        if (fresh) fresh.known = result.known;
        else if (result.known && h.unknownGroup) groupKnown.push(nowKnown(h));
        continue;
      }
      opened.add(h.key);
      if (result === "duplicate") counters.bump("duplicate");
      if (typeof result === "string") continue;
      counters.bump("group_held_opened");
      placeGroup(h.ourAddress, h.from, result);
    }
    for (const h of stored) if (opened.has(h.key)) released.push(h.key);
    for (let i = held.length - 1; i >= 0; i--) if (opened.has(held[i].row.key)) held.splice(i, 1);
  }
  const heldRows: HeldGroupRow[] = [];
  const keyAsks = new Map<string, { our: Address; from: Address; fromDevice: string; groups: Set<string> }>();
  if (held.length > 0 || groupKnown.length > 0) {
    await carry.quiet();
    const room = HELD_GROUP_MAX - (await readOutsideTransactions(() => db.heldGroup.count()));
    const admitted = admitHeld(held, room, await readOutsideTransactions(() => unknownHeldBy(db, held)));
    if (admitted.full) counters.bump("group_held_full", admitted.full);
    if (admitted.unknownFull) counters.bump("group_held_unknown_full", admitted.unknownFull);
    held.splice(0, held.length, ...admitted.kept);
    for (const h of held) {
      heldRows.push(h.row);
      counters.bump(h.known ? "group_held" : "group_held_unknown");
    }
    held.push(...groupKnown.map((row) => ({ row, known: true })));
    heldRows.push(...groupKnown);
    for (const h of held) {
      if (!h.known) continue;
      const ask = keyAsks.get(sessionKey(h.row.ourAddress, h.row.from, h.row.fromDevice));
      if (ask) ask.groups.add(h.row.groupId);
      else keyAsks.set(sessionKey(h.row.ourAddress, h.row.from, h.row.fromDevice), { our: h.row.ourAddress, from: h.row.from, fromDevice: h.row.fromDevice, groups: new Set([h.row.groupId]) });
    }
  }

  // Decryption-error requests from my peers: start over with that device (at most once a minute) and send
  // again what I sent that device, if I still hold it. The record may be in the carry already.
  const resends: OutboxRow[] = [];
  const replies: OutboxRow[] = [];
  if (requests.length > 0) {
    await carry.quiet();
    const resetKeys: RecordKey[] = [];
    for (const r of requests) {
      const key = sessionKey(r.our, r.from, r.fromDevice);
      if (r.ids.length > 0 && !live.has(key) && !resetKeys.some((k) => sessionKey(k.our, k.their, k.device) === key)) resetKeys.push({ our: r.our, their: r.from, device: r.fromDevice });
    }
    if (resetKeys.length > 0) for (const [k, v] of await loadRecords(ctx, resetKeys)) live.set(k, v);
    const sentRows = await readOutsideTransactions(() => db.sentLog.bulkGet(requests.flatMap((r) => r.ids)));
    let sentIndex = 0;
    for (const r of requests) {
      counters.bump("retry_request_received");
      const deviceKey = sessionKey(r.our, r.from, r.fromDevice);
      // a request only for sender keys says nothing of our session: it is kept
      if (r.ids.length > 0 && limits.resets.take(deviceKey, now)) {
        const session = live.get(deviceKey) as LiveRecord;
        if (session.record.current) {
          session.record = archiveCurrent(session.record);
          session.dirty = true;
          session.archiveDirty = true;
          counters.bump("session_reset");
        }
      }
      const notMessages: string[] = [];
      const unavailable: string[] = [];
      for (const id of r.ids) {
        const sent = sentRows[sentIndex++];
        if (!sent) {
          unavailable.push(id);
          continue;
        }
        // only what was addressed to the device that asks, from the account it was sent to
        if (sent.to !== r.from || sent.toDevice !== r.fromDevice) continue;
        if (sent.kind === "sync" ? sent.conversationId !== selfQueue(r.our) : !sent.conversationId.startsWith(`${r.our}|`)) continue;
        if (sent.kind === "receipt") {
          notMessages.push(id);
          continue;
        }
        if (sent.kind === "senderKey") {
          // my sender key, as that device got it: sent again, naming the envelope it could not open
          // (no message was lost: its placeholder goes either way)
          if (sent.senderKey && (await asksAsMember(ctx, r, sent.senderKey.groupId))) {
            resends.push(senderKeyResend(sent, r, now, id));
            counters.bump("sender_key_resent");
          } else notMessages.push(id);
          continue;
        }
        resends.push({
          kind: sent.kind === "change" || sent.kind === "sync" ? sent.kind : "message",
          conversationId: sent.conversationId,
          messageId: sent.messageId,
          ...(sent.change !== undefined ? { change: sent.change } : {}),
          ...(sent.target !== undefined ? { target: sent.target } : {}),
          onlyDevice: { address: r.from, deviceId: r.fromDevice },
          retryOf: id,
          createdAt: now,
          attempts: 0,
        });
        counters.bump("resend_queued");
      }
      for (const gid of r.senderKeys) {
        const sent = await senderKeySent(ctx, r, gid);
        if (sent) {
          resends.push(senderKeyResend(sent, r, now));
          counters.bump("sender_key_resent");
        } else counters.bump("sender_key_not_held");
      }
      if (notMessages.length || unavailable.length) {
        replies.push({
          kind: "retryReply",
          conversationId: r.from === r.our ? selfQueue(r.our) : conversationId(r.our, r.from),
          messageId: randomId(),
          onlyDevice: { address: r.from, deviceId: r.fromDevice },
          envelopeIds: notMessages,
          unavailable,
          createdAt: now,
          attempts: 0,
        });
      }
    }
  }

  // Placeholders and requests for what did not open: one request per sending device for the whole batch.
  const placeholders: MessageRow[] = [];
  const placeholderPeers: { our: Address; their: Address }[] = [];
  const waitingRows: WaitingRow[] = [];
  const asks = new Map<string, { our: Address; from: Address; fromDevice: string; ids: string[]; groups?: Set<string> }>();
  for (const f of failures) {
    if (f.from !== f.our) {
      const convId = conversationId(f.our, f.from);
      const messageId = WAITING_PREFIX + f.envelope.id;
      placeholders.push({
        id: messageId,
        conversationId: convId,
        direction: "in",
        kind: "waiting",
        text: "",
        sentAt: f.envelope.ts,
        receivedAt: now,
        // not counted as unread: the message it stands for will be, when it comes
        state: "read",
        sentToRelayAt: null,
        deliveredAt: null,
      });
      placeholderPeers.push({ our: f.our, their: f.from });
      waitingRows.push({ envelopeId: f.envelope.id, messageId, conversationId: convId, from: f.from, fromDevice: f.fromDevice, createdAt: now });
    }
    const key = sessionKey(f.our, f.from, f.fromDevice);
    const ask = asks.get(key);
    if (ask) {
      if (ask.ids.length < MAX_IDS_PER_REQUEST) ask.ids.push(f.envelope.id);
    } else asks.set(key, { our: f.our, from: f.from, fromDevice: f.fromDevice, ids: [f.envelope.id] });
  }
  const heldByKey = new Map(held.map((h) => [h.row.key, h]));
  for (const h of heldRows) {
    if (!heldByKey.get(h.key)?.known) continue;
    const convId = groupConversationId(h.ourAddress, h.groupId);
    const messageId = WAITING_PREFIX + h.envelopeId;
    placeholders.push({ id: messageId, conversationId: convId, direction: "in", kind: "waiting", text: "", sentAt: h.ts, receivedAt: now, state: "read", sentToRelayAt: null, deliveredAt: null });
    waitingRows.push({ envelopeId: h.envelopeId, messageId, conversationId: convId, from: h.from, fromDevice: h.fromDevice, createdAt: now });
  }
  // sender keys for held group messages are asked of the same device in the same request
  for (const [key, k] of keyAsks) {
    const ask = asks.get(key);
    if (ask) ask.groups = k.groups;
    else asks.set(key, { our: k.our, from: k.from, fromDevice: k.fromDevice, ids: [], groups: k.groups });
  }
  const requestRows: OutboxRow[] = [];
  for (const [key, ask] of asks) {
    if (!limits.requests.take(key, now)) {
      counters.bump("retry_request_limited");
      continue;
    }
    requestRows.push({
      kind: "retryRequest",
      conversationId: ask.from === ask.our ? selfQueue(ask.our) : conversationId(ask.our, ask.from),
      messageId: randomId(),
      onlyDevice: { address: ask.from, deviceId: ask.fromDevice },
      envelopeIds: ask.ids,
      ...(ask.groups?.size ? { senderKeys: [...ask.groups] } : {}),
      createdAt: now,
      attempts: 0,
    });
    counters.bump(ask.ids.length ? "retry_requested" : "sender_key_requested");
  }

  return {
    now,
    acks,
    // serialised now: the next batch may advance these records before this commit runs
    writes: takeRecordWrites(live.values(), now),
    usedPrekeys,
    baseKeys,
    identities,
    texts,
    unknowns,
    changes,
    receipts,
    readElsewhere,
    syncs,
    seen,
    retryReplies,
    placeholders,
    placeholderPeers,
    waitingRows,
    outbox: [...resends, ...replies, ...requestRows],
    held: heldRows,
    released,
    newDevicesOf,
    prekeysUsedBy,
    groups: groups.writes(),
  };
}

/**
 * Commits a decrypted batch in ONE transaction: the new session states with the messages they opened,
 * conversation rows, contacts, identities, owed receipts, placeholders, outbox rows and the owed acks.
 * Commits run one at a time, in batch order.
 *
 * Inside the transaction only Dexie requests are awaited, and every loop awaits one per turn: Dexie keeps
 * its transaction across native awaits for a bounded number of microtask turns only (about 100), so a run
 * of awaits of plain promises (a loop over the messages awaiting a function that mostly has nothing to do)
 * silently moves the rest of the writes out of the transaction, which then commits early.
 */
export async function commitBatch(ctx: EngineContext, accounts: Map<string, MyAccount>, b: DecryptedBatch): Promise<BatchOutcome> {
  const { db, counters } = ctx;
  const now = b.now;
  let storedCount = 0;
  let replacedCount = 0;
  let settledCount = 0;
  let changedCount = 0;
  let expiresAt: number | null = null;
  let fetchNow = false;
  const scope: ChangeScope = {
    // set inside the transaction (bound to it): changes nest async functions
    db,
    now,
    refuse(kind, reason) {
      counters.bump("change_refused");
      ctx.log.warn("change refused", { kind, reason });
      return "refused";
    },
  };
  // one row owes the batch's acks (a row per envelope was an IndexedDB write, and a delete, per message)
  const ackRow = `batch:${randomId()}`;
  await db.transaction(
    "rw",
    [db.sessions, db.archivedSessions, db.prekeys, db.baseKeys, db.identities, db.conversations, db.messages, db.contacts, db.outbox, db.pendingAcks, db.waiting, db.meta, db.pendingChanges, db.groups, db.senderKeys, db.heldGroup, ...mediaTables(db), ...syncApplyTables(db)],
    async () => {
      // IndexedDB runs a transaction's requests in the order they were made, so the writes that depend on
      // no read go out at once and are awaited together at the end; the reads go out side by side. A batch
      // costs four round trips instead of one per step (each round trip waits for the worker's turn).
      scope.db = boundToTransaction(db);
      const writes: Promise<unknown>[] = [];
      // a failed write aborts the transaction, and the commit throws whichever await sees it first
      const issue = (write: Promise<unknown>) => {
        write.catch(() => {});
        writes.push(write);
      };
      issue(applyRecordWrites(db, b.writes));
      if (b.usedPrekeys.length) issue(db.prekeys.bulkDelete(b.usedPrekeys));
      if (b.baseKeys.length) issue(db.baseKeys.bulkPut(b.baseKeys));
      if (b.outbox.length) issue(db.outbox.bulkAdd(b.outbox));
      issue(db.pendingAcks.put({ key: ackRow, envelopes: b.acks }));
      if (b.held.length) issue(db.heldGroup.bulkPut(b.held));
      if (b.released.length) issue(db.heldGroup.bulkDelete(b.released));

      // every conversation a row goes to, and every contact a name comes with
      const peers = new Map<string, { our: Address; their: Address }>();
      // a timer line may be the first thing from someone; reactions, edits and deletes need their message here
      const timers = b.changes.filter((c) => c.change.content.type === "timer").map((c) => c.change);
      for (const p of [...b.texts.filter((t) => !t.conv), ...b.unknowns, ...b.placeholderPeers, ...timers]) {
        const convId = conversationId(p.our, p.their);
        if (!peers.has(convId)) peers.set(convId, { our: p.our, their: p.their });
      }
      const names = new Map<Address, string>();
      for (const t of b.texts) if (t.direction === "in" && t.payload.senderName) names.set(t.their, t.payload.senderName);
      for (const t of timers) if (t.direction === "in" && t.content.type === "timer" && t.content.senderName) names.set(t.their, t.content.senderName);
      const identityIds = [...new Set(b.identities.map((i) => identityId(i.our, i.their)))];
      const quoted = [...new Set(b.texts.flatMap((t) => (t.payload.replyTo ? [t.payload.replyTo.id] : [])))];
      const readReceipts = b.receipts.some((r) => r.kind !== "delivered");
      const [identityRows, convRows, contactRows, waitingCount, quotedRows, settings, pendingCount, heldSyncCount] = await Promise.all([
        identityIds.length ? db.identities.bulkGet(identityIds) : [],
        peers.size ? db.conversations.bulkGet([...peers.keys()]) : [],
        names.size ? db.contacts.bulkGet([...names.keys()]) : [],
        b.texts.length > 0 || b.changes.length > 0 || b.retryReplies.length > 0 ? db.waiting.count() : 0,
        quoted.length ? db.messages.bulkGet(quoted) : [],
        readReceipts ? getSettings(db) : null,
        b.texts.length > 0 || b.changes.length > 0 ? db.pendingChanges.count() : 0,
        b.texts.length > 0 || b.unknowns.length > 0 || b.groups.groups.length > 0 ? db.syncPending.count() : 0,
      ]);
      const quotes = new Map<string, MessageRow>();
      for (const m of quotedRows) if (m) quotes.set(m.id, m);

      // identities, observed in batch order (a key that changed within the batch is two observations)
      const identities = new Map(identityIds.map((id, i) => [id, identityRows[i]]));
      const identityPuts = new Map<string, IdentityRow>();
      for (const i of b.identities) {
        const id = identityId(i.our, i.their);
        const { row } = identityAfter(identities.get(id), i.our, i.their, i.key, now);
        if (row) {
          identities.set(id, row);
          identityPuts.set(id, row);
        }
      }
      if (identityPuts.size) issue(db.identities.bulkPut([...identityPuts.values()]));
      const contactPuts: ContactRow[] = [];
      [...names].forEach(([address, name], i) => {
        const row = contactAfter(contactRows[i], address, name, now);
        if (row) contactPuts.push(row);
      });
      if (contactPuts.length) issue(db.contacts.bulkPut(contactPuts));
      // conversations read (or created) once each; putMessagesOnce folds the messages into these rows
      const known = new Map<string, ConversationRow>();
      const created: ConversationRow[] = [];
      [...peers].forEach(([convId, p], i) => {
        let row = convRows[i];
        if (!row) {
          row = newConversation(p.our, p.their, now);
          created.push(row);
        }
        known.set(convId, row);
      });
      if (created.length) issue(db.conversations.bulkPut(created));
      // groups: their rows, sender keys and conversations (a group's conversation is made with the group)
      const groupConvIds = [...new Set([...b.texts.flatMap((t) => (t.conv ? [t.conv] : [])), ...b.placeholders.filter((m) => m.conversationId.includes("|group:")).map((m) => m.conversationId)])];
      if (b.groups.groups.length || b.groups.senderKeys.length || groupConvIds.length) {
        for (const row of await commitGroups(scope.db, b.groups, groupConvIds, now)) known.set(row.id, row);
      }

      // Placeholders this batch replaces or settles, read here: commits run in order, so this sees every
      // earlier batch's. A resend names the envelope; a first try's envelope id follows from the message id.
      if (waitingCount > 0) {
        const waiting = new Map((await db.waiting.toArray()).map((w) => [w.envelopeId, w]));
        const replaced: WaitingRow[] = [];
        const arrived = [
          ...b.texts.map((t) => ({ our: t.our, their: t.their, conv: t.conv, from: t.from, id: t.payload.id, retryOf: t.payload.retryOf })),
          ...b.changes.map((c) => ({ our: c.change.our, their: c.change.their, conv: c.change.conv, from: c.from, id: c.change.content.id, retryOf: c.change.content.retryOf })),
        ];
        for (const t of arrived) {
          const ourDevice = accounts.get(t.our)?.deviceId;
          const candidates = [t.retryOf, ourDevice ? envelopeId(t.id, t.our, ourDevice) : undefined];
          for (const id of candidates) {
            const w = id ? waiting.get(id) : undefined;
            if (w && w.from === t.from && w.conversationId === convOf(t)) {
              replaced.push(w);
              waiting.delete(w.envelopeId);
            }
          }
        }
        // answers to my requests: a placeholder that stood for no message goes; one the sender no longer holds says so
        const settled: { w: WaitingRow; outcome: "drop" | "gone" }[] = [];
        for (const r of b.retryReplies) {
          const w = waiting.get(r.id);
          if (w && w.from === r.from && w.fromDevice === r.fromDevice) {
            settled.push({ w, outcome: r.outcome });
            waiting.delete(r.id);
          }
        }
        if (replaced.length) {
          await db.messages.bulkDelete(replaced.map((w) => w.messageId));
          await db.waiting.bulkDelete(replaced.map((w) => w.envelopeId));
        }
        for (const { w, outcome } of settled) {
          if (outcome === "drop") await db.messages.delete(w.messageId);
          else await db.messages.update(w.messageId, { kind: "undecryptable" });
          await db.waiting.delete(w.envelopeId);
        }
        replacedCount = replaced.length;
        settledCount = settled.length;
      }

      const rows: MessageRow[] = [];
      // attachments: their keys and transfers are stored with the row, for the rows stored the first time
      const attachments = new Map<string, { keys: AttachmentKeyRow; transfer: TransferRow }>();
      for (const t of b.texts) {
        const replyTo = quoteOf(t, quotes);
        const timer = t.payload.expiresInMs ?? 0;
        const p = t.payload;
        const convId = convOf(t);
        if (p.type === "attachment") {
          const info = attachmentInfo(p);
          attachments.set(p.id, { keys: attachmentKeyRow(p), transfer: incomingTransfer(p.id, convId, info, blobBytes(p.size)) });
        }
        rows.push({
          id: p.id,
          conversationId: convId,
          direction: t.direction,
          author: t.direction === "in" ? t.their : t.our,
          ...(t.conv && t.direction === "in" && p.type === "text" && p.senderName ? { authorName: p.senderName } : {}),
          ...(p.type === "attachment" ? { kind: "attachment" as const, text: p.caption ?? "", attachment: attachmentInfo(p) } : { text: p.text }),
          sentAt: t.payload.sentAt,
          receivedAt: now,
          state: t.direction === "in" ? "delivered" : "sent",
          sentToRelayAt: t.direction === "out" ? now : null,
          deliveredAt: null,
          ...(replyTo ? { replyTo } : {}),
          ...(t.conv && p.type === "text" && p.mentions?.length ? { mentions: p.mentions as Address[] } : {}),
          // a peer's message disappears counting from when it reached me (my clock), mine from when I sent it
          ...(timer > 0 ? { expiresAt: (t.direction === "in" ? now : t.payload.sentAt) + timer } : {}),
        });
      }
      for (const u of b.unknowns) {
        rows.push({
          id: u.content.id ?? UNKNOWN_PREFIX + u.envelope.id,
          conversationId: conversationId(u.our, u.their),
          direction: u.direction,
          kind: "unsupported",
          content: u.content.raw,
          text: "",
          sentAt: u.content.sentAt ?? u.envelope.ts,
          receivedAt: now,
          state: u.direction === "in" ? "delivered" : "sent",
          sentToRelayAt: u.direction === "out" ? now : null,
          deliveredAt: null,
        });
      }
      rows.push(...b.placeholders, ...b.groups.lines);
      // a sender's clock decides order inside a conversation, but not how far up the inbox it jumps
      const fresh = await putMessagesOnce(db, rows, (m) => (m.direction === "in" ? now : Math.min(now, m.sentAt)), known);
      // receipts owed, per conversation (and, in a group, per author: each is told of its own messages)
      const owed = new Map<string, { convId: string; to?: Address; ids: string[] }>();
      const freshIds = new Set<string>();
      for (const m of fresh) {
        freshIds.add(m.id);
        if (m.expiresAt !== undefined) expiresAt = Math.min(expiresAt ?? Infinity, m.expiresAt);
        if (m.kind === "waiting") continue;
        storedCount += 1;
        if (m.direction !== "in" || m.kind === "group") continue;
        const inGroup = m.conversationId.includes("|group:");
        if (inGroup && !m.author) continue;
        const key = inGroup ? `${m.conversationId}\n${m.author}` : m.conversationId;
        const entry = owed.get(key);
        if (entry) entry.ids.push(m.id);
        else owed.set(key, { convId: m.conversationId, ...(inGroup ? { to: m.author } : {}), ids: [m.id] });
      }
      const newWaiting = b.waitingRows.filter((w) => freshIds.has(w.messageId));
      const keys: AttachmentKeyRow[] = [];
      const transfers: TransferRow[] = [];
      for (const [id, a] of attachments) {
        if (!freshIds.has(id)) continue;
        keys.push(a.keys);
        transfers.push(a.transfer);
        if (a.transfer.state === "queued") fetchNow = true;
      }
      if (keys.length) {
        issue(db.attachmentKeys.bulkPut(keys));
        issue(db.transfers.bulkPut(transfers));
      }
      if (newWaiting.length) issue(db.waiting.bulkPut(newWaiting));
      // a group message that mentions me: its conversation notifies even while muted, until it is read
      const mentioned = new Map<string, MessageRow>();
      for (const m of fresh) {
        if (m.direction !== "in" || !m.mentions?.length) continue;
        const conv = known.get(m.conversationId);
        const seen = mentioned.get(m.conversationId);
        if (conv && m.mentions.includes(conv.ourAddress) && (!seen || seen.sentAt < m.sentAt)) mentioned.set(m.conversationId, m);
      }
      for (const [convId, m] of mentioned) issue(db.conversations.update(convId, { mentionedIn: m.id }));
      if (mentioned.size) counters.bump("mentioned", mentioned.size);
      for (const { convId, to, ids } of owed.values()) {
        for (let i = 0; i < ids.length; i += 500) issue(queueReceipt(db, convId, ids.slice(i, i + 500), now, to));
      }
      await Promise.all(writes);
      // changes that came before the messages stored now: applied in the order they came
      if (pendingCount > 0 && freshIds.size > 0) {
        const held = (await scope.db.pendingChanges.where("target").anyOf([...freshIds]).toArray()).sort((x, y) => x.receivedAt - y.receivedAt);
        for (const p of held) {
          const content = parseContent(p.change);
          if (content.type === "reaction" || content.type === "edit" || content.type === "delete") {
            if ((await applyChange(scope, { our: p.ourAddress, their: p.theirAddress, direction: p.direction, content })) === "applied") changedCount += 1;
          }
        }
        if (held.length) {
          await scope.db.pendingChanges.bulkDelete(held.map((p) => p.id));
          counters.bump("change_released", held.length);
        }
      }
      // changes to earlier messages, in the order they came (one after another: each reads what it changes);
      // one whose message is not here waits for it
      let room = PENDING_CHANGES_MAX - pendingCount;
      for (const c of b.changes) {
        const outcome = await applyChange(scope, c.change);
        if (outcome === "applied") changedCount += 1;
        if (outcome !== "orphaned") continue;
        const held = heldChange(c.change, now);
        if (held && room > 0) {
          await scope.db.pendingChanges.put(held);
          room -= 1;
          counters.bump("change_held");
        } else {
          counters.bump("change_orphaned");
          ctx.log.info("change for a message not here dropped", { kind: c.change.content.type });
        }
      }
      // receipts for my messages: each reads its message first (rare in a backlog: one per batch of a chat)
      for (const r of b.receipts) {
        // read receipts off: I neither send them (nor listened ones) nor see theirs
        if (r.kind !== "delivered" && settings && !settings.readReceipts) {
          counters.bump("read_receipt_hidden");
          continue;
        }
        const at = r.kind !== "delivered" && r.at !== undefined ? Math.min(r.at, now) : now;
        if (r.groupId) {
          // one member's receipt for my group messages: counted only from a member of the group
          const group = await scope.db.groups.get(groupRowId(r.our, r.groupId));
          if (!group || !group.members.some((m) => m.address === r.their)) {
            counters.bump("group_receipt_refused");
            continue;
          }
          const others = group.members.map((m) => m.address).filter((a) => a !== r.our);
          for (const id of r.ids) await markMemberReceipt(scope.db, id, group.conversationId, r.their, r.kind === "delivered" ? "delivered" : "read", at, others);
          continue;
        }
        const convId = conversationId(r.our, r.their);
        for (const id of r.ids) {
          if (r.kind === "listened") await markListened(scope.db, id, convId, at);
          else await advanceState(scope.db, id, convId, r.kind, at);
        }
      }
      for (const r of b.readElsewhere) await markIncomingRead(scope.db, conversationId(r.our, r.their), r.ids, r.at);
      // my other devices: what they changed, and that they were heard from
      for (const s of b.syncs) {
        const counts = await applySync(scope.db, s.our, s.content, now);
        for (const [outcome, n] of Object.entries(counts)) if (n > 0) counters.bump(`sync_${outcome}`, n);
      }
      // what my other devices synced before it came here: a message deleted for me there goes in this very
      // commit (it never shows), a group conversation made now takes the pin, archive or mute set there
      if (heldSyncCount > 0) {
        const released = await applyHeld(scope.db, fresh, [...known.keys()]);
        if (released > 0) counters.bump("sync_released", released);
      }
      if (fresh.length) await readOnArrival(scope.db, fresh, now);
      if (b.seen.size) await noteSeen(scope.db, b.seen);
    },
  );
  if (replacedCount) {
    counters.bump("recovered", replacedCount);
    ctx.log.info("waiting messages recovered", { count: replacedCount });
  }
  if (settledCount) counters.bump("waiting_settled", settledCount);
  return {
    acks: b.acks,
    ackRow,
    stored: storedCount + changedCount,
    newDevicesOf: b.newDevicesOf,
    prekeysUsedBy: b.prekeysUsedBy,
    // a sync may queue one of its own (a new device tells the primary it is done with a skipped archive)
    queued: storedCount > 0 || b.outbox.length > 0 || b.syncs.length > 0,
    expiresAt,
    transfers: fetchNow,
  };
}

/** Records when my other devices were last heard from, on my device lists. */
async function noteSeen(db: JunctionDB, seen: Map<string, number>): Promise<void> {
  const byAddress = new Map<Address, [string, number][]>();
  for (const [key, at] of seen) {
    const cut = key.lastIndexOf("|");
    const address = key.slice(0, cut) as Address;
    byAddress.set(address, [...(byAddress.get(address) ?? []), [key.slice(cut + 1), at]]);
  }
  for (const [address, devices] of byAddress) {
    const row = await db.deviceLists.get(address);
    if (!row) continue;
    const next = { ...row.seen };
    for (const [device, at] of devices) next[device] = Math.max(next[device] ?? 0, at);
    await db.deviceLists.put({ ...row, seen: next });
  }
}

/** An orphaned change as it waits for its message (timers never wait: they name no message). */
function heldChange(c: IncomingChange<ChangeContent>, now: number): PendingChangeRow | undefined {
  if (c.content.type === "timer") return undefined;
  return {
    id: c.content.id,
    target: c.content.target,
    conversationId: conversationId(c.our, c.their),
    ourAddress: c.our,
    theirAddress: c.their,
    direction: c.direction,
    change: JSON.stringify(c.content),
    receivedAt: now,
  };
}

/**
 * The quote a reply shows. My own copy of the quoted message is believed over the sender's snapshot (a
 * peer cannot put words in my mouth by quoting a message of mine that says something else); the snapshot
 * is used only for a message I do not hold, and only when it names one of the two of us.
 */
function quoteOf(t: IncomingText, local: Map<string, MessageRow>): QuoteRef | undefined {
  const q = t.payload.replyTo;
  if (!q) return undefined;
  const mine = local.get(q.id);
  if (mine) {
    if (mine.conversationId !== convOf(t)) return undefined;
    const author = mine.author ?? (mine.direction === "in" ? t.their : t.our);
    if (mine.deletedAt !== undefined) return { id: q.id, author, text: "", deleted: true };
    return { id: q.id, author, text: mine.kind === undefined || mine.kind === "text" ? mine.text.slice(0, MAX_QUOTE_CHARS) : "" };
  }
  if (q.author !== t.our && q.author !== t.their) return undefined;
  return { id: q.id, author: q.author as Address, text: q.text };
}

function baseKeyRow(address: Address, g: ReplayGuard, now: number): BaseKeyRow {
  return { key: baseKeyId(address, g), address, signedPrekeyId: g.signedPrekeyId, kemPrekeyId: g.kemPrekeyId, at: now };
}

function baseKeyId(address: Address, g: ReplayGuard): string {
  return `${address}|${g.signedPrekeyId}|${g.kemPrekeyId}|${toB64(g.baseKey)}`;
}

/**
 * Prekeys of one account, read from storage once no commit is running. A one-time prekey used by a batch
 * of the carry is gone already, and a base key one of them remembered counts as used.
 */
function prekeyStore(ctx: EngineContext, address: Address, carry: ReceiveCarry): PrekeyStore {
  const read = async (kind: "signed" | "onetime" | "kem" | "kemOneTime", id: number) => {
    if ((kind === "onetime" || kind === "kemOneTime") && carry.usedPrekeys.has(prekeyKey(address, kind, id))) return undefined;
    await carry.quiet();
    return readOutsideTransactions(() => getPrekey(ctx.db, address, kind, id));
  };
  return {
    async signedPrekey(id) {
      const row = await read("signed", id);
      return row ? deserializeSignedPrekey(row.record) : undefined;
    },
    async oneTimePrekey(id) {
      const row = await read("onetime", id);
      return row ? deserializeOneTimePrekey(row.record) : undefined;
    },
    async kemPrekey(id) {
      const row = await read("kem", id);
      return row ? deserializeKemPrekey(row.record) : undefined;
    },
    async kemOneTimePrekey(id) {
      const row = await read("kemOneTime", id);
      return row ? deserializeKemPrekey(row.record) : undefined;
    },
    async isBaseKeyUsed(g) {
      const key = baseKeyId(address, g);
      if (carry.baseKeys.has(key)) return true;
      await carry.quiet();
      return (await readOutsideTransactions(() => ctx.db.baseKeys.get(key))) !== undefined;
    },
  };
}

/** The outbox row that sends my sender key again to the device that asked, as that device first got it. */
function senderKeyResend(sent: SentRow, r: { from: Address; fromDevice: string }, now: number, retryOf?: string): OutboxRow {
  return {
    kind: "senderKey",
    conversationId: sent.conversationId,
    messageId: randomId(),
    distribution: sent.senderKey,
    onlyDevice: { address: r.from, deviceId: r.fromDevice },
    ...(retryOf ? { retryOf } : {}),
    createdAt: now,
    attempts: 0,
  };
}

/** Whether the asking address is (still) a member of group `gid`, and I am too. */
async function asksAsMember(ctx: EngineContext, r: { our: Address; from: Address }, gid: string): Promise<boolean> {
  const group = await readOutsideTransactions(() => ctx.db.groups.get(groupRowId(r.our, gid)));
  return !!group && !group.left && (r.from === r.our || group.members.some((m) => m.address === r.from));
}

/**
 * The last distribution of my sender key in group `gid` that went to the asking device, if it is still a
 * member of that group and I am: a removed member, or a device that never got my key, gets nothing.
 */
async function senderKeySent(ctx: EngineContext, r: { our: Address; from: Address; fromDevice: string }, gid: string): Promise<SentRow | undefined> {
  if (!(await asksAsMember(ctx, r, gid))) return undefined;
  const conv = groupConversationId(r.our, gid);
  return readOutsideTransactions(() =>
    ctx.db.sentLog
      .orderBy("sentAt")
      .reverse()
      .filter((x) => x.kind === "senderKey" && x.conversationId === conv && x.to === r.from && x.toDevice === r.fromDevice && x.senderKey?.groupId === gid)
      .first(),
  );
}
