// Typing, both ways. Ephemeral: encrypted with the pairwise session like any content, pushed by the relay
// (typing:send) to the peer's live connections only, never stored by the relay or the outbox.
//
// Each signal advances my sending chain, and a signal that reaches no one becomes a skipped message key at
// the receiver, who accepts at most MAX_SKIP (1,000) skipped keys in one chain before its next message.
// So typing must never run up that gap:
// - only over a session that exists and has been answered (never a prekey message, which would also
//   start a session from a signal nobody keeps);
// - at most one "typing" per TYPING_INTERVAL_MS per conversation, and one "stopped" after it;
// - a device the relay did not reach is left alone for TYPING_PROBE_MS, then tried once again;
// - at most TYPING_LOST_BUDGET signals to a device that did not reach it since it was last reached or
//   since my last durable message to it (which always arrives, and closes the gap): then none until one
//   of those. The count is kept in memory; a restart starts it over, so each engine run can add at most
//   the budget to a gap — far under MAX_SKIP for the restarts of one offline stretch.
import { MESSAGE_NORMAL, CryptoError, decryptRecord, deserializeSession, encrypt, serializeSession, type PrekeyStore } from "../crypto";
import { conversationId, TYPING_TTL_MS, type SessionRow } from "../store/db";
import { MAX_TYPING_TARGETS } from "../protocol/limits";
import { groupRowId } from "./groups/state";
import { sessionKey } from "../store/ids";
import { sessionRow } from "../store/sessions";
import { inTransaction } from "../store/transactions";
import { EVENTS, fromB64, toB64, type Address, type schemas } from "./deps";
import type { EngineContext } from "./context";
import { CONTENT_VERSION, decodeContent, encodeContent } from "./content/envelope";
import { applyRecordWrites, loadRecords, takeRecordWrites } from "./records";
import { OfflineError, request } from "./relay";
import type { MyAccount } from "./receive";

export const TYPING_INTERVAL_MS = 3_000;
export const TYPING_PROBE_MS = 30_000;
/** A fifth of MAX_SKIP: the rest of the receiver's allowance stays for restarts and everything else. */
export const TYPING_LOST_BUDGET = 200;

interface DeviceReach {
  /** Not tried again before this (ms). */
  quietUntil: number;
  /** Signals that reached no one since it was last reached or sent a durable message. */
  lost: number;
}

interface ConversationTyping {
  lastTyping: number;
  /** A "typing" went since the last "stopped": a "stopped" is worth sending. */
  open: boolean;
}

export type TypingOutcome = "sent" | "throttled" | "skipped";

export class TypingSender {
  private readonly conversations = new Map<string, ConversationTyping>();
  private readonly devices = new Map<string, DeviceReach>();
  /** The session keys of each conversation's devices as last read (forgotten when a durable message goes). */
  private readonly known = new Map<string, string[]>();

  constructor(private readonly ctx: EngineContext) {}

  /** A durable message of mine went to every device of this conversation: the receivers' gap closes there. */
  durableSent(convId: string): void {
    const prefix = `${convId}|`;
    for (const [key, reach] of this.devices) if (key.startsWith(prefix)) reach.lost = 0;
    // it may have gone to a device (or over a session) that is new
    this.known.delete(convId);
    // a message clears "typing…" on their side: the next keystroke says so again at once, no "stopped" is owed
    this.conversations.delete(convId);
  }

  private suppressed(key: string, now: number): boolean {
    const reach = this.devices.get(key);
    return reach !== undefined && (now < reach.quietUntil || reach.lost >= TYPING_LOST_BUDGET);
  }

