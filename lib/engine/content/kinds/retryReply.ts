// retryReply: the answer to a decryption-error request, over the fresh session: envelopes that carried no
// message (a receipt or a change: the receiver drops its placeholder) and envelopes the sender no longer
// holds (the placeholder says the message could not be decrypted, without waiting a day).
import { z } from "zod";
import { CONTENT_VERSION, EnvelopeIdField } from "../base";

export const RetryReplyContent = z.object({
  v: z.literal(CONTENT_VERSION),
  type: z.literal("retryReply"),
  notMessages: z.array(EnvelopeIdField).max(100),
  unavailable: z.array(EnvelopeIdField).max(100),
});
export type RetryReplyContent = z.infer<typeof RetryReplyContent>;

export const retryReply = { type: "retryReply", schema: RetryReplyContent, delivery: "durable", placement: "control" } as const;
