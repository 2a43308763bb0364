// Fields every content kind shares, and the small schemas they are built from. Pure; no I/O.
import { z } from "zod";
import { schemas } from "../../protocol";

export const CONTENT_VERSION = 1;

export const MessageId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);
export const EnvelopeIdField = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);
/** ms since the epoch on the sender's clock. */
export const Timestamp = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * What a durable kind carries besides its own fields: its id (writes are idempotent by it), the sender's
 * clock, whom it was written to (only on copies for my own other devices) and, on a resend after a
 * decryption-error request, the envelope the recipient could not open (its placeholder goes).
 */
export const durableFields = {
  v: z.literal(CONTENT_VERSION),
  id: MessageId,
  sentAt: Timestamp,
  to: schemas.Address.optional(),
  retryOf: EnvelopeIdField.optional(),
};