  async send(convId: string, typing: boolean, now = this.ctx.now()): Promise<TypingOutcome> {
    const { ctx } = this;
    const state = this.conversations.get(convId) ?? { lastTyping: -Infinity, open: false };
    if (typing ? now - state.lastTyping < TYPING_INTERVAL_MS : !state.open) return "throttled";
    this.conversations.set(convId, typing ? { lastTyping: now, open: true } : { lastTyping: -Infinity, open: false });
    // every device known to be out of reach: nothing to read, encrypt or ask
    const known = this.known.get(convId);
    if (known && known.length > 0 && known.every((key) => this.suppressed(key, now))) {
      ctx.counters.bump("typing_suppressed");
      return "skipped";
    }
    const conv = await ctx.db.conversations.get(convId);
    if (!conv) return "skipped";
    // in a group: every other member (names travel nowhere: the receiver knows who sent it), in small groups
    // only (one push of at most MAX_TYPING_TARGETS devices); otherwise the peer
    let peers: Address[] = [conv.theirAddress];
    if (conv.groupId) {
      const group = await ctx.db.groups.get(groupRowId(conv.ourAddress, conv.groupId));
      if (!group || group.left) return "skipped";
      peers = group.members.map((m) => m.address).filter((a) => a !== conv.ourAddress);
    } else if (conv.ourAddress === conv.theirAddress) return "skipped";
    if (peers.length === 0 || peers.length > MAX_TYPING_TARGETS) return "skipped";
    let socket;
    try {
      socket = ctx.socket();
    } catch {
      return "skipped";
    }
    const plaintext = encodeContent({ v: CONTENT_VERSION, type: "typing", typing, sentAt: now, ...(conv.groupId ? { groupId: conv.groupId } : {}) });
    const signals = await ctx.sessions.run(async () => {
      const rows: SessionRow[] = [];
      for (const peer of peers) rows.push(...(await ctx.db.sessions.where("[ourAddress+theirAddress]").equals([conv.ourAddress, peer]).toArray()));
      if (rows.length > MAX_TYPING_TARGETS) return [];
      this.known.set(convId, rows.map((r) => r.key));
      const out: schemas.TypingSignal[] = [];
      const advanced: SessionRow[] = [];
      for (const row of rows) {
        if (this.suppressed(row.key, now)) {
          ctx.counters.bump("typing_suppressed");
          continue;
        }
        let sealed;
        try {
          sealed = await encrypt(deserializeSession(row.state), plaintext);
        } catch {
          continue;
        }
        // not answered yet: this would be a prekey message; typing never starts (or re-sends) a session setup
        if (sealed.ciphertext[0] !== MESSAGE_NORMAL) continue;
        advanced.push(sessionRow(conv.ourAddress, row.theirAddress, row.theirDevice, serializeSession(sealed.state), now));
        out.push({ to: row.theirAddress, toDevice: row.theirDevice, body: toB64(sealed.ciphertext) });
      }
      // stored before the push: a message key is never used twice
      if (advanced.length) await ctx.db.sessions.bulkPut(advanced);
      return out;
    });
    if (signals.length === 0) return "skipped";
    let reached: string[] = [];
    try {
      reached = (await request(socket, EVENTS.typing, { from: conv.ourAddress, signals })).reached;
      // (the relay answers with device ids; in a group two members' devices could share one: both count)
    } catch (error) {
      // refused (a limit) or no answer: none of them got it, and each is a skipped key at its device
      if (!(error instanceof OfflineError)) ctx.counters.bump("typing_refused_by_relay");
    }
    for (const s of signals) {
      const key = sessionKey(conv.ourAddress, s.to as Address, s.toDevice);
      if (reached.includes(s.toDevice)) this.devices.set(key, { quietUntil: 0, lost: 0 });
      else {
        const lost = (this.devices.get(key)?.lost ?? 0) + 1;
        this.devices.set(key, { quietUntil: now + TYPING_PROBE_MS, lost });
        ctx.counters.bump("typing_lost");
      }
    }
    ctx.counters.bump("typing_sent");
    return "sent";
  }
}

/** Typing needs no prekeys: a signal that would need one is refused before decryption. */
const NO_PREKEYS: PrekeyStore = {
  signedPrekey: async () => undefined,
  oneTimePrekey: async () => undefined,
  kemPrekey: async () => undefined,
  kemOneTimePrekey: async () => undefined,
  isBaseKeyUsed: async () => true,
};

/**
 * A typing signal pushed to me. Shown only in a conversation that exists (it never creates one), only over
 * a session that exists; what does not open is dropped without asking for it again. The advanced session
 * and "typing until" commit together: the ratchet never moves without its state stored.
 */
export async function receiveTyping(ctx: EngineContext, accounts: Map<string, MyAccount>, p: schemas.TypingDeliver): Promise<void> {
  const to = p.to as Address;
  const from = p.from as Address;
  const mine = accounts.get(to);
  if (!mine || p.toDevice !== mine.deviceId || from === to) return;
  const body = fromB64(p.body);
  if (body[0] !== MESSAGE_NORMAL) {
    ctx.counters.bump("typing_refused");
    return;
  }
  const now = ctx.now();
  await ctx.sessions.run(async () => {
    const live = (await loadRecords(ctx, [{ our: to, their: from, device: p.fromDevice }])).get(sessionKey(to, from, p.fromDevice));
    if (!live || (!live.record.current && live.record.archived.length === 0)) return;
    let result;
    try {
      result = await decryptRecord({
        record: live.record,
        ourIdentity: { publicKey: mine.keys.publicKey, privateKey: mine.keys.privateKey },
        ourAddress: to,
        theirAddress: from,
        ciphertext: body,
        prekeys: NO_PREKEYS,
        now,
      });
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      ctx.counters.bump("typing_undecryptable");
      return;
    }
    const content = decodeContent(result.plaintext);
    if (content.type !== "typing") {
      // another kind through the ephemeral path: not stored, so not committed either
      ctx.counters.bump("typing_refused");
      return;
    }
    // in a group: shown there, naming who types, only from a member of a group I am in
    let convId = conversationId(to, from);
    if (content.groupId) {
      const group = await ctx.db.groups.get(groupRowId(to, content.groupId));
      if (!group || group.left || !group.members.some((m) => m.address === from)) {
        ctx.counters.bump("typing_refused");
        return;
      }
      convId = group.conversationId;
    }
    live.record = result.record;
    live.dirty = true;
    if (result.openedIn !== "current") live.archiveDirty = true;
    const { db: base } = ctx;
    await inTransaction(base, [base.sessions, base.archivedSessions, base.conversations], async (db) => {
      await applyRecordWrites(db, takeRecordWrites([live], now));
      const conv = await db.conversations.get(convId);
      if (!conv) return;
      const { typingUntil: _was, typingBy: _by, ...rest } = conv;
      // in a group, a "stopped" from one member does not hide another who still types
      if (!content.typing && conv.groupId && conv.typingBy !== from && (conv.typingUntil ?? 0) > now) return;
      await db.conversations.put(content.typing ? { ...rest, typingUntil: now + TYPING_TTL_MS, ...(conv.groupId ? { typingBy: from } : {}) } : rest);
    });
    ctx.counters.bump("typing_received");
  });
}

