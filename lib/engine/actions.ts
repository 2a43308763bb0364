// What I do to messages and conversations: reactions, edits, deletes, the disappearing timer, read marks,
// pins, drafts, settings, display names. Local methods (any tab serves them): each applies the change to
// this device's rows and queues what the peer (and my other devices) must hear in ONE transaction, so a
// reload either shows it done and on its way, or not done.
import { forgetMedia, mediaTables } from "../store/media";
import { z } from "zod";
import type { Address } from "../brands";
import {
  DELETE_FOR_EVERYONE_WINDOW_MS,
  DISAPPEARING_TIMERS_MS,
  EDIT_WINDOW_MS,
  type ConversationRow,
  type JunctionDB,
  type MessageRow,
  type Settings,
} from "../store/db";
import { forgetQuotes, markIncomingRead, refreshLast } from "../store/conversations";
import { MAX_TEXT_CHARS, queueReadReceipt } from "../store/outbox";
import { getSettings, SettingsPatch, updateSettings } from "../store/settings";
import { randomId } from "../store/ids";
import { EngineError } from "../worker/rpc";
import { inTransaction } from "../store/transactions";
import { CONTENT_VERSION, MessageId } from "./content/base";
import type { ChangeScope } from "./content/change";
import { applyChange, type ChangeContent } from "./content/registry";
import { Emoji } from "./content/kinds/reaction";
import { DISAPPEARING_MAX_MS } from "./content/kinds/timer";
import type { SyncItem } from "./content/kinds/sync";
import { clockKey, conversationRef, localClock, queueSync, syncTables } from "./sync/queue";

/** Shortest timer accepted besides the ones the UI offers (tests use seconds). */
export const DISAPPEARING_MIN_MS = 1_000;
/** Most message ids one markRead names. */
export const MAX_READ_IDS = 1_000;

const ReadIds = z.array(MessageId).max(MAX_READ_IDS);

async function conversation(db: JunctionDB, id: string): Promise<ConversationRow> {
  const conv = await db.conversations.get(id);
  if (!conv) throw new EngineError("not_found", "no such conversation");
  return conv;
}

async function messageIn(db: JunctionDB, conv: ConversationRow, id: string): Promise<MessageRow> {
  const m = await db.messages.get(id);
  if (!m || m.conversationId !== conv.id) throw new EngineError("not_found", "no such message in this conversation");
  return m;
}

/** Applies my change here (a refusal is a bad_request: the UI offered something it should not have) and queues it. */
async function makeChange(db: JunctionDB, conv: ConversationRow, content: ChangeContent, target: string | undefined, now: number): Promise<void> {
  const scope: ChangeScope = {
    db,
    now,
    refuse: (_kind, reason) => {
      throw new EngineError("bad_request", reason);
    },
  };
  const outcome = await applyChange(scope, { our: conv.ourAddress, their: conv.theirAddress, direction: "out", content, ...(conv.groupId ? { conv: conv.id } : {}) });
  if (outcome === "orphaned") throw new EngineError("not_found", "no such message in this conversation");
  await db.outbox.add({
    kind: "change",
    conversationId: conv.id,
    messageId: content.id,
    change: JSON.stringify(content),
    ...(target !== undefined ? { target } : {}),
    createdAt: now,
    attempts: 0,
  });
}

function changeTables(db: JunctionDB) {
  // a delete takes the attachment's media with it
  return [db.messages, db.conversations, db.outbox, ...mediaTables(db)];
}

export async function reactLocal(db: JunctionDB, p: { conversationId: string; messageId: string; emoji: string | null }, now: number): Promise<null> {
  if (p.emoji !== null && !Emoji.safeParse(p.emoji).success) throw new EngineError("bad_request", "not an emoji");
  await inTransaction(db, changeTables(db), async (db) => {
    const conv = await conversation(db, p.conversationId);
    const target = await messageIn(db, conv, p.messageId);
    if (target.deletedAt !== undefined) throw new EngineError("bad_request", "the message was deleted");
    await makeChange(db, conv, { v: CONTENT_VERSION, type: "reaction", id: randomId(), sentAt: now, target: target.id, emoji: p.emoji }, target.id, now);
  });
  return null;
}

