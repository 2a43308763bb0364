// Rows and a throwaway database for the read-model query tests (tests only; the test file imports
// "fake-indexeddb/auto" first, before anything loads Dexie).
import { afterEach, beforeEach } from "vitest";
import type { Address, BrandId } from "../brands";
import { JunctionDB, conversationId, type ConversationRow, type MessageRow } from "../store/db";

/** A fresh database per test, deleted after it; call at the top of a test file, read `.db` inside tests. */
export function freshDb(prefix: string): { db: JunctionDB } {
  const holder = {} as { db: JunctionDB };
  beforeEach(async () => {
    holder.db = new JunctionDB(`${prefix}-${Math.random().toString(36).slice(2)}`);
    await holder.db.open();
  });
  afterEach(async () => {
    holder.db.close();
    await holder.db.delete();
  });
  return holder;
}

/** A direct conversation between `our` and `their` as the engine stores it, with nothing in it yet. */
export function conversation(our: Address, their: Address, lastActivity: number, unread = 0): ConversationRow {
  return {
    id: conversationId(our, their),
    ourAddress: our,
    theirAddress: their,
    ourBrand: our.split(":")[0] as BrandId,
    theirBrand: their.split(":")[0] as BrandId,
    lastActivity,
    lastMessageId: null,
    lastPreview: "",
    lastDirection: null,
    lastState: null,
    unread,
    hasUnread: unread > 0 ? 1 : 0,
    createdAt: lastActivity,
  };
}

/** An incoming, delivered text message whose text is its id. */
export function message(conv: string, id: string, sentAt: number, receivedAt = sentAt): MessageRow {
  return { id, conversationId: conv, direction: "in", text: id, sentAt, receivedAt, state: "delivered", sentToRelayAt: null, deliveredAt: null };
}
