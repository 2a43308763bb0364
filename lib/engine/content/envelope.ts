// The content envelope: what travels inside the ciphertext (JSON, then encrypted; the relay never sees
// it). `{ v, type, ...fields }`, read leniently so the format can grow without breaking older builds:
// unknown fields are ignored, and an unknown type or a newer version is kept whole as "unknown" for the
// receiver to store and show as "needs a newer version" (and render once it understands it), never
// dropped after the ratchet has moved on.
import { schemas } from "../../protocol";
import { CONTENT_VERSION, MessageId } from "./base";
import { kindOf, type KnownContent } from "./registry";

export { CONTENT_VERSION, MessageId } from "./base";
export type { KnownContent, ChangeContent, MessageContent } from "./registry";
export { TextContent } from "./kinds/text";
export { AttachmentContent } from "./kinds/attachment";
export { ReceiptContent } from "./kinds/receipt";
export { RetryReplyContent } from "./kinds/retryReply";

/** Largest content kept verbatim for a later build to read. */
export const MAX_KEPT_CONTENT_CHARS = 64 * 1024;

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
  const schema = fields.v === CONTENT_VERSION && typeof fields.type === "string" ? kindOf(fields.type)?.schema : undefined;
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
