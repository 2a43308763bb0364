// The read-model queries behind the live hooks, as plain functions over a database so they can be
// tested in Node against fake-indexeddb. Every one is served by an index of lib/store/db.ts.
import Dexie from "dexie";
import type { JunctionDB } from "../store/db";
import type { AccountRow, ConversationRow, InboxFilter, MessageRow } from "./types";

export interface InboxRows {
  rows: ConversationRow[];
  /** How each peer named themselves, for the rows above. */
  names: ReadonlyMap<string, string>;
  /** The query stopped at the limit: more rows exist. */
  truncated: boolean;
  /** How many conversations the filter matches in all (counted by the index, without reading them). */
  total: number;
}

/**
 * Conversations for one filter chip, pinned first (newest pin first), then newest activity first, at
 * most `limit` (Infinity for all). Archived conversations show only under "archived".
 *
 * Every read is one request over an index (IndexedDB cursors cost a round trip per row, which at 5,000
 * conversations is seconds): archived and pinned rows are few and each has an index, so they are read
 * whole; the rest comes from the filter's index with a limit raised by the rows of that range to skip.
 */
/** My accounts on this device, oldest first. */
export async function queryAccounts(db: JunctionDB): Promise<AccountRow[]> {
  const rows = await db.accounts.toArray();
  return rows.sort((a, b) => a.createdAt - b.createdAt);
}

export async function queryInbox(db: JunctionDB, filter: InboxFilter, limit: number): Promise<InboxRows> {
  const table = db.conversations;
  const archivedView = filter === "archived";
  /** The row is in the filter's index range (before archived and pinned rows are set apart). */
  const inRange = (row: ConversationRow) => filter === "all" || archivedView || (filter === "unread" ? row.hasUnread === 1 : row.ourBrand === filter);
  const inView = (row: ConversationRow) => inRange(row) && (row.archived === 1) === archivedView;
  const [archived, pinnedAll] = await Promise.all([table.where("archived").equals(1).toArray(), table.where("pinnedAt").above(0).toArray()]);
  const pinned = pinnedAll.filter(inView).sort((a, b) => (b.pinnedAt ?? 0) - (a.pinnedAt ?? 0));
  const byActivity = (a: ConversationRow, b: ConversationRow) => b.lastActivity - a.lastActivity;
  let rest: ConversationRow[];
  let restTotal: () => Promise<number>;
  if (archivedView) {
    const pinnedIds = new Set(pinned.map((r) => r.id));
    rest = archived.filter((r) => !pinnedIds.has(r.id)).sort(byActivity);
    const all = rest.length;
    restTotal = async () => all;
  } else {
    // rows of the range shown elsewhere (archived) or above (pinned)
    const skip = new Set([...archived.filter(inRange), ...pinned].map((r) => r.id));
    // a fresh collection per use: Dexie's limit() changes the collection it is called on
    const range = () =>
      filter === "all"
        ? table.orderBy("lastActivity")
        : filter === "unread"
          ? table.where("[hasUnread+lastActivity]").between([1, Dexie.minKey], [1, Dexie.maxKey])
          : // a brand chip means the conversations my account on that brand holds, whoever the peer is
            table.where("[ourBrand+lastActivity]").between([filter, Dexie.minKey], [filter, Dexie.maxKey]);
    const want = Math.max(0, limit - pinned.length);
    // newest first: a page walks the index backwards (a cursor, a few dozen rows); the whole range is one
    // getAll forwards, reversed here (backwards it would be a cursor step per row: seconds at 5,000)
    const read = Number.isFinite(want) ? await range().reverse().limit(want + 1 + skip.size).toArray() : (await range().toArray()).reverse();
    rest = read.filter((r) => !skip.has(r.id));
    restTotal = async () => (await range().count()) - skip.size;
  }
  const rows = [...pinned, ...rest];
  const truncated = rows.length > limit;
  if (truncated) rows.length = limit;
  const total = truncated ? pinned.length + (await restTotal()) : rows.length;
  // a page asks for its own peers; the whole list reads every contact in one request (a bulkGet is a
  // request per key)
  const contacts = rows.length > 100 ? await db.contacts.toArray() : await db.contacts.bulkGet(rows.map((r) => r.theirAddress));
  const names = new Map<string, string>();
  for (const contact of contacts) if (contact?.displayName) names.set(contact.address, contact.displayName);
  return { rows, names, truncated, total };
}

export interface MessageWindow {
  messages: MessageRow[];
  /** More, older messages exist beyond the window. */
  hasOlder: boolean;
}

/** The newest `limit` messages of a conversation in display order (oldest first). */
export async function queryMessageWindow(db: JunctionDB, conversationId: string, limit: number): Promise<MessageWindow> {
  // one extra row tells whether older ones exist without counting the whole conversation
  const rows = await db.messages
    .where("[conversationId+sentAt]")
    .between([conversationId, Dexie.minKey], [conversationId, Dexie.maxKey])
    .reverse()
    .limit(limit + 1)
    .toArray();
  const hasOlder = rows.length > limit;
  const messages = rows.slice(0, limit);
  // the sender's clock orders messages; equal clocks fall back to arrival order
  messages.sort((a, b) => a.sentAt - b.sentAt || a.receivedAt - b.receivedAt);
  return { messages, hasOlder };
}

/** Sum of unread counts over every conversation that is not muted, for the title and the app badge. */
export async function queryUnreadTotal(db: JunctionDB): Promise<number> {
  // one getAll over the unread index: IndexedDB cursors cost a round trip per row
  const rows = await db.conversations.where("[hasUnread+lastActivity]").between([1, Dexie.minKey], [1, Dexie.maxKey]).toArray();
  return unreadTotal(rows);
}

/** Unread messages that count for the badge: a muted conversation gives no badge. */
export function unreadTotal(rows: readonly ConversationRow[]): number {
  return rows.reduce((total, row) => total + (row.muted ? 0 : row.unread), 0);
}
