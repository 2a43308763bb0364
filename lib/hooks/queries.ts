// The read-model queries behind the live hooks, as plain functions over a database so they can be
// tested in Node against fake-indexeddb. Every one is served by an index of lib/store/db.ts.
import Dexie from "dexie";
import type { Address } from "../brands";
import type { JunctionDB } from "../store/db";
import type { AccountRow, ConversationRow, InboxFilter, MessageRow } from "./types";

/** One person's conversations folded into one inbox row ("One row per person"). */
export interface PersonGroup {
  personId: string;
  /** The name I gave one of their addresses, else the name they gave themselves on the newest one. */
  name: string;
  /** Their conversations in this view, newest activity first (the first is the row's). */
  conversations: ConversationRow[];
  /** Unread messages over all of them. */
  unread: number;
  lastActivity: number;
}

export interface InboxRows {
  rows: ConversationRow[];
  /**
   * With "One row per person": rows that stand for a person, by the row's conversation id (the person's
   * newest conversation in the view). Absent otherwise.
   */
  people?: ReadonlyMap<string, PersonGroup>;
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

/** The inbox as my settings show it: one row per person when "One row per person" is on. */
export async function queryInboxAsSet(db: JunctionDB, filter: InboxFilter, limit: number): Promise<InboxRows> {
  // the setting is read here, not passed in: the first rows then wait for one small read, not for a
  // second render, and come merged or not from the start (no flash of the other form)
  const row = await db.meta.get("settings");
  const onePerPerson = typeof row?.value === "object" && row.value !== null && (row.value as { onePerPerson?: unknown }).onePerPerson === true;
  return queryInbox(db, filter, limit, { onePerPerson });
}

export async function queryInbox(db: JunctionDB, filter: InboxFilter, limit: number, options: { onePerPerson?: boolean } = {}): Promise<InboxRows> {
  if (options.onePerPerson) return queryPeopleInbox(db, filter, limit);
  return queryConversations(db, filter, limit);
}

/** The row is in the filter's index range (before archived and pinned rows are set apart). */
function inRangeOf(filter: InboxFilter): (row: ConversationRow) => boolean {
  return (row) =>
    filter === "all" || filter === "archived" || (filter === "unread" ? row.hasUnread === 1 : filter === "groups" ? row.groupId !== undefined : row.ourBrand === filter);
}

/** The row shows under this filter. */
function inViewOf(filter: InboxFilter): (row: ConversationRow) => boolean {
  const inRange = inRangeOf(filter);
  return (row) => inRange(row) && (row.archived === 1) === (filter === "archived");
}

async function queryConversations(db: JunctionDB, filter: InboxFilter, limit: number): Promise<InboxRows> {
  const table = db.conversations;
  const archivedView = filter === "archived";
  const inRange = inRangeOf(filter);
  const inView = inViewOf(filter);
  const [archived, pinnedAll] = await Promise.all([table.where("archived").equals(1).toArray(), table.where("pinnedAt").above(0).toArray()]);
  const pinned = pinnedAll.filter(inView).sort((a, b) => (b.pinnedAt ?? 0) - (a.pinnedAt ?? 0));
  const byActivity = (a: ConversationRow, b: ConversationRow) => b.lastActivity - a.lastActivity;
  let rest: ConversationRow[];
  let restTotal: () => Promise<number>;
  if (filter === "groups") {
    // groups are few beside conversations: their rows are read whole through the groups table
    const ids = (await db.groups.toArray()).map((g) => g.conversationId);
    const pinnedIds = new Set(pinned.map((r) => r.id));
    rest = (await table.bulkGet(ids)).filter((r): r is ConversationRow => !!r && r.archived !== 1 && !pinnedIds.has(r.id)).sort(byActivity);
    const all = rest.length;
    restTotal = async () => all;
  } else if (archivedView) {
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
  const names = await namesOf(db, rows.map((r) => r.theirAddress));
  return { rows, names, truncated, total };
}

/**
 * What to call each address: the name I gave it, else the name they gave themselves. Few addresses are
 * asked for one by one (a bulkGet is a request per key); many read both tables whole in two requests.
 */
export async function namesOf(db: JunctionDB, addresses: readonly Address[]): Promise<Map<string, string>> {
  const many = addresses.length > 100;
  const [contacts, book] = await Promise.all([
    many ? db.contacts.toArray() : db.contacts.bulkGet([...addresses]),
    many ? db.addressBook.toArray() : db.addressBook.bulkGet([...addresses]),
  ]);
  const names = new Map<string, string>();
  for (const contact of contacts) if (contact?.displayName) names.set(contact.address, contact.displayName);
  for (const entry of book) if (entry?.nickname) names.set(entry.address, entry.nickname);
  return names;
}

/**
 * "One row per person": the same inbox with each joined person's conversations folded into one row
 * (newest activity of them all, their unread summed, every brand pair). Joined addresses are few and
 * indexed (only they are in addressBook's personId index), and so are their conversations (by
 * theirAddress): two small reads, then the ordinary first page, longer by at most the rows it folds.
 */
async function queryPeopleInbox(db: JunctionDB, filter: InboxFilter, limit: number): Promise<InboxRows> {
  const joined = await db.addressBook.orderBy("personId").toArray();
  if (joined.length === 0) return queryConversations(db, filter, limit);
  const personOf = new Map<string, string>();
  for (const entry of joined) if (entry.personId) personOf.set(entry.address, entry.personId);
  const inView = inViewOf(filter);
  // a group is never one person's, whoever holds it or is in it: it stays its own row
  const folds = (row: ConversationRow) => row.groupId === undefined && personOf.has(row.theirAddress);
  const theirs = (await db.conversations.where("theirAddress").anyOf([...personOf.keys()]).toArray()).filter((c) => inView(c) && folds(c));
  const byPerson = new Map<string, ConversationRow[]>();
  for (const conv of theirs) {
    const personId = personOf.get(conv.theirAddress) as string;
    byPerson.set(personId, [...(byPerson.get(personId) ?? []), conv]);
  }
  // Every row folded away is one of `theirs`, so a page longer by all of them always holds `limit` rows
  // after folding; but with hundreds joined that is hundreds of rows for a screenful. A page longer by a
  // screenful mostly does, and a longer one is read only when folding left it short.
  const memberNamesRead = namesOf(db, theirs.map((c) => c.theirAddress));
  let extra = Math.min(theirs.length, Number.isFinite(limit) ? Math.max(limit, 16) : 0);
  let base = await queryConversations(db, filter, Number.isFinite(limit) ? limit + extra : limit);
  const keptOf = (page: InboxRows) => {
    const seenHere = new Set<string>();
    let kept = 0;
    for (const row of page.rows) {
      const personId = folds(row) ? personOf.get(row.theirAddress) : undefined;
      if (personId !== undefined && seenHere.has(personId)) continue;
      if (personId !== undefined) seenHere.add(personId);
      kept += 1;
    }
    return kept;
  };
  while (Number.isFinite(limit) && base.truncated && extra < theirs.length && keptOf(base) < limit + 1) {
    extra = Math.min(theirs.length, extra * 2);
    base = await queryConversations(db, filter, limit + extra);
  }
  const memberNames = await memberNamesRead;
  const people = new Map<string, PersonGroup>();
  const seen = new Set<string>();
  const rows: ConversationRow[] = [];
  for (const row of base.rows) {
    const personId = folds(row) ? personOf.get(row.theirAddress) : undefined;
    if (personId === undefined) {
      rows.push(row);
      continue;
    }
    if (seen.has(personId)) continue;
    seen.add(personId);
    const conversations = (byPerson.get(personId) ?? [row]).sort((a, b) => b.lastActivity - a.lastActivity);
    const mine = joined.find((e) => e.personId === personId && e.nickname)?.nickname;
    people.set(row.id, {
      personId,
      name: mine ?? memberNames.get(row.theirAddress) ?? conversations.map((c) => memberNames.get(c.theirAddress)).find(Boolean) ?? row.theirAddress,
      conversations,
      unread: conversations.reduce((n, c) => n + c.unread, 0),
      lastActivity: Math.max(...conversations.map((c) => c.lastActivity)),
    });
    rows.push(row);
  }
  let folded = 0;
  for (const list of byPerson.values()) folded += list.length - 1;
  const truncated = base.truncated || rows.length > limit;
  if (rows.length > limit) rows.length = limit;
  const names = new Map(base.names);
  for (const [address, name] of memberNames) names.set(address, name);
  return { rows, people, names, truncated, total: truncated ? base.total - folded : rows.length };
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

/**
 * The newest `limit` messages of several conversations (one person's, "One row per person") as one
 * timeline in display order: each conversation's own newest `limit` by its index, merged here.
 */
export async function queryTimeline(db: JunctionDB, conversationIds: readonly string[], limit: number): Promise<MessageWindow> {
  const parts = await Promise.all(
    conversationIds.map((id) =>
      db.messages
        .where("[conversationId+sentAt]")
        .between([id, Dexie.minKey], [id, Dexie.maxKey])
        .reverse()
        .limit(limit + 1)
        .toArray(),
    ),
  );
  const all = parts.flat().sort((a, b) => b.sentAt - a.sentAt || b.receivedAt - a.receivedAt);
  // a conversation that had more than `limit` makes the merged list longer than `limit` too
  const hasOlder = all.length > limit;
  const messages = all.slice(0, limit).reverse();
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
