// Receive → decrypt → store, for one batch of envelopes. Decryption runs on copies of the session records
// in memory; the new states, the messages, conversation rows, contacts, identities, owed receipts,
// placeholders, decryption-error requests and the owed relay acks then commit in ONE transaction. The
// caller sends the relay ack only after that commit, so a crash at any point either redelivers (and
// dedupes) or loses nothing.
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
import type { AccountRow, IdentityKeyRow, DeviceRow, MessageRow, OutboxRow, PendingAckRow, BaseKeyRow, WaitingRow } from "../store/db";
import { conversationId } from "../store/db";
import { prekeyKey, randomId, selfQueue, sessionKey } from "../store/ids";
import { observeIdentity, sameBytes } from "../store/identities";
import { ensureConversation, putMessagesOnce, advanceState, upsertContact } from "../store/conversations";
import { queueReceipt } from "../store/outbox";
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
import { decodeContent, type TextContent, type UnknownContent } from "./content/envelope";
import { applyRecordWrites, loadRecords, recordWrites, type LiveRecord, type RecordKey } from "./records";
import { decodeDecryptionError, DECRYPTION_ERROR_FRAME, MAX_IDS_PER_REQUEST, REQUESTS_PER_DEVICE, SESSION_RESET_INTERVAL_MS, WindowLimiter } from "./recovery";
import { envelopeId } from "./envelopes";

export interface MyAccount {
  account: AccountRow;
  keys: IdentityKeyRow;
}

interface IncomingText {
  our: Address;
  their: Address;
  payload: TextContent;
  direction: "in" | "out";
  from: Address;
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
  acks: PendingAckRow[];
  stored: number;
  /** Addresses that wrote from a device we had no session with: their device lists are stale. */
  newDevicesOf: Set<Address>;
  /** My accounts that used up one-time prekeys in this batch: time to check the relay's stock. */
  prekeysUsedBy: Set<Address>;
  /** Outbox rows were added (receipts, resends, requests): the outbox should drain. */
  queued: boolean;
}

/** State that outlives one batch: how often we asked each device, and reset sessions with it. */
export class RecoveryLimits {
  readonly requests = new WindowLimiter(REQUESTS_PER_DEVICE.count, REQUESTS_PER_DEVICE.windowMs);
  readonly resets = new WindowLimiter(1, SESSION_RESET_INTERVAL_MS);
}

const WAITING_PREFIX = "wait:";
const UNKNOWN_PREFIX = "unknown:";

