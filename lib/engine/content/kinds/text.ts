// text: a message of its own (a row), optionally quoting an earlier one and carrying the disappearing
// timer it was sent under. The receive hot path: stored in bulk by commitBatch, never one by one.
import { z } from "zod";
import { MAX_TEXT_CHARS, QUOTE_CHARS } from "../../../store/outbox";
import { DISAPPEARING_MAX_MS } from "./timer";
import { durableFields, MessageId } from "../base";
import { schemas } from "../../../protocol";

/** Members one message mentions, at most. */
export const MAX_MENTIONS = 50;

/** Longest quoted text a reply carries (the quote is a snapshot, not the original). */
export const MAX_QUOTE_CHARS = QUOTE_CHARS;

export const Quote = z.object({
  id: MessageId,
  author: schemas.Address,
  text: z.string().max(MAX_QUOTE_CHARS),
});

export const TextContent = z.object({
  ...durableFields,
  type: z.literal("text"),
  text: z.string().min(1).max(MAX_TEXT_CHARS),
  /** My display name, so the peer learns it (and a rename) inside my messages, never from the relay. */
  senderName: z.string().max(100).optional(),
  replyTo: Quote.optional(),
  /** The disappearing timer this message was sent under (ms); absent or 0: it stays. */
  expiresInMs: z.number().int().min(0).max(DISAPPEARING_MAX_MS).optional(),
  /** In a group: the members this message mentions (`@name` in the text), by address. */
  mentions: z.array(schemas.Address).max(MAX_MENTIONS).optional(),
});
export type TextContent = z.infer<typeof TextContent>;

export const text = { type: "text", schema: TextContent, delivery: "durable", placement: "message" } as const;
