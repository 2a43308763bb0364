// Size and rate limits of the relay protocol. Shared by the relay (enforces) and clients (stay under).

/** Largest event payload the relay accepts, in bytes of its JSON form. Larger → `too_large`. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Hard transport cap: beyond this socket.io drops the connection instead of answering. */
export const TRANSPORT_MAX_BYTES = 4 * MAX_FRAME_BYTES;
/** Largest single envelope body (the ciphertext), in bytes before base64url. */
export const MAX_ENVELOPE_BYTES = 96 * 1024;
/** Envelopes in one `mailbox:send` batch (one per recipient device). */
export const MAX_ENVELOPES_PER_SEND = 100;
/** Envelopes in one `mailbox:deliver` push or `mailbox:ack`. */
export const MAX_ENVELOPES_PER_DELIVERY = 200;
/**
 * Deliveries the relay keeps unacked per connection. More than one lets the client decrypt the next
 * page while the relay commits the ack of the previous one; order and at-least-once are unchanged.
 */
export const MAX_DELIVERIES_IN_FLIGHT = 4;
/** One-time X25519 prekeys in one upload, and the most the relay keeps per account device. */
export const MAX_PREKEYS_PER_UPLOAD = 200;
export const MAX_STORED_PREKEYS = 1000;
/**
 * One-time ML-KEM-768 prekeys in one upload, and the most the relay keeps per account device. Lower
 * than the X25519 caps because each is ~40× larger (1,185-byte tagged key + signature, ~1.7 KB of
 * JSON): 100 honest keys are ~170 KB, and even a register carrying the largest keys and signatures
 * the schema admits in every slot (100 KEM + 200 X25519 one-time prekeys) stays well under
 * MAX_FRAME_BYTES (checked in lib/relay/limits.test.ts). 500 stored are ~0.9 MB per account device.
 */
export const MAX_KEM_PREKEYS_PER_UPLOAD = 100;
export const MAX_STORED_KEM_PREKEYS = 500;
/** Longest public key or signature accepted, in bytes (ML-KEM-768 public keys are 1,184 bytes + tag). */
export const MAX_KEY_BYTES = 1600;
export const MAX_SIGNATURE_BYTES = 128;
/** Undelivered envelopes are deleted after this long. */
export const ENVELOPE_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** A login nonce is valid this long and only once. */
export const LOGIN_NONCE_TTL_MS = 60_000;
export const LOGIN_NONCE_BYTES = 32;
/** Accounts one device may serve (one per brand). */
export const MAX_ACCOUNTS_PER_DEVICE = 8;

/** Per-connection token buckets: `burst` events at once, refilled at `perSecond`. */
export const RATE_LIMITS = {
  /** Every event together. */
  events: { burst: 300, perSecond: 100 },
  /** `directory:*` lookups, which consume one-time prekeys. */
  directory: { burst: 60, perSecond: 2 },
  /** `register` and `auth:*`. */
  auth: { burst: 20, perSecond: 1 },
} as const;
export type RateClass = keyof typeof RATE_LIMITS;
