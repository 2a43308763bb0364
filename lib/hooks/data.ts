"use client";
// Live reads of the read model. Every query here is served by an index of lib/store/db.ts,
// so the inbox stays fast with thousands of conversations and the log with thousands of messages.
import Dexie from "dexie";
import { useLiveQuery } from "dexie-react-hooks";
import type { Address } from "../brands";
import { getDb } from "../store/db";
import type { AccountRow, ContactRow, ConversationRow, IdentityRow, InboxFilter, MessageRow } from "./types";

/** undefined while loading, then my accounts on this device, oldest first. */
export function useAccounts(): AccountRow[] | undefined {
  return useLiveQuery(async () => {
    const rows = await getDb().accounts.toArray();
    return rows.sort((a, b) => a.createdAt - b.createdAt);
  }, []);
}

export interface InboxRows {
  rows: ConversationRow[];
  /** How each peer named themselves, for the rows above. */
  names: ReadonlyMap<string, string>;
  /** The query stopped at the limit: more rows exist. */
  truncated: boolean;
}

/**
 * Conversations for one filter chip, newest activity first, with their peers' names, at most `limit`.
 * The inbox asks for a screenful first and for everything right after, so the first rows paint
 * without waiting for thousands of others.
 */
export function useInbox(filter: InboxFilter, limit: number): InboxRows | undefined {
  return useLiveQuery(async () => {
    const db = getDb();
    const table = db.conversations;
    const query =
      filter === "all"
        ? table.orderBy("lastActivity").reverse()
        : filter === "unread"
          ? table.where("[hasUnread+lastActivity]").between([1, Dexie.minKey], [1, Dexie.maxKey]).reverse()
          : table.where("[ourBrand+lastActivity]").between([filter, Dexie.minKey], [filter, Dexie.maxKey]).reverse();
    const rows = await (Number.isFinite(limit) ? query.limit(limit + 1) : query).toArray();
    const truncated = rows.length > limit;
    if (truncated) rows.length = limit;
    const contacts = await db.contacts.bulkGet(rows.map((r) => r.theirAddress));
    const names = new Map<string, string>();
    for (const contact of contacts) if (contact?.displayName) names.set(contact.address, contact.displayName);
    return { rows, names, truncated };
  }, [filter, limit]);
}

/** How the person at `address` named themselves, or null. */
export function useContactName(address: Address | null): string | null | undefined {
  return useLiveQuery(async () => {
    if (!address) return null;
    const contact: ContactRow | undefined = await getDb().contacts.get(address);
    return contact?.displayName ?? null;
  }, [address]);
}

/** undefined while loading, null when there is no such conversation. */
export function useConversation(id: string | null): ConversationRow | null | undefined {
  return useLiveQuery(async () => (id ? ((await getDb().conversations.get(id)) ?? null) : null), [id]);
}

export interface MessageWindow {
  messages: MessageRow[];
  /** More, older messages exist beyond the window. */
  hasOlder: boolean;
}

/** The newest `limit` messages of a conversation in display order (oldest first). */
export function useMessages(conversationId: string | null, limit: number): MessageWindow | undefined {
  return useLiveQuery(async () => {
    if (!conversationId) return { messages: [], hasOlder: false };
    // one extra row tells whether older ones exist without counting the whole conversation
    const rows = await getDb()
      .messages.where("[conversationId+sentAt]")
      .between([conversationId, Dexie.minKey], [conversationId, Dexie.maxKey])
      .reverse()
      .limit(limit + 1)
      .toArray();
    const hasOlder = rows.length > limit;
    const messages = rows.slice(0, limit).reverse();
    // the sender's clock orders messages; equal clocks fall back to arrival order
    messages.sort((a, b) => a.sentAt - b.sentAt || a.receivedAt - b.receivedAt);
    return { messages, hasOlder };
  }, [conversationId, limit]);
}

/** The peer's identity as seen from my account in this conversation (verified state, key change). */
export function useIdentity(conversationId: string | null): IdentityRow | null | undefined {
  return useLiveQuery(async () => (conversationId ? ((await getDb().identities.get(conversationId)) ?? null) : null), [conversationId]);
}

/** Sum of unread counts over every conversation, for the title and the app badge. */
export function useUnreadTotal(): number {
  return useLiveQuery(
    async () => {
      let total = 0;
      await getDb()
        .conversations.where("[hasUnread+lastActivity]")
        .between([1, Dexie.minKey], [1, Dexie.maxKey])
        .each((row) => {
          total += row.unread;
        });
      return total;
    },
    [],
    0,
  );
}