export async function editMessageLocal(db: JunctionDB, p: { conversationId: string; messageId: string; text: string }, now: number): Promise<null> {
  if (typeof p.text !== "string" || p.text.trim().length === 0) throw new EngineError("bad_request", "message is empty");
  if (p.text.length > MAX_TEXT_CHARS) throw new EngineError("bad_request", `message is longer than ${MAX_TEXT_CHARS} characters`);
  await inTransaction(db, changeTables(db), async (db) => {
    const conv = await conversation(db, p.conversationId);
    const target = await messageIn(db, conv, p.messageId);
    if (target.direction !== "out") throw new EngineError("bad_request", "only my own messages can be edited");
    if (target.kind !== undefined && target.kind !== "text") throw new EngineError("bad_request", "only text can be edited");
    if (target.deletedAt !== undefined) throw new EngineError("bad_request", "the message was deleted");
    if (now - target.sentAt > EDIT_WINDOW_MS) throw new EngineError("bad_request", "too late to edit this message");
    if (target.text === p.text) return;
    await makeChange(db, conv, { v: CONTENT_VERSION, type: "edit", id: randomId(), sentAt: Math.max(now, target.sentAt), target: target.id, text: p.text }, target.id, now);
  });
  return null;
}

export async function deleteMessageLocal(db: JunctionDB, p: { conversationId: string; messageId: string; forEveryone: boolean }, now: number): Promise<null> {
  await inTransaction(db, [...changeTables(db), db.drafts, db.sentLog, ...syncTables(db)], async (db) => {
    const conv = await conversation(db, p.conversationId);
    const target = await messageIn(db, conv, p.messageId);
    if (!p.forEveryone) {
      await deleteForMe(db, conv, [target]);
      // gone from my other devices too (a delete for me is never undone, so it needs no clock)
      await queueSync(db, [conv.ourAddress], [{ t: "deleteForMe", c: conversationRef(conv.id, conv.ourAddress), ids: [target.id] }], now);
      return;
    }
    if (target.direction !== "out") throw new EngineError("bad_request", "only my own messages can be deleted for everyone");
    if (now - target.sentAt > DELETE_FOR_EVERYONE_WINDOW_MS) throw new EngineError("bad_request", "too late to delete this message for everyone");
    if (target.deletedAt !== undefined) return;
    // not sent yet: it never goes (the delete still does, in case it is on its way right now)
    await db.outbox.where("messageId").equals(target.id).filter((row) => row.kind === "message" && !row.onlyDevice).delete();
    await makeChange(db, conv, { v: CONTENT_VERSION, type: "delete", id: randomId(), sentAt: Math.max(now, target.sentAt), target: target.id }, target.id, now);
  });
  return null;
}

/**
 * Removes messages from this device only, with everything that keeps their text: the conversation's
 * preview, quotes of them, drafts replying to them, and outbox rows that would still send them or
 * changes to them. Shared with the disappearing sweep; runs inside the caller's transaction.
 */
export async function deleteForMe(db: JunctionDB, conv: ConversationRow, rows: MessageRow[]): Promise<void> {
  if (rows.length === 0) return;
  const ids = rows.map((m) => m.id);
  const gone = new Set(ids);
  await db.messages.bulkDelete(ids);
  await forgetMedia(db, ids);
  await db.outbox.where("messageId").anyOf(ids).delete();
  await db.outbox.where("conversationId").equals(conv.id).filter((row) => row.target !== undefined && gone.has(row.target)).delete();
  // what I sent of them and changes of them: the sent log keeps an edit's text for a resend (a scan of a bounded log)
  await db.sentLog.filter((r) => r.target !== undefined && gone.has(r.target)).delete();
  const draft = await db.drafts.get(conv.id);
  if (draft?.replyTo !== undefined && gone.has(draft.replyTo)) {
    const { replyTo: _gone, ...rest } = draft;
    await db.drafts.put(rest);
  }
  await forgetQuotes(db, conv.id, ids);
  const unreadGone = rows.filter((m) => m.direction === "in" && m.state !== "read").length;
  if (conv.lastMessageId !== null && gone.has(conv.lastMessageId)) await refreshLast(db, conv.id, unreadGone);
  else if (unreadGone > 0) {
    const fresh = (await db.conversations.get(conv.id)) ?? conv;
    const unread = Math.max(0, fresh.unread - unreadGone);
    await db.conversations.put({ ...fresh, unread, hasUnread: unread > 0 ? 1 : 0 });
  }
  // a mention that is gone no longer makes a muted group notify
  if (conv.mentionedIn !== undefined && gone.has(conv.mentionedIn)) await db.conversations.update(conv.id, { mentionedIn: undefined });
}

