"use client";
// Live reads of the read model. Every query here is served by an index of lib/store/db.ts,
// so the inbox stays fast with thousands of conversations and the log with thousands of messages.
import Dexie from "dexie";
import { useLiveQuery } from "dexie-react-hooks";
import { getDb } from "../store/db";
import type { AccountRow, ContactRow, ConversationRow, IdentityRow, InboxFilter, MessageRow } from "./types";

/** undefined while loading, then my accounts on this device, oldest first. */
export function useAccounts(): AccountRow[] | undefined {
  return useLiveQuery(async () => {
    const rows = await getDb().accounts.toArray();
    return rows.sort((a, b) => a.createdAt - b.createdAt);
  }, []);
}

/** Conversations for one filter chip, newest activity first. */
export function useConversations(filter: InboxFilter): ConversationRow[] | undefined {
  return useLiveQuery(() => {
    const table = getDb().conversations;
    if (filter === "all") return table.orderBy("lastActivity").reverse().toArray();
    if (filter === "unread") {
      return table.where("[hasUnread+lastActivity]").between([1, Dexie.minKey], [1, Dexie.maxKey]).reverse().toArray();
    }
    return table.where("[ourBrand+lastActivity]").between([filter, Dexie.minKey], [filter, Dexie.maxKey]).reverse().toArray();
  }, [filter]);
}

/** How people named themselves, by address. */
export function useContactNames(): ReadonlyMap<string, string> | undefined {
  return useLiveQuery(async () => {
    const rows: ContactRow[] = await getDb().contacts.toArray();
    const names = new Map<string, string>();
    for (const row of rows) if (row.displayName) names.set(row.address, row.displayName);
    return names;
  }, []);
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
