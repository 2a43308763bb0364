// The outbox: what waits to go out, strictly in insertion order (auto-increment seq).
import Dexie from "dexie";
import { randomId } from "./ids";
import type { JunctionDB, MessageRow, OutboxRow } from "./db";
import { putMessageOnce, StoreError } from "./conversations";

export const MAX_TEXT_CHARS = 16_000;

/**
 * Writes my text as a queued message, its conversation update and the outbox row in one transaction,
 * so a reload at any point either shows it queued (and it will go out) or not at all.
 */
export async function queueText(db: JunctionDB, conversationId: string, text: string, now: number): Promise<MessageRow> {
  return db.transaction("rw", [db.messages, db.conversations, db.outbox], async () => {
    if (!(await db.conversations.get(conversationId))) throw new StoreError("no such conversation");
    // messages sort by sentAt: two sends in one millisecond (or after a message from a peer whose clock
    // runs ahead) still get distinct, increasing times, so both sides show them in the order written
    const newest = await db.messages
      .where("[conversationId+sentAt]")
      .between([conversationId, Dexie.minKey], [conversationId, Dexie.maxKey])
      .last();
    const sentAt = newest ? Math.max(now, newest.sentAt + 1) : now;
    const message: MessageRow = {
      id: randomId(),
      conversationId,
      direction: "out",
      text,
      sentAt,
      receivedAt: now,
      state: "queued",
      sentToRelayAt: null,
      deliveredAt: null,
    };
    await putMessageOnce(db, message, now);
    await db.outbox.add({ kind: "message", conversationId, messageId: message.id, createdAt: now, attempts: 0 });
    return message;
  });
}

/** A delivery receipt owed to a peer; call inside the transaction that stored the messages. */
export async function queueReceipt(db: JunctionDB, conversationId: string, ids: string[], now: number): Promise<void> {
  await db.outbox.add({ kind: "receipt", conversationId, messageId: randomId(), receiptFor: ids, createdAt: now, attempts: 0 });
}

export async function firstInOutbox(db: JunctionDB): Promise<OutboxRow | undefined> {
  return db.outbox.orderBy("seq").first();
}