export async function setDisappearingLocal(db: JunctionDB, p: { conversationId: string; expiresInMs: number }, now: number): Promise<null> {
  const ms = p.expiresInMs;
  const offered = (DISAPPEARING_TIMERS_MS as readonly number[]).includes(ms);
  if (!Number.isSafeInteger(ms) || (!offered && (ms < DISAPPEARING_MIN_MS || ms > DISAPPEARING_MAX_MS))) throw new EngineError("bad_request", "not a disappearing-message timer");
  await inTransaction(db, changeTables(db), async (db) => {
    const conv = await conversation(db, p.conversationId);
    if (conv.groupId) throw new EngineError("bad_request", "In a group, the timer is a change of the group (an admin's).");
    // the line goes after everything shown so far, as a message would
    const sentAt = Math.max(now, (conv.timerSetAt ?? 0) + 1);
    await makeChange(db, conv, { v: CONTENT_VERSION, type: "timer", id: randomId(), sentAt, expiresInMs: ms }, undefined, now);
  });
  return null;
}

/**
 * Marks incoming messages read: with `messageIds`, only those (they have been on screen); without, every
 * one of the conversation. Unread goes down by exactly the messages that were unread (never below 0, a
 * second call changes nothing), and with read receipts on their senders are told, in one batch; my other
 * devices are told how far I read. `queued`: something waits in the outbox.
 */
export async function markReadLocal(db: JunctionDB, p: { conversationId: string; messageIds?: string[] }, now: number): Promise<{ queued: boolean }> {
  if (p.messageIds !== undefined && !ReadIds.safeParse(p.messageIds).success) throw new EngineError("bad_request", "bad message ids");
  return inTransaction(db, [db.conversations, db.messages, db.outbox, db.meta, ...syncTables(db)], async (db) => {
    const conv = await conversation(db, p.conversationId);
    const rows = await markIncomingRead(db, conv.id, p.messageIds, now);
    // my other devices read up to the newest of them too (whatever the read-receipts setting); the position is
    // not kept here: only one from another device marks messages that reach this device later
    const synced = rows.length > 0;
    if (synced) await queueSync(db, [conv.ourAddress], [{ t: "read", c: conversationRef(conv.id, conv.ourAddress), upTo: Math.max(...rows.map((m) => m.sentAt)) }], now);
    // the mention that made a muted group notify has been seen
    if (conv.mentionedIn && (p.messageIds === undefined || p.messageIds.includes(conv.mentionedIn))) await db.conversations.update(conv.id, { mentionedIn: undefined });
    const settings = await getSettings(db);
    // only messages the sender knows by their id (not placeholders or lines)
    const known = rows.filter((m) => (m.kind === undefined || m.kind === "text" || m.kind === "unsupported") && MessageId.safeParse(m.id).success);
    if (!settings.readReceipts || known.length === 0) return { queued: synced };
    if (conv.groupId) {
      // in a group each author is told, alone, of its own messages
      const byAuthor = new Map<Address, string[]>();
      for (const m of known) if (m.author) byAuthor.set(m.author, [...(byAuthor.get(m.author) ?? []), m.id]);
      for (const [author, ids] of byAuthor) await queueReadReceipt(db, conv.id, ids, now, "read", author);
      return { queued: synced || byAuthor.size > 0 };
    }
    await queueReadReceipt(db, conv.id, known.map((m) => m.id), now);
    return { queued: true };
  });
}

/**
 * I played an incoming voice note: it is marked played here (once), and with read receipts on its sender
 * is told ("listened").
 */
export async function markListenedLocal(db: JunctionDB, p: { conversationId: string; messageId: string }, now: number): Promise<{ receipts: boolean }> {
  if (!MessageId.safeParse(p.messageId).success) throw new EngineError("bad_request", "bad message id");
  return inTransaction(db, [db.conversations, db.messages, db.outbox, db.meta], async (db) => {
    const conv = await conversation(db, p.conversationId);
    const msg = await db.messages.get(p.messageId);
    if (!msg || msg.conversationId !== conv.id || msg.attachment?.durationMs === undefined) throw new EngineError("not_found", "no such voice message in this conversation");
    if (msg.direction !== "in" || msg.listenedAt !== undefined) return { receipts: false };
    await db.messages.update(msg.id, { listenedAt: now });
    if (!(await getSettings(db)).readReceipts) return { receipts: false };
    await queueReadReceipt(db, conv.id, [msg.id], now, "listened", conv.groupId ? msg.author : undefined);
    return { receipts: true };
  });
}

