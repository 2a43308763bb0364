// What travels inside the ciphertext: a typed, versioned payload (JSON, then encrypted). The relay
// never sees any of it. Parsed with zod on arrival like every other boundary crossing.
import { z } from "zod";
import { schemas } from "../protocol";
import { MAX_TEXT_CHARS } from "../store/outbox";

export const PAYLOAD_VERSION = 1;
const MessageId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);

export const TextPayload = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  type: z.literal("text"),
  id: MessageId,
  sentAt: z.number().int().nonnegative(),
  text: z.string().min(1).max(MAX_TEXT_CHARS),
  senderName: z.string().max(100),
  /** Only on copies for my own other devices: whom the message was written to. */
  to: schemas.Address.optional(),
});

export const ReceiptPayload = z.strictObject({
  v: z.literal(PAYLOAD_VERSION),
  type: z.literal("receipt"),
  kind: z.literal("delivered"),
  ids: z.array(MessageId).min(1).max(500),
});

export const Payload = z.discriminatedUnion("type", [TextPayload, ReceiptPayload]);
export type TextPayload = z.infer<typeof TextPayload>;
export type ReceiptPayload = z.infer<typeof ReceiptPayload>;
export type Payload = z.infer<typeof Payload>;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodePayload(payload: Payload): Uint8Array {
  return encoder.encode(JSON.stringify(payload));
}

/** Null when the bytes are not a payload we understand (a newer version, or garbage). */
export function decodePayload(bytes: Uint8Array): Payload | null {
  try {
    const parsed = Payload.safeParse(JSON.parse(decoder.decode(bytes)));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
