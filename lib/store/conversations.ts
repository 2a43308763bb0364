// Conversations and messages: the read model the inbox shows. Functions taking a db run inside the
// caller's transaction when there is one, so a message, its conversation row and the ratchet state
// can commit together.
import Dexie from "dexie";
import { brandOf, type Address } from "../brands";
import { conversationId, type ContactRow, type ConversationRow, type JunctionDB, type MemberReceipt, type MessageRow, type MessageState } from "./db";

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

/** How a timer reads in a line and a preview. */
export function timerLabel(ms: number): string {
  if (ms <= 0) return "Disappearing messages turned off";
  const DAY = 24 * 60 * 60_000;
  if (ms % DAY === 0) return `Disappearing messages: ${ms / DAY === 1 ? "24 hours" : `${ms / DAY} days`}`;
  if (ms % 3_600_000 === 0) return `Disappearing messages: ${ms / 3_600_000} hours`;
  return `Disappearing messages: ${Math.round(ms / 1000)} seconds`;
}

export const DELETED_TEXT = "This message was deleted";

/** What the inbox row shows for a message. */
export function messagePreview(message: MessageRow): string {
  return preview(message);
}

function preview(message: MessageRow): string {
  if (message.deletedAt !== undefined) return DELETED_TEXT;
  if (message.kind === "timer") return timerLabel(message.timerMs ?? 0);
  if (message.kind === "waiting") return "Waiting for this message…";
  if (message.kind === "undecryptable") return "This message couldn't be decrypted";
  if (message.kind === "unsupported") return "This message needs a newer version of Junction";
  if (message.kind === "attachment" && message.attachment) {
    const a = message.attachment;
    const what = a.durationMs !== undefined ? "🎤 Voice message" : a.mime.startsWith("image/") ? "📷 Photo" : `📎 ${a.name}`;
    return message.text ? `${what}: ${message.text.slice(0, PREVIEW_CHARS)}` : what;
  }
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
 *
 * `known` holds conversation rows the caller has read (or created) in this transaction already: with every
 * conversation known, the add and the read of each conversation's last message go out together, and the
 * whole call costs three IndexedDB round trips whatever the number of conversations.
 */
export async function putMessagesOnce(
  db: JunctionDB,
  messages: MessageRow[],
  activityAt: (m: MessageRow) => number,
  known?: ReadonlyMap<string, ConversationRow>,
): Promise<MessageRow[]> {
  const unique = new Map<string, MessageRow>();
  for (const m of messages) if (!unique.has(m.id)) unique.set(m.id, m);
  const candidates = [...unique.values()];
  if (candidates.length === 0) return candidates;
  const convIds = [...new Set(candidates.map((m) => m.conversationId))];
  const allKnown = known !== undefined && convIds.every((id) => known.has(id));
  // the last messages are stored ones, never among the candidates: reading them beside the add is the same read
  const lastIds = allKnown ? convIds.map((id) => known.get(id)?.lastMessageId).filter((id): id is string => !!id) : [];
  const [refused, convRows, lastRows] = await Promise.all([
    addRefusingDuplicates(db, candidates),
    allKnown ? convIds.map((id) => known.get(id)) : db.conversations.bulkGet(convIds),
    lastIds.length ? db.messages.bulkGet(lastIds) : [],
  ]);
  const fresh = candidates.filter((_, i) => !refused[i]);
  if (fresh.length === 0) return fresh;

  const convs = new Map<string, ConversationRow>();
  convIds.forEach((id, i) => {
    const conv = convRows[i];
    if (conv) convs.set(id, conv);
  });
  const byConversation = new Map<string, MessageRow[]>();
  for (const m of fresh) {
    const list = byConversation.get(m.conversationId);
    if (list) list.push(m);
    else byConversation.set(m.conversationId, [m]);
  }
  for (const id of byConversation.keys()) if (!convs.has(id)) throw new StoreError("message for a missing conversation");
  const lasts = new Map<string, MessageRow>();
  if (allKnown) {
    for (const m of lastRows) if (m) lasts.set(m.id, m);
  } else {
    const wanted = [...byConversation.keys()].map((id) => convs.get(id)?.lastMessageId).filter((id): id is string => !!id);
    if (wanted.length) for (const m of await db.messages.bulkGet(wanted)) if (m) lasts.set(m.id, m);
  }
  const updated: ConversationRow[] = [];
  for (const [id, list] of byConversation) {
    const conv = convs.get(id) as ConversationRow;
    const last = conv.lastMessageId ? lasts.get(conv.lastMessageId) : undefined;
    let newest = last;
    for (const m of list) if (!newest || m.sentAt >= newest.sentAt) newest = m;
    const arrivedUnread = list.filter((m) => m.direction === "in" && m.state !== "read").length;
    // a message from them: they stopped typing, and a conversation I archived comes back unless muted
    const fromThem = list.some((m) => m.direction === "in" && (m.kind === undefined || m.kind === "text" || m.kind === "unsupported"));
    const unread = conv.unread + arrivedUnread;
    const changedLast = newest && newest !== last;
    let activity = conv.lastActivity;
    for (const m of list) activity = Math.max(activity, activityAt(m));
    updated.push({
      ...conv,
      lastActivity: activity,
      ...(changedLast && newest
        ? {
            lastMessageId: newest.id,
            // a group's row says who wrote it: "Ben: see you there"
            lastPreview: conv.groupId && newest.kind !== "group" ? `${newest.direction === "out" ? "You" : (newest.authorName ?? newest.author ?? "")}: ${preview(newest)}` : preview(newest),
            lastDirection: newest.direction,
            lastState: newest.direction === "out" && newest.kind !== "timer" ? newest.state : null,
          }
        : {}),
      unread,
      hasUnread: unread > 0 ? 1 : 0,
      ...(fromThem && conv.typingUntil !== undefined && (!conv.typingBy || list.some((m) => m.author === conv.typingBy)) ? { typingUntil: undefined, typingBy: undefined } : {}),
      ...(fromThem && conv.archived === 1 && !conv.muted ? { archived: 0 as const } : {}),
    });
  }
  await db.conversations.bulkPut(updated);
  return fresh;
}

/** Adds the rows; returns the positions IndexedDB refused because the id was stored already. */
async function addRefusingDuplicates(db: JunctionDB, rows: MessageRow[]): Promise<Record<number, Error>> {
  try {
    await db.messages.bulkAdd(rows);
    return {};
  } catch (error) {
    if (!(error instanceof Dexie.BulkError)) throw error;
    for (const failure of Object.values(error.failuresByPos)) if (failure?.name !== "ConstraintError") throw error;
    return error.failuresByPos;
  }
}

const STATE_RANK: Record<MessageState, number> = { failed: 0, queued: 1, sent: 2, delivered: 3, read: 4 };

/** Moves my message forward (queued → sent → delivered → read), never back; mirrors it on the conversation row. */
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
    // a read receipt that overtakes the delivery receipt also says it was delivered
    deliveredAt: state === "delivered" || (state === "read" && msg.deliveredAt === null) ? at : msg.deliveredAt,
    ...(state === "read" ? { readAt: at } : {}),
  };
  await db.messages.put(next);
  const conv = await db.conversations.get(msg.conversationId);
  if (conv && conv.lastMessageId === msg.id) await db.conversations.put({ ...conv, lastState: state });
  return true;
}

