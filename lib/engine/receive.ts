// Receive → decrypt → store, for one batch of envelopes. Decryption runs on copies of the ratchet
// states in memory; the new states, the messages, conversation rows, contacts, identities, owed
// receipts and the owed relay acks then commit in ONE transaction. The caller sends the relay ack
// only after that commit, so a crash at any point either redelivers (and dedupes) or loses nothing.
import type { Address } from "./deps";
import type { AccountRow, IdentityKeyRow, DeviceRow, MessageRow, PendingAckRow, SessionRow } from "../store/db";
import { conversationId } from "../store/db";
import { sessionKey, prekeyKey } from "../store/ids";
import { sessionRow } from "../store/sessions";
import { observeIdentity, sameBytes } from "../store/identities";
import { ensureConversation, putMessagesOnce, advanceState, upsertContact } from "../store/conversations";
import { queueReceipt } from "../store/outbox";
import { getPrekey } from "../store/keys";
import {
  CryptoError,
  decrypt,
  deserializeKemPrekey,
  deserializeOneTimePrekey,
  deserializeSession,
  deserializeSignedPrekey,
  serializeSession,
  type PrekeyStore,
  type SessionState,
} from "../crypto";
import { fromB64, type schemas } from "./deps";
import type { EngineContext } from "./context";
import { decodePayload, type TextPayload } from "./payload";

export interface MyAccount {
  account: AccountRow;
  keys: IdentityKeyRow;
}

interface LiveSession {
  our: Address;
  their: Address;
  device: string;
  state: SessionState | undefined;
  dirty: boolean;
}

interface IncomingText {
  our: Address;
  their: Address;
  payload: TextPayload;
  direction: "in" | "out";
}

export interface BatchOutcome {
  /** Every envelope of the batch: stored, or dropped on purpose. All are owed an ack. */
  acks: PendingAckRow[];
  stored: number;
  /** Addresses that wrote from a device we had no session with: their device lists are stale. */
  newDevicesOf: Set<Address>;
  /** My accounts that used up one-time prekeys in this batch: time to check the relay's stock. */
  prekeysUsedBy: Set<Address>;
}

