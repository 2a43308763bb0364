// typing: ephemeral. Pushed only to the peer's live connections (relay event typing:send), never stored by
// the relay or the outbox; the receiver shows "typing…" until TYPING_TTL_MS after the last one, or until
// "stopped" or a message from them. Never creates a conversation or a message.
import { z } from "zod";
import { CONTENT_VERSION, Timestamp } from "../base";

export const TypingContent = z.object({
  v: z.literal(CONTENT_VERSION),
  type: z.literal("typing"),
  typing: z.boolean(),
  sentAt: Timestamp,
  /** In a group (hex id): "typing" there, from the member who sent it. */
  groupId: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type TypingContent = z.infer<typeof TypingContent>;

export const typing = { type: "typing", schema: TypingContent, delivery: "ephemeral", placement: "signal" } as const;