export async function updateConversationLocal(db: JunctionDB, p: { conversationId: string; pinned?: boolean; archived?: boolean; muted?: boolean }, now: number): Promise<null> {
  await inTransaction(db, [db.conversations, ...syncTables(db)], async (db) => {
    const conv = await conversation(db, p.conversationId);
    const next: ConversationRow = { ...conv };
    const items: SyncItem[] = [];
    // each field is its own item with its own clock: a pin here and a mute there at once both hold
    const synced = async (field: "pinned" | "archived" | "muted", on: boolean) => {
      const at = await localClock(db, clockKey.conv(conv.id, field), now);
      items.push({ t: "conv", c: conversationRef(conv.id, conv.ourAddress), field, on, at });
      return at;
    };
    if (p.pinned === true && conv.pinnedAt === undefined) next.pinnedAt = await synced("pinned", true);
    if (p.pinned === false && conv.pinnedAt !== undefined) {
      delete next.pinnedAt;
      await synced("pinned", false);
    }
    if (p.archived !== undefined && (conv.archived === 1) !== p.archived) {
      next.archived = p.archived ? 1 : 0;
      await synced("archived", p.archived);
    }
    if (p.muted !== undefined && Boolean(conv.muted) !== p.muted) {
      next.muted = p.muted;
      await synced("muted", p.muted);
    }
    await db.conversations.put(next);
    await queueSync(db, [conv.ourAddress], items, now);
  });
  return null;
}

export async function saveDraftLocal(db: JunctionDB, p: { conversationId: string; text: string; replyTo?: string }, now: number): Promise<null> {
  if (typeof p.text !== "string" || p.text.length > MAX_TEXT_CHARS) throw new EngineError("bad_request", "draft too long");
  if (p.replyTo !== undefined && !MessageId.safeParse(p.replyTo).success) throw new EngineError("bad_request", "bad message id");
  await inTransaction(db, [db.conversations, db.drafts], async (db) => {
    await conversation(db, p.conversationId);
    if (p.text.trim().length === 0) await db.drafts.delete(p.conversationId);
    else await db.drafts.put({ conversationId: p.conversationId, text: p.text, ...(p.replyTo !== undefined ? { replyTo: p.replyTo } : {}), updatedAt: now });
  });
  return null;
}

/**
 * Read receipts are the person's choice, so it holds on all their devices (synced); the theme and "one row
 * per person" fit the screen they are on (a phone in dark, a desktop in light), so they stay per device.
 */
export async function updateSettingsLocal(db: JunctionDB, p: Partial<Settings>, now: number): Promise<null> {
  const patch = SettingsPatch.safeParse(p);
  if (!patch.success) throw new EngineError("bad_request", "unknown setting");
  const readReceipts = patch.data.readReceipts;
  await db.transaction("rw", [db.meta, ...syncTables(db)], async () => {
    const before = await getSettings(db);
    await updateSettings(db, patch.data);
    if (readReceipts === undefined || readReceipts === before.readReceipts) return;
    const at = await localClock(db, clockKey.setting("readReceipts"), now);
    await queueSync(db, "all", [{ t: "setting", name: "readReceipts", on: readReceipts, at }], now);
  });
  return null;
}

/** Longest display name (what the text content's senderName carries). */
export const MAX_DISPLAY_NAME_CHARS = 100;

export async function setDisplayNameLocal(db: JunctionDB, p: { address: Address; displayName: string }): Promise<null> {
  const name = typeof p.displayName === "string" ? p.displayName.trim() : "";
  if (name.length === 0 || name.length > MAX_DISPLAY_NAME_CHARS) throw new EngineError("bad_request", `a display name has 1 to ${MAX_DISPLAY_NAME_CHARS} characters`);
  await inTransaction(db, [db.accounts], async (db) => {
    const account = await db.accounts.get(p.address);
    if (!account) throw new EngineError("not_found", "not one of my accounts");
    // peers learn it inside my next message to them (senderName), end-to-end encrypted
    await db.accounts.put({ ...account, displayName: name });
  });
  return null;
}