export async function receiveBatch(
  ctx: EngineContext,
  device: DeviceRow,
  accounts: Map<string, MyAccount>,
  envelopes: schemas.Envelope[],
): Promise<BatchOutcome> {
  const { db, counters } = ctx;
  const live = new Map<string, LiveSession>();
  const usedOneTime = new Set<string>();
  const identities: { our: Address; their: Address; key: Uint8Array }[] = [];
  const texts: IncomingText[] = [];
  const receipts: { our: Address; their: Address; ids: string[] }[] = [];
  const newDevicesOf = new Set<Address>();
  const prekeysUsedBy = new Set<Address>();
  const acks: PendingAckRow[] = envelopes.map((e) => ({ key: `${e.to}|${e.id}`, to: e.to as Address, id: e.id }));
  // the last identity key seen per peer in this batch: a backlog from one sender is one observation
  const lastIdentity = new Map<string, Uint8Array>();

  // every session the batch needs, in one read instead of one per envelope
  const keys = new Set<string>();
  for (const env of envelopes) keys.add(sessionKey(env.to as Address, env.from as Address, env.fromDevice));
  const keyList = [...keys];
  const stored = await db.sessions.bulkGet(keyList);
  const storedSessions = new Map<string, SessionRow | undefined>(keyList.map((k, i) => [k, stored[i]]));

  for (const env of envelopes) {
    const to = env.to as Address;
    const from = env.from as Address;
    const mine = accounts.get(to);
    if (!mine || env.toDevice !== device.deviceId || (from === to && env.fromDevice === device.deviceId)) {
      counters.bump("misrouted");
      continue;
    }
    const key = sessionKey(to, from, env.fromDevice);
    let session = live.get(key);
    if (!session) {
      const row = storedSessions.get(key);
      session = { our: to, their: from, device: env.fromDevice, state: row ? deserializeSession(row.state) : undefined, dirty: false };
      live.set(key, session);
    }
    let result: Awaited<ReturnType<typeof decrypt>>;
    try {
      result = await decrypt({
        state: session.state,
        ourIdentity: { publicKey: mine.keys.publicKey, privateKey: mine.keys.privateKey },
        ourAddress: to,
        theirAddress: from,
        ciphertext: fromB64(env.body),
        prekeys: prekeyStore(ctx, to, usedOneTime),
      });
    } catch (error) {
      // a redelivered duplicate or a forged envelope: nothing changes, the envelope is acked and dropped
      if (error instanceof CryptoError) counters.bump(error.code === "duplicate" ? "duplicate" : "undecryptable");
      else {
        counters.bump("receive_error");
        ctx.log.warn("receive failed", { name: error instanceof Error ? error.name : "unknown" });
      }
      continue;
    }
    if (from === to && !sameBytes(result.theirIdentityKey, mine.account.identityKey)) {
      counters.bump("forged");
      continue;
    }
    if (!session.state) newDevicesOf.add(from);
    session.state = result.state;
    session.dirty = true;
    if (result.usedOneTimePrekeyId !== undefined) {
      usedOneTime.add(prekeyKey(to, "onetime", result.usedOneTimePrekeyId));
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

    const payload = decodePayload(result.plaintext);
    if (!payload) {
      counters.bump("bad_payload");
      continue;
    }
    if (payload.type === "text") {
      if (from === to) {
        // a copy of what I wrote on another device: it belongs to my conversation with payload.to
        if (!payload.to || payload.to === to) {
          counters.bump("bad_payload");
          continue;
        }
        texts.push({ our: to, their: payload.to as Address, payload, direction: "out" });
      } else {
        texts.push({ our: to, their: from, payload, direction: "in" });
      }
    } else if (from !== to) {
      receipts.push({ our: to, their: from, ids: payload.ids });
    }
  }

  const now = ctx.now();
  const sessionRows: SessionRow[] = [];
  for (const s of live.values()) {
    if (s.dirty && s.state) sessionRows.push(sessionRow(s.our, s.their, s.device, serializeSession(s.state), now));
  }
  let storedCount = 0;
  await db.transaction(
    "rw",
    [db.sessions, db.prekeys, db.identities, db.conversations, db.messages, db.contacts, db.outbox, db.pendingAcks],
    async () => {
      await db.sessions.bulkPut(sessionRows);
      await db.prekeys.bulkDelete([...usedOneTime]);
      for (const i of identities) await observeIdentity(db, i.our, i.their, i.key, now);
      const rows: MessageRow[] = [];
      const names = new Map<Address, string>();
      const ensured = new Set<string>();
      for (const t of texts) {
        const convId = conversationId(t.our, t.their);
        if (!ensured.has(convId)) {
          await ensureConversation(db, t.our, t.their, now);
          ensured.add(convId);
        }
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
      // a sender's clock decides order inside a conversation, but not how far up the inbox it jumps
      const fresh = await putMessagesOnce(db, rows, (m) => (m.direction === "in" ? now : Math.min(now, m.sentAt)));
      storedCount = fresh.length;
      for (const [address, name] of names) await upsertContact(db, address, name, now);
      const owed = new Map<string, string[]>();
      for (const m of fresh) {
        if (m.direction !== "in") continue;
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
      await db.pendingAcks.bulkPut(acks);
    },
  );
  return { acks, stored: storedCount, newDevicesOf, prekeysUsedBy };
}

/** Prekeys of one account, read from storage; a one-time prekey used earlier in this batch is gone already. */
function prekeyStore(ctx: EngineContext, address: Address, usedOneTime: Set<string>): PrekeyStore {
  return {
    async signedPrekey(id) {
      const row = await getPrekey(ctx.db, address, "signed", id);
      return row ? deserializeSignedPrekey(row.record) : undefined;
    },
    async oneTimePrekey(id) {
      if (usedOneTime.has(prekeyKey(address, "onetime", id))) return undefined;
      const row = await getPrekey(ctx.db, address, "onetime", id);
      return row ? deserializeOneTimePrekey(row.record) : undefined;
    },
    async kemPrekey(id) {
      const row = await getPrekey(ctx.db, address, "kem", id);
      return row ? deserializeKemPrekey(row.record) : undefined;
    },
  };
}
