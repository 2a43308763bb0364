// The content envelope: what travels inside the ciphertext (JSON, then encrypted; the relay never sees
// it). `{ v, type, ...fields }`, read leniently so the format can grow without breaking older builds:
// unknown fields are ignored, and an unknown type or a newer version is kept whole as "unknown" for the
// receiver to store and show as "needs a newer version" (and render once it understands it), never
// dropped after the ratchet has moved on.
import { z } from "zod";
import { schemas } from "../../protocol";
import { MAX_TEXT_CHARS } from "../../store/outbox";

export const CONTENT_VERSION = 1;
/** Largest content kept verbatim for a later build to read. */
export const MAX_KEPT_CONTENT_CHARS = 64 * 1024;

export const MessageId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);
const EnvelopeIdField = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);

export const TextContent = z.object({
  v: z.literal(CONTENT_VERSION),
  type: z.literal("text"),
  id: MessageId,
  sentAt: z.number().int().nonnegative(),
  text: z.string().min(1).max(MAX_TEXT_CHARS),
  senderName: z.string().max(100).optional(),
  /** Only on copies for my own other devices: whom the message was written to. */
  to: schemas.Address.optional(),
  /** On a resend: the envelope the recipient could not decrypt (its placeholder is replaced). */
  retryOf: EnvelopeIdField.optional(),
});

export const ReceiptContent = z.object({
  v: z.literal(CONTENT_VERSION),
  type: z.literal("receipt"),
  kind: z.literal("delivered"),
  ids: z.array(MessageId).min(1).max(500),
});

/**
 * The answer to a decryption-error request, over the fresh session: envelopes that carried no message (a
 * receipt: the receiver drops its placeholder) and envelopes the sender no longer holds (the placeholder
 * says the message could not be decrypted, without waiting a day).
 */
export const RetryReplyContent = z.object({
  v: z.literal(CONTENT_VERSION),
  type: z.literal("retryReply"),
  notMessages: z.array(EnvelopeIdField).max(100),
  unavailable: z.array(EnvelopeIdField).max(100),
});

export type TextContent = z.infer<typeof TextContent>;
export type ReceiptContent = z.infer<typeof ReceiptContent>;
export type RetryReplyContent = z.infer<typeof RetryReplyContent>;
export type KnownContent = TextContent | ReceiptContent | RetryReplyContent;

/** Content this build does not understand, with what is needed to store it where it belongs. */
export interface UnknownContent {
  type: "unknown";
  /** The content as received, for a newer build to read (empty when it was not even text). */
  raw: string;
  id?: string;
  sentAt?: number;
  to?: string;
}

export type Content = KnownContent | UnknownContent;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

const KNOWN: Record<string, z.ZodType<KnownContent>> = { text: TextContent, receipt: ReceiptContent, retryReply: RetryReplyContent };

export function encodeContent(content: KnownContent): Uint8Array {
  return encoder.encode(JSON.stringify(content));
}

/** Parses decrypted content; anything not understood comes back as "unknown", never as an error. */
export function decodeContent(bytes: Uint8Array): Content {
  let raw = "";
  try {
    raw = decoder.decode(bytes);
  } catch {
    return { type: "unknown", raw: "" };
  }
  return parseContent(raw);
}

export function parseContent(raw: string): Content {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { type: "unknown", raw: raw.slice(0, MAX_KEPT_CONTENT_CHARS) };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { type: "unknown", raw: raw.slice(0, MAX_KEPT_CONTENT_CHARS) };
  const fields = value as Record<string, unknown>;
  const schema = fields.v === CONTENT_VERSION && typeof fields.type === "string" ? KNOWN[fields.type] : undefined;
  const parsed = schema?.safeParse(value);
  if (parsed?.success) return parsed.data;
  return {
    type: "unknown",
    raw: raw.length <= MAX_KEPT_CONTENT_CHARS ? raw : "",
    id: MessageId.safeParse(fields.id).success ? (fields.id as string) : undefined,
    sentAt: typeof fields.sentAt === "number" && Number.isSafeInteger(fields.sentAt) && fields.sentAt >= 0 ? fields.sentAt : undefined,
    to: schemas.Address.safeParse(fields.to).success ? (fields.to as string) : undefined,
  };
}
