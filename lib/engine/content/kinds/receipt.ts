// receipt: "delivered" (sent by the device on storing my messages), "read" (sent when the person saw
// them, only while read receipts are on) or "listened" (a voice note of mine was played, under the same
// setting). Moves my messages forward, never back.
import { z } from "zod";
import { schemas } from "../../../protocol";
import { CONTENT_VERSION, MessageId, Timestamp } from "../base";

export const MAX_RECEIPT_IDS = 500;

export const ReceiptContent = z.object({
  v: z.literal(CONTENT_VERSION),
  type: z.literal("receipt"),
  kind: z.enum(["delivered", "read", "listened"]),
  ids: z.array(MessageId).min(1).max(MAX_RECEIPT_IDS),
  /** When they were read (or played), on the reader's clock (read and listened receipts only). */
  at: Timestamp.optional(),
  /**
   * Only on copies of my read receipts for my own other devices: whose messages I read (they mark them
   * read too, so unread counts agree across my devices).
   */
  to: schemas.Address.optional(),
  /** For messages of mine in this group (hex id): the receipt goes to me alone, over our pairwise session. */
  groupId: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type ReceiptContent = z.infer<typeof ReceiptContent>;

export const receipt = { type: "receipt", schema: ReceiptContent, delivery: "durable", placement: "receipt" } as const;
