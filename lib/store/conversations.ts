// Conversations and messages: the read model the inbox shows. Functions taking a db run inside the
// caller's transaction when there is one, so a message, its conversation row and the ratchet state
// can commit together.
import Dexie from "dexie";
import { brandOf, type Address } from "../brands";
import { conversationId, type ConversationRow, type JunctionDB, type MessageRow, type MessageState } from "./db";

export const PREVIEW_CHARS = 140;

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

export function newConversation(ourAddress: Address, theirAddress: Address, now: number): ConversationRow {
  const ourBrand = brandOf(ourAddress);
  const theirBrand = brandOf(theirAddress);
  if (!ourBrand || !theirBrand) throw new StoreError("address without a known brand");
  return {
    id: conversationId(ourAddress, theirAddress),
    ourAddress,
    theirAddress,
    ourBrand,
    theirBrand,
    lastActivity: now,
    lastMessageId: null,
    lastPreview: "",
    lastDirection: null,
    lastState: null,
    unread: 0,
    hasUnread: 0,
    createdAt: now,
  };
}

export async function ensureConversation(db: JunctionDB, ourAddress: Address, theirAddress: Address, now: number): Promise<ConversationRow> {
  const id = conversationId(ourAddress, theirAddress);
  const existing = await db.conversations.get(id);
  if (existing) return existing;
  const row = newConversation(ourAddress, theirAddress, now);
  await db.conversations.put(row);
  return row;
}

function preview(message: MessageRow): string {
  if (message.kind === "waiting") return "Waiting for this message…";
  if (message.kind === "undecryptable") return "This message couldn't be decrypted";
  if (message.kind === "unsupported") return "This message needs a newer version of Junction";
  const text = message.text;
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}

/**
 * Stores a message once (idempotent by id) and folds it into its conversation row.
 * Returns false when the id was already stored: a redelivery shows nothing twice.
 */
export async function putMessageOnce(db: JunctionDB, message: MessageRow, activityAt: number): Promise<boolean> {
  return (await putMessagesOnce(db, [message], () => activityAt)).length === 1;
}

/**
 * The batch form: one bulk add for the messages, one update per conversation, which is what lets a
 * backlog of thousands commit in a few transactions. Returns the messages that were new.
 *
 * The add is the dedupe: IndexedDB refuses an id it holds (ConstraintError) and Dexie keeps the
 * transaction going past each refused row, so a message already stored is left as it was, and no read
 * per message is needed. Any other failure is thrown (and aborts the caller's transaction).
 */
export async function putMessagesOnce(db: JunctionDB, messages: MessageRow[], activityAt: (m: MessageRow) => number): Promise<MessageRow[]> {
  const unique = new Map<string, MessageRow>();
  for (const m of messages) if (!unique.has(m.id)) unique.set(m.id, m);
  const candidates = [...unique.values()];
  if (candidates.length === 0) return candidates;
  let refused: Record<number, Error> = {};
  try {
    await db.messages.bulkAdd(candidates);
  } catch (error) {
    if (!(error instanceof Dexie.BulkError)) throw error;
    for (const failure of Object.values(error.failuresByPos)) if (failure?.name !== "ConstraintError") throw error;
    refused = error.failuresByPos;
  }
  const fresh = candidates.filter((_, i) => !refused[i]);
  if (fresh.length === 0) return fresh;

  const byConversation = new Map<string, MessageRow[]>();
  for (const m of fresh) {
    const list = byConversation.get(m.conversationId);
    if (list) list.push(m);
    else byConversation.set(m.conversationId, [m]);
  }
  for (const [id, list] of byConversation) {
    const conv = await db.conversations.get(id);
    if (!conv) throw new StoreError("message for a missing conversation");
    const last = conv.lastMessageId ? await db.messages.get(conv.lastMessageId) : undefined;
    let newest = last;
    for (const m of list) if (!newest || m.sentAt >= newest.sentAt) newest = m;
    const arrivedUnread = list.filter((m) => m.direction === "in" && m.state !== "read").length;
    const unread = conv.unread + arrivedUnread;
    const changedLast = newest && newest !== last;
    await db.conversations.put({
      ...conv,
      lastActivity: Math.max(conv.lastActivity, ...list.map(activityAt)),
      ...(changedLast && newest
        ? {
            lastMessageId: newest.id,
            lastPreview: preview(newest),
            lastDirection: newest.direction,
            lastState: newest.direction === "out" ? newest.state : null,
          }
        : {}),
      unread,
      hasUnread: unread > 0 ? 1 : 0,
    });
  }
  return fresh;
}

const STATE_RANK: Record<MessageState, number> = { failed: 0, queued: 1, sent: 2, delivered: 3, read: 4 };

/** Moves my message forward (queued → sent → delivered), never back; mirrors it on the conversation row. */
export async function advanceState(
  db: JunctionDB,
  messageId: string,
  expectedConversation: string,
  state: MessageState,
  at: number,
): Promise<boolean> {
  const msg = await db.messages.get(messageId);
  if (!msg || msg.direction !== "out" || msg.conversationId !== expectedConversation) return false;
  if (state !== "failed" && STATE_RANK[msg.state] >= STATE_RANK[state]) return false;
  const next: MessageRow = {
    ...msg,
    state,
    sentToRelayAt: state === "sent" ? at : msg.sentToRelayAt,
    deliveredAt: state === "delivered" ? at : msg.deliveredAt,
  };
  await db.messages.put(next);
  const conv = await db.conversations.get(msg.conversationId);
  if (conv && conv.lastMessageId === msg.id) await db.conversations.put({ ...conv, lastState: state });
  return true;
}

export async function markConversationRead(db: JunctionDB, id: string): Promise<void> {
  await db.transaction("rw", db.conversations, async () => {
    const conv = await db.conversations.get(id);
    if (!conv) throw new StoreError("no such conversation");
    if (conv.unread !== 0 || conv.hasUnread !== 0) await db.conversations.put({ ...conv, unread: 0, hasUnread: 0 });
  });
}

export async function upsertContact(db: JunctionDB, address: Address, displayName: string | null, now: number): Promise<void> {
  const existing = await db.contacts.get(address);
  if (existing && (displayName === null || existing.displayName === displayName)) return;
  await db.contacts.put({ address, displayName: displayName ?? existing?.displayName ?? null, updatedAt: now });
}