/** A conversation whose newest message is news to notify of: unread, and not muted unless it mentions me. */
export function notifies(c: ConversationRow): boolean {
  return c.lastDirection === "in" && c.unread > 0 && (!c.muted || (c.mentionedIn !== undefined && c.mentionedIn === c.lastMessageId));
}

/**
 * One member's receipt for my group message: noted per member (read says delivered too; nothing moves
 * back). The message's own state follows the slowest member: delivered once every member in `members` has
 * it, read once every one of them read it.
 */
export async function markMemberReceipt(
  db: JunctionDB,
  messageId: string,
  expectedConversation: string,
  member: Address,
  kind: "delivered" | "read",
  at: number,
  members: readonly Address[],
): Promise<boolean> {
  const msg = await db.messages.get(messageId);
  if (!msg || msg.direction !== "out" || msg.conversationId !== expectedConversation) return false;
  const before = msg.memberReceipts?.[member] ?? {};
  const after: MemberReceipt = { ...before, deliveredAt: before.deliveredAt ?? at, ...(kind === "read" ? { readAt: before.readAt ?? at } : {}) };
  if (after.deliveredAt === before.deliveredAt && after.readAt === before.readAt) return false;
  const receipts = { ...msg.memberReceipts, [member]: after };
  await db.messages.put({ ...msg, memberReceipts: receipts });
  if (members.every((a) => receipts[a]?.readAt !== undefined)) await advanceState(db, messageId, expectedConversation, "read", at);
  else if (members.every((a) => receipts[a]?.deliveredAt !== undefined)) await advanceState(db, messageId, expectedConversation, "delivered", at);
  return true;
}

