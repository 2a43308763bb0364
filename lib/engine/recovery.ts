// Decryption-error requests (in the manner of Signal's retry receipts): a receiver that cannot open a
// message asks the sending device to send it again. The request travels as a plaintext frame, not through
// the session, because the session is what failed; the relay stamps who sent it. All it can make a sender
// do is start a fresh session and resend to the requesting device what was addressed to that device, so a
// forged request reveals nothing and costs a prekey message.
import { z } from "zod";
import { MessageId } from "./content/envelope";

/** First byte of a decryption-error request; ciphertexts start 0x11/0x12 (lib/crypto). */
export const DECRYPTION_ERROR_FRAME = 0x31;
export const MAX_IDS_PER_REQUEST = 100;
/** A placeholder that nothing replaced within this long says the message could not be decrypted. */
export const WAITING_TTL_MS = 24 * 60 * 60 * 1000;
/** Requests one receiver sends one peer device, at most, per window (the rest wait for the next window). */
export const REQUESTS_PER_DEVICE = { count: 10, windowMs: 10 * 60 * 1000 } as const;
/** A sender starts over with a device at most this often; later requests in the window only resend. */
export const SESSION_RESET_INTERVAL_MS = 60 * 1000;
/** What I sent is kept this long (and at most this many envelopes) so that a request can be answered. */
export const SENT_LOG_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const SENT_LOG_MAX = 20_000;

/** Groups one request asks sender keys for, at most. */
export const MAX_GROUPS_PER_REQUEST = 20;

const Request = z
  .object({
    v: z.literal(1),
    envelopeIds: z.array(MessageId).max(MAX_IDS_PER_REQUEST),
    // a group message came before the sender key that opens it: send me that key again
    senderKeys: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(MAX_GROUPS_PER_REQUEST).optional(),
  })
  .refine((r) => r.envelopeIds.length > 0 || (r.senderKeys?.length ?? 0) > 0, "asks for nothing");

export interface DecryptionErrorRequest {
  envelopeIds: string[];
  senderKeys: string[];
}

export function encodeDecryptionError(envelopeIds: string[], senderKeys: string[] = []): Uint8Array {
  const groups = senderKeys.slice(0, MAX_GROUPS_PER_REQUEST);
  const json = new TextEncoder().encode(JSON.stringify({ v: 1, envelopeIds: envelopeIds.slice(0, MAX_IDS_PER_REQUEST), ...(groups.length ? { senderKeys: groups } : {}) }));
  const out = new Uint8Array(1 + json.length);
  out[0] = DECRYPTION_ERROR_FRAME;
  out.set(json, 1);
  return out;
}

/** What a request asks for (envelope ids, sender keys by group), or null when the frame is malformed. */
export function decodeDecryptionError(body: Uint8Array): DecryptionErrorRequest | null {
  if (body[0] !== DECRYPTION_ERROR_FRAME) return null;
  try {
    const parsed = Request.safeParse(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body.subarray(1))));
    return parsed.success ? { envelopeIds: parsed.data.envelopeIds, senderKeys: parsed.data.senderKeys ?? [] } : null;
  } catch {
    return null;
  }
}

/** A per-key budget of events per window, in memory: what limits requests and resets per peer device. */
export class WindowLimiter {
  private readonly used = new Map<string, { start: number; count: number }>();
  constructor(private readonly count: number, private readonly windowMs: number) {}

  take(key: string, now: number): boolean {
    const entry = this.used.get(key);
    if (!entry || now - entry.start >= this.windowMs) {
      if (this.used.size > 10_000) this.used.clear();
      this.used.set(key, { start: now, count: 1 });
      return true;
    }
    if (entry.count >= this.count) return false;
    entry.count += 1;
    return true;
  }
}
