// The outbox: what waits to go out, strictly in insertion order (auto-increment seq).
import Dexie from "dexie";
import { randomId } from "./ids";
import type { Address } from "../brands";
import type { AttachmentInfo, JunctionDB, MessageRow, OutboxRow, QuoteRef } from "./db";
import { mediaTables } from "./media";
import { putMessageOnce, StoreError } from "./conversations";

export const MAX_TEXT_CHARS = 16_000;
/** Longest quoted text a reply carries. */
export const QUOTE_CHARS = 200;

/**
 * Writes my text as a queued message, its conversation update and the outbox row in one transaction,
 * so a reload at any point either shows it queued (and it will go out) or not at all. `replyTo` quotes a
 * message of the same conversation; the conversation's disappearing timer, if on, applies to it; the
 * conversation's draft is done with.
 */
export async function queueText(db: JunctionDB, conversationId: string, text: string, now: number, opts: { replyTo?: string; attachment?: OutgoingAttachment; mentions?: Address[] } = {}): Promise<MessageRow> {
  return db.transaction("rw", [db.messages, db.conversations, db.outbox, db.drafts, ...mediaTables(db)], async () => {
    const conv = await db.conversations.get(conversationId);
    if (!conv) throw new StoreError("no such conversation");
    let replyTo: QuoteRef | undefined;
    if (opts.replyTo !== undefined) {
      const quoted = await db.messages.get(opts.replyTo);
      if (!quoted || quoted.conversationId !== conversationId) throw new StoreError("no such message to reply to");
      replyTo = quoteOf(quoted, quoted.author ?? (quoted.direction === "in" ? conv.theirAddress : conv.ourAddress));
    }
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
      ...(opts.attachment ? { kind: "attachment" as const, attachment: opts.attachment.info } : {}),
      sentToRelayAt: null,
      deliveredAt: null,
      author: conv.ourAddress,
      ...(replyTo ? { replyTo } : {}),
      ...(opts.mentions?.length ? { mentions: opts.mentions } : {}),
      ...(conv.expiresInMs ? { expiresAt: sentAt + conv.expiresInMs } : {}),
    };
    await putMessageOnce(db, message, now);
    const a = opts.attachment;
    if (a) {
      // the file is kept (it is also what I see of my message) and its upload starts from it, also after a reload
      await db.media.put({ messageId: message.id, conversationId, blob: a.blob, size: a.blob.size, storedAt: now });
      await db.attachmentKeys.put({ messageId: message.id, key: a.key });
      await db.transfers.put({ messageId: message.id, conversationId, direction: "out", state: "uploading", done: 0, total: a.total });
    }
    await db.drafts.delete(conversationId);
    await db.outbox.add({ kind: "message", conversationId, messageId: message.id, createdAt: now, attempts: 0 });
    return message;
  });
}

/** An attachment to queue with its message: the (re-encoded) file, what it shows, and its new key. */
export interface OutgoingAttachment {
  blob: Blob;
  info: AttachmentInfo;
  key: Uint8Array;
  /** Its ciphertext length (the upload's progress counts to it). */
  total: number;
}

/** A delivery receipt owed to a peer; call inside the transaction that stored the messages. */
export async function queueReceipt(db: JunctionDB, conversationId: string, ids: string[], now: number, to?: Address): Promise<void> {
  await db.outbox.add({ kind: "receipt", conversationId, messageId: randomId(), receiptFor: ids, ...(to ? { receiptTo: to } : {}), createdAt: now, attempts: 0 });
}

export async function firstInOutbox(db: JunctionDB): Promise<OutboxRow | undefined> {
  return db.outbox.orderBy("seq").first();
}

/** The snapshot a reply keeps of the message it quotes. */
export function quoteOf(m: MessageRow, fallbackAuthor: MessageRow["author"] & string): QuoteRef {
  const author = m.author ?? fallbackAuthor;
  if (m.deletedAt !== undefined) return { id: m.id, author, text: "", deleted: true };
  const isText = m.kind === undefined || m.kind === "text";
  return { id: m.id, author, text: isText ? m.text.slice(0, QUOTE_CHARS) : "" };
}

/** A read receipt owed to a peer for messages I saw (or a listened one, for voice notes I played). */
export async function queueReadReceipt(db: JunctionDB, conversationId: string, ids: string[], now: number, kind: "read" | "listened" = "read", to?: Address): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await db.outbox.add({ kind: "receipt", receiptKind: kind, readAt: now, conversationId, messageId: randomId(), receiptFor: ids.slice(i, i + 500), ...(to ? { receiptTo: to } : {}), createdAt: now, attempts: 0 });
  }
}