/** A "listened" receipt: my voice note was played (so read too). Only the first counts; anything else is ignored. */
export async function markListened(db: JunctionDB, messageId: string, expectedConversation: string, at: number): Promise<boolean> {
  const msg = await db.messages.get(messageId);
  if (!msg || msg.direction !== "out" || msg.conversationId !== expectedConversation || msg.attachment?.durationMs === undefined || msg.listenedAt !== undefined) return false;
  await advanceState(db, messageId, expectedConversation, "read", at);
  await db.messages.update(messageId, { listenedAt: at });
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
  const row = contactAfter(await db.contacts.get(address), address, displayName, now);
  if (row) await db.contacts.put(row);
}

/** upsertContact without the storage: the row to put, or none when nothing changes. */
export function contactAfter(existing: ContactRow | undefined, address: Address, displayName: string | null, now: number): ContactRow | undefined {
  if (existing && (displayName === null || existing.displayName === displayName)) return undefined;
  return { address, displayName: displayName ?? existing?.displayName ?? null, updatedAt: now };
}

/** A message deleted for everyone: the row stays, its text, reactions, quote and edit go. */
export function deletedForEveryone(m: MessageRow, at: number): MessageRow {
  const { reactions: _r, replyTo: _q, editedAt: _e, content: _c, attachment: _a, ...rest } = m;
  return { ...rest, text: "", deletedAt: at };
}

/**
 * Quotes of these messages (in replies of the conversation) lose their text and read as deleted: the
 * snapshot must not keep what its original no longer shows. A scan of the conversation: deletes are rare.
 */
export async function forgetQuotes(db: JunctionDB, convId: string, ids: string[]): Promise<number> {
  const gone = new Set(ids);
  const replies = await db.messages
    .where("conversationId")
    .equals(convId)
    .filter((m) => m.replyTo !== undefined && gone.has(m.replyTo.id) && !m.replyTo.deleted)
    .toArray();
  if (replies.length === 0) return 0;
  await db.messages.bulkPut(replies.map((m) => ({ ...m, replyTo: { ...(m.replyTo as NonNullable<MessageRow["replyTo"]>), text: "", deleted: true } })));
  return replies.length;
}

/** The conversation row shows this message as its last one: refresh what it shows of it. */
export async function refreshPreview(db: JunctionDB, convId: string, messageId: string): Promise<void> {
  const conv = await db.conversations.get(convId);
  if (!conv || conv.lastMessageId !== messageId) return;
  const m = await db.messages.get(messageId);
  if (!m) return;
  const lastPreview = preview(m);
  if (lastPreview !== conv.lastPreview) await db.conversations.put({ ...conv, lastPreview });
}

/**
 * Finds the conversation's newest message again (after its last one went) and shows it, or nothing.
 * `unreadGone` incoming unread messages went with it. The row's lastActivity stays: the inbox order
 * does not jump when something disappears.
 */
export async function refreshLast(db: JunctionDB, convId: string, unreadGone = 0): Promise<void> {
  const conv = await db.conversations.get(convId);
  if (!conv) return;
  const last = await db.messages
    .where("[conversationId+sentAt]")
    .between([convId, Dexie.minKey], [convId, Dexie.maxKey])
    .last();
  const unread = Math.max(0, conv.unread - unreadGone);
  await db.conversations.put({
    ...conv,
    lastMessageId: last?.id ?? null,
    lastPreview: last ? preview(last) : "",
    lastDirection: last?.direction ?? null,
    lastState: last?.direction === "out" && last.kind !== "timer" ? last.state : null,
    unread,
    hasUnread: unread > 0 ? 1 : 0,
  });
}

/**
 * Marks incoming messages of a conversation read (those of `ids`, or every unread one when `ids` is
 * absent) and lowers its unread count by exactly those that were unread, never below 0. Returns the rows
 * that changed. Runs inside the caller's transaction.
 */
export async function markIncomingRead(db: JunctionDB, convId: string, ids: string[] | undefined, at: number): Promise<MessageRow[]> {
  const conv = await db.conversations.get(convId);
  if (!conv) return [];
  const unreadHere = (m: MessageRow | undefined): m is MessageRow => !!m && m.conversationId === convId && m.direction === "in" && m.state !== "read";
  const rows = ids ? (await db.messages.bulkGet(ids)).filter(unreadHere) : await db.messages.where("conversationId").equals(convId).filter(unreadHere).toArray();
  if (rows.length > 0) await db.messages.bulkPut(rows.map((m) => ({ ...m, state: "read" as const, readAt: at })));
  const unread = ids ? Math.max(0, conv.unread - rows.length) : 0;
  if (unread !== conv.unread || conv.hasUnread !== (unread > 0 ? 1 : 0)) await db.conversations.put({ ...conv, unread, hasUnread: unread > 0 ? 1 : 0 });
  return rows;
}