export async function receiveBatch(
  ctx: EngineContext,
  device: DeviceRow,
  accounts: Map<string, MyAccount>,
  envelopes: schemas.Envelope[],
  limits: RecoveryLimits = new RecoveryLimits(),
): Promise<BatchOutcome> {
  const { db, counters } = ctx;
  const now = ctx.now();
  const usedPrekeys = new Set<string>();
  const baseKeys: BaseKeyRow[] = [];
  const identities: { our: Address; their: Address; key: Uint8Array }[] = [];
  const texts: IncomingText[] = [];
  const unknowns: IncomingUnknown[] = [];
  const receipts: { our: Address; their: Address; ids: string[] }[] = [];
  const failures: Failure[] = [];
  const retryReplies: { id: string; from: Address; fromDevice: string; outcome: "drop" | "gone" }[] = [];
  const requests: { our: Address; from: Address; fromDevice: string; ids: string[] }[] = [];
  const newDevicesOf = new Set<Address>();
  const prekeysUsedBy = new Set<Address>();
  const acks: PendingAckRow[] = envelopes.map((e) => ({ key: `${e.to}|${e.id}`, to: e.to as Address, id: e.id }));
  // the last identity key seen per peer in this batch: a backlog from one sender is one observation
  const lastIdentity = new Map<string, Uint8Array>();

  // every session record the batch needs, in two reads instead of two per envelope
  const wanted = new Map<string, RecordKey>();
  for (const env of envelopes) {
    wanted.set(sessionKey(env.to, env.from, env.fromDevice), { our: env.to as Address, their: env.from as Address, device: env.fromDevice });
  }
  const live = await loadRecords(ctx, [...wanted.values()]);
  // placeholders are rare: only a batch that could replace one pays for looking
  const waiting = (await db.waiting.count()) > 0 ? new Map((await db.waiting.toArray()).map((w) => [w.envelopeId, w])) : null;

  for (const env of envelopes) {
    const to = env.to as Address;
    const from = env.from as Address;
    const mine = accounts.get(to);
    if (!mine || env.toDevice !== device.deviceId || (from === to && env.fromDevice === device.deviceId)) {
      counters.bump("misrouted");
      continue;
    }
    const body = fromB64(env.body);
    if (body[0] === DECRYPTION_ERROR_FRAME) {
      const ids = decodeDecryptionError(body);
      if (ids) requests.push({ our: to, from, fromDevice: env.fromDevice, ids });
      else counters.bump("bad_request_frame");
      continue;
    }
    const session = live.get(sessionKey(to, from, env.fromDevice)) as LiveRecord;
    let result: Awaited<ReturnType<typeof decryptRecord>>;
    try {
      result = await decryptRecord({
        record: session.record,
        ourIdentity: { publicKey: mine.keys.publicKey, privateKey: mine.keys.privateKey },
        ourAddress: to,
        theirAddress: from,
        ciphertext: body,
        prekeys: prekeyStore(ctx, to, usedPrekeys, baseKeys),
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
    if (from === to && !sameBytes(result.theirIdentityKey, mine.account.identityKey)) {
      counters.bump("forged");
      continue;
    }
    if (!session.record.current && session.record.archived.length === 0) newDevicesOf.add(from);
    session.record = result.record;
    session.dirty = true;
    if (result.openedIn !== "current") session.archiveDirty = true;
    if (result.openedIn === "archived") counters.bump("opened_in_archive");
    if (result.replayGuard) baseKeys.push(baseKeyRow(to, result.replayGuard, now));
    if (result.usedOneTimePrekeyId !== undefined) {
      usedPrekeys.add(prekeyKey(to, "onetime", result.usedOneTimePrekeyId));
      prekeysUsedBy.add(to);
    }
    if (result.usedKemOneTimePrekeyId !== undefined) {
      usedPrekeys.add(prekeyKey(to, "kemOneTime", result.usedKemOneTimePrekeyId));
      prekeysUsedBy.add(to);
    }
    if (from !== to) {
      const peer = `${to}|${from}`;
      const seen = lastIdentity.get(peer);
      if (!seen || !sameBytes(seen, result.theirIdentityKey)) {
        lastIdentity.set(peer, result.theirIdentityKey);
        identities.push({ our: to, their: from, key: result.theirIdentityKey });
      }
    }

    const content = decodeContent(result.plaintext);
    if (content.type === "text") {
      if (from === to) {
        // a copy of what I wrote on another device: it belongs to my conversation with content.to
        if (!content.to || content.to === to) {
          counters.bump("bad_payload");
          continue;
        }
        texts.push({ our: to, their: content.to as Address, payload: content, direction: "out", from });
      } else {
        texts.push({ our: to, their: from, payload: content, direction: "in", from });
      }
    } else if (content.type === "receipt") {
      if (from !== to) receipts.push({ our: to, their: from, ids: content.ids });
    } else if (content.type === "retryReply") {
      for (const id of content.notMessages) retryReplies.push({ id, from, fromDevice: env.fromDevice, outcome: "drop" });
      for (const id of content.unavailable) retryReplies.push({ id, from, fromDevice: env.fromDevice, outcome: "gone" });
    } else {
      counters.bump("unsupported_content");
      const their = from === to ? content.to : from;
      if (!their || their === to) {
        // a copy from my other device of a kind this build cannot place in any conversation
        counters.bump("unsupported_unplaced");
        continue;
      }
      unknowns.push({ our: to, their: their as Address, content, direction: from === to ? "out" : "in", envelope: env });
    }
  }

  // Decryption-error requests from my peers: start over with that device (at most once a minute) and send
  // again what I sent that device, if I still hold it. The record may be in this batch already.
  const resetKeys: RecordKey[] = [];
  for (const r of requests) {
    const key = sessionKey(r.our, r.from, r.fromDevice);
    if (!live.has(key)) resetKeys.push({ our: r.our, their: r.from, device: r.fromDevice });
  }
  if (resetKeys.length > 0) for (const [k, v] of await loadRecords(ctx, resetKeys)) live.set(k, v);
  const sentRows = requests.length > 0 ? await db.sentLog.bulkGet(requests.flatMap((r) => r.ids)) : [];
  const resends: OutboxRow[] = [];
  const replies: OutboxRow[] = [];
  let sentIndex = 0;
  for (const r of requests) {
    counters.bump("retry_request_received");
    const deviceKey = sessionKey(r.our, r.from, r.fromDevice);
    if (limits.resets.take(deviceKey, now)) {
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
      if (sent.to !== r.from || sent.toDevice !== r.fromDevice || !sent.conversationId.startsWith(`${r.our}|`)) continue;
      if (sent.kind === "receipt") {
        notMessages.push(id);
        continue;
      }
      resends.push({
        kind: "message",
        conversationId: sent.conversationId,
        messageId: sent.messageId,
        onlyDevice: { address: r.from, deviceId: r.fromDevice },
        retryOf: id,
        createdAt: now,
        attempts: 0,
      });
      counters.bump("resend_queued");
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

  // Placeholders and requests for what did not open: one request per sending device for the whole batch.
  const placeholders: MessageRow[] = [];
  const placeholderPeers: { our: Address; their: Address }[] = [];
  const waitingRows: WaitingRow[] = [];
  const asks = new Map<string, { our: Address; from: Address; fromDevice: string; ids: string[] }>();
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
      createdAt: now,
      attempts: 0,
    });
    counters.bump("retry_requested");
  }

  // Messages that replace a placeholder: the resend names the envelope, and a first try's envelope id
  // follows from the message id, so either finds it.
  const replaced: WaitingRow[] = [];
  if (waiting) {
    for (const t of texts) {
      const candidates = [t.payload.retryOf, envelopeId(t.payload.id, t.our, device.deviceId)];
      for (const id of candidates) {
        const w = id ? waiting.get(id) : undefined;
        if (w && w.from === t.from && w.conversationId === conversationId(t.our, t.their)) {
          replaced.push(w);
          waiting.delete(w.envelopeId);
        }
      }
    }
  }

  // answers to my requests: a placeholder that stood for no message goes; one the sender no longer holds says so
  const settled: { w: WaitingRow; outcome: "drop" | "gone" }[] = [];
  if (waiting) {
    for (const r of retryReplies) {
      const w = waiting.get(r.id);
      if (w && w.from === r.from && w.fromDevice === r.fromDevice) {
        settled.push({ w, outcome: r.outcome });
        waiting.delete(r.id);
      }
    }
  }

  const writes = recordWrites(live.values(), now);
  let storedCount = 0;
  await db.transaction(
    "rw",
    [db.sessions, db.archivedSessions, db.prekeys, db.baseKeys, db.identities, db.conversations, db.messages, db.contacts, db.outbox, db.pendingAcks, db.waiting],
    async () => {
      await applyRecordWrites(db, writes);
      if (usedPrekeys.size) await db.prekeys.bulkDelete([...usedPrekeys]);
      if (baseKeys.length) await db.baseKeys.bulkPut(baseKeys);
      for (const i of identities) await observeIdentity(db, i.our, i.their, i.key, now);
      if (replaced.length) {
        await db.messages.bulkDelete(replaced.map((w) => w.messageId));
        await db.waiting.bulkDelete(replaced.map((w) => w.envelopeId));
        counters.bump("recovered", replaced.length);
        ctx.log.info("waiting messages recovered", { count: replaced.length });
      }
      for (const { w, outcome } of settled) {
        if (outcome === "drop") await db.messages.delete(w.messageId);
        else await db.messages.update(w.messageId, { kind: "undecryptable" });
        await db.waiting.delete(w.envelopeId);
      }
      if (settled.length) counters.bump("waiting_settled", settled.length);
      const rows: MessageRow[] = [];
      const names = new Map<Address, string>();
      const ensured = new Set<string>();
      const ensure = async (our: Address, their: Address) => {
        const convId = conversationId(our, their);
        if (!ensured.has(convId)) {
          await ensureConversation(db, our, their, now);
          ensured.add(convId);
        }
        return convId;
      };
      for (const t of texts) {
        const convId = await ensure(t.our, t.their);
        rows.push({
          id: t.payload.id,
          conversationId: convId,
          direction: t.direction,
          text: t.payload.text,
          sentAt: t.payload.sentAt,
          receivedAt: now,
          state: t.direction === "in" ? "delivered" : "sent",
          sentToRelayAt: t.direction === "out" ? now : null,
          deliveredAt: null,
        });
        if (t.direction === "in" && t.payload.senderName) names.set(t.their, t.payload.senderName);
      }
      for (const u of unknowns) {
        const convId = await ensure(u.our, u.their);
        rows.push({
          id: u.content.id ?? UNKNOWN_PREFIX + u.envelope.id,
          conversationId: convId,
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
      for (const p of placeholderPeers) await ensure(p.our, p.their);
      // a sender's clock decides order inside a conversation, but not how far up the inbox it jumps
      const fresh = await putMessagesOnce(db, [...rows, ...placeholders], (m) => (m.direction === "in" ? now : Math.min(now, m.sentAt)));
      storedCount = fresh.filter((m) => m.kind !== "waiting").length;
      const freshIds = new Set(fresh.map((m) => m.id));
      const newWaiting = waitingRows.filter((w) => freshIds.has(w.messageId));
      if (newWaiting.length) await db.waiting.bulkPut(newWaiting);
      for (const [address, name] of names) await upsertContact(db, address, name, now);
      const owed = new Map<string, string[]>();
      for (const m of fresh) {
        if (m.direction !== "in" || m.kind === "waiting") continue;
        const ids = owed.get(m.conversationId);
        if (ids) ids.push(m.id);
        else owed.set(m.conversationId, [m.id]);
      }
      for (const r of receipts) {
        const convId = conversationId(r.our, r.their);
        for (const id of r.ids) await advanceState(db, id, convId, "delivered", now);
      }
      for (const [convId, ids] of owed) {
        for (let i = 0; i < ids.length; i += 500) await queueReceipt(db, convId, ids.slice(i, i + 500), now);
      }
      if (resends.length || replies.length || requestRows.length) await db.outbox.bulkAdd([...resends, ...replies, ...requestRows]);
      await db.pendingAcks.bulkPut(acks);
    },
  );
  return {
    acks,
    stored: storedCount,
    newDevicesOf,
    prekeysUsedBy,
    queued: storedCount > 0 || resends.length > 0 || replies.length > 0 || requestRows.length > 0,
  };
}

function baseKeyRow(address: Address, g: ReplayGuard, now: number): BaseKeyRow {
  return { key: baseKeyId(address, g), address, signedPrekeyId: g.signedPrekeyId, kemPrekeyId: g.kemPrekeyId, at: now };
}

function baseKeyId(address: Address, g: ReplayGuard): string {
  return `${address}|${g.signedPrekeyId}|${g.kemPrekeyId}|${toB64(g.baseKey)}`;
}

/**
 * Prekeys of one account, read from storage. A one-time prekey used earlier in this batch is gone
 * already, and a base key remembered earlier in this batch counts as used.
 */
function prekeyStore(ctx: EngineContext, address: Address, used: Set<string>, remembered: BaseKeyRow[]): PrekeyStore {
  return {
    async signedPrekey(id) {
      const row = await getPrekey(ctx.db, address, "signed", id);
      return row ? deserializeSignedPrekey(row.record) : undefined;
    },
    async oneTimePrekey(id) {
      if (used.has(prekeyKey(address, "onetime", id))) return undefined;
      const row = await getPrekey(ctx.db, address, "onetime", id);
      return row ? deserializeOneTimePrekey(row.record) : undefined;
    },
    async kemPrekey(id) {
      const row = await getPrekey(ctx.db, address, "kem", id);
      return row ? deserializeKemPrekey(row.record) : undefined;
    },
    async kemOneTimePrekey(id) {
      if (used.has(prekeyKey(address, "kemOneTime", id))) return undefined;
      const row = await getPrekey(ctx.db, address, "kemOneTime", id);
      return row ? deserializeKemPrekey(row.record) : undefined;
    },
    async isBaseKeyUsed(g) {
      const key = baseKeyId(address, g);
      if (remembered.some((r) => r.key === key)) return true;
      return (await ctx.db.baseKeys.get(key)) !== undefined;
    },
  };
}
