// attachment: a photo, file or voice note as a message of its own. The file itself is a blob on the
// relay, encrypted with a fresh key (lib/crypto/attachments); this content carries what the recipient
// needs to fetch and check it (blob id, key, digest, key commitment, size) and what is shown before it
// comes (name, type, dimensions, a small thumbnail, a voice note's duration and waveform), plus the
// durable fields a text has. Every field is bounded: a hostile peer's oversized or malformed attachment
// fails this schema and is kept as "unknown" (shown as "needs a newer version"), never fetched.
import { z } from "zod";
import { MAX_TEXT_CHARS } from "../../../store/outbox";
import { DISAPPEARING_MAX_MS } from "./timer";
import { durableFields } from "../base";
import { schemas } from "../../../protocol";
import { Quote } from "./text";

/** Largest file that can be attached (its plaintext; the padded ciphertext fits the relay's blob cap). */
export const MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024;
/** Largest thumbnail carried inside the content (bytes of JPEG or WebP). */
export const MAX_THUMB_BYTES = 8 * 1024;
export const MAX_FILE_NAME_CHARS = 255;
export const MAX_IMAGE_SIDE = 20_000;
export const MAX_VOICE_MS = 60 * 60_000;
export const MAX_WAVEFORM_BARS = 100;
export const WAVEFORM_LEVELS = 32;

/** Exactly `n` bytes as unpadded base64url. */
function b64Exactly(n: number) {
  return z.string().length(Math.ceil((n * 4) / 3)).regex(/^[A-Za-z0-9_-]*$/, "not base64url");
}

/** A MIME type as `type/subtype` (no parameters): what the receiver uses to pick how to show it. */
export const MimeType = z.string().max(100).regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i, "not a MIME type");

/** A file name to show and to offer when saving: no path separators, no control characters. */
export const FileName = z
  .string()
  .min(1)
  .max(MAX_FILE_NAME_CHARS)
  .regex(/^[^/\\\u0000-\u001f\u007f]+$/, "not a file name")
  .refine((n) => n !== "." && n !== "..", "not a file name");

/** Where an attachment's ciphertext is and how to open and check it (a history archive carries the same per message). */
export const PointerFields = {
  blobId: schemas.BlobId,
  key: b64Exactly(32),
  digest: b64Exactly(32),
  commitment: b64Exactly(32),
};

export const AttachmentContent = z.object({
  ...durableFields,
  type: z.literal("attachment"),
  ...PointerFields,
  size: z.number().int().min(0).max(MAX_ATTACHMENT_BYTES),
  mime: MimeType,
  name: FileName,
  width: z.number().int().min(1).max(MAX_IMAGE_SIDE).optional(),
  height: z.number().int().min(1).max(MAX_IMAGE_SIDE).optional(),
  thumb: z.string().min(4).max(Math.ceil((MAX_THUMB_BYTES * 4) / 3)).regex(/^[A-Za-z0-9_-]*$/, "not base64url").optional(),
  caption: z.string().min(1).max(MAX_TEXT_CHARS).optional(),
  voice: z
    .object({
      durationMs: z.number().int().min(0).max(MAX_VOICE_MS),
      waveform: z.array(z.number().int().min(0).max(WAVEFORM_LEVELS - 1)).max(MAX_WAVEFORM_BARS),
    })
    .optional(),
  senderName: z.string().max(100).optional(),
  replyTo: Quote.optional(),
  expiresInMs: z.number().int().min(0).max(DISAPPEARING_MAX_MS).optional(),
});
export type AttachmentContent = z.infer<typeof AttachmentContent>;

export const attachment = { type: "attachment", schema: AttachmentContent, delivery: "durable", placement: "message" } as const;
