// Size and rate limits of the relay protocol. Shared by the relay (enforces) and clients (stay under).

/** Largest event payload the relay accepts, in bytes of its JSON form. Larger → `too_large`. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/**
 * Hard transport cap: beyond this socket.io drops the connection instead of answering. The largest
 * legitimate packet is one MAX_FRAME_BYTES payload plus the event name and ack id around it.
 */
export const TRANSPORT_MAX_BYTES = MAX_FRAME_BYTES + 16 * 1024;
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
export const MAX_DELIVERIES_IN_FLIGHT = 8;
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
/**
 * Accounts one device id may serve. One: every brand account has its own device id and auth key, so
 * nothing the relay serves links one person's brands (devices registered earlier may hold several).
 */
export const MAX_ACCOUNTS_PER_DEVICE = 1;
/** Devices (one per account) one connection may log in as. */
export const MAX_DEVICES_PER_CONNECTION = 8;
/** Connections one device may hold open at once; a newer login closes the oldest beyond this. */
export const MAX_CONNECTIONS_PER_DEVICE = 4;
/** Connections from one client address (an IPv4 address or an IPv6 /64) at once. */
export const MAX_CONNECTIONS_PER_IP = 64;
/**
 * Mail bytes (envelope bodies) pushed to a connection and not yet acked. With the socket's own send
 * buffer bound below, this caps what one connection that stops reading can hold in the relay's memory.
 */
export const MAX_DELIVERY_BYTES_IN_FLIGHT = 4 * 1024 * 1024;
/** Bytes waiting in a connection's send buffer past which it gets no more pushes (and past twice this, is closed). */
export const MAX_QUEUED_OUTPUT_BYTES = 4 * 1024 * 1024;
/** Largest typing-signal body (the ciphertext of a typing content, a few hundred bytes), before base64url. */
export const MAX_TYPING_BYTES = 512;
/** Largest signed device list (five devices with their keys fit in well under a kilobyte), before base64url. */
export const MAX_DEVICE_LIST_BYTES = 4 * 1024;
/** A provisioning channel's id (random, chosen by the new device): 16 bytes. */
export const PROVISIONING_CHANNEL_BYTES = 16;
/** Largest provisioning message (a sealed account hand-over; history travels through the blob store). */
export const MAX_PROVISIONING_BYTES = 300 * 1024;
/** How long a connection stays on a provisioning channel after `provision:listen`. */
export const PROVISIONING_LISTEN_MS = 10 * 60_000;
/** Devices one `typing:send` may name (the peer's devices). */
export const MAX_TYPING_TARGETS = 32;
/** Pending envelopes per recipient device: past either figure a send is refused with `quota_exceeded`. */
export const MAILBOX_QUOTA = { envelopes: 10_000, bytes: 200 * 1024 * 1024 } as const;

/**
 * Largest attachment blob (ciphertext) in bytes: 100 MiB of plaintext, padded and encrypted in 64 KiB
 * chunks with their tags and header, fits.
 */
export const MAX_BLOB_BYTES = 101 * 1024 * 1024;
/** Blobs (complete or not) are deleted this long after the upload began. */
export const BLOB_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** An upload token is refused after this; resuming later asks for a fresh one. */
export const BLOB_UPLOAD_TOKEN_TTL_MS = 60 * 60 * 1000;
/** Bytes of blobs (live or reserved by uploads under way) one device may hold. */
export const BLOB_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * Limits that hold across connections (and across relay processes sharing Redis): each is a token
 * bucket of `burst` refilled at `perSecond`, keyed as its name says. A refusal answers `rate_limited`
 * (or `quota_exceeded` for the mailbox ones) with `retryAfterMs`, except `oneTimePrekeys*`: past
 * those, bundles still come, with only the signed and last-resort prekeys.
 */
export const RELAY_LIMITS = {
  /** `register` per client address: accounts are cheap to make, so they are the scraper's currency. */
  registerPerIp: { burst: 10, perSecond: 10 / HOUR },
  /** `auth:challenge` per client address (each login needs one). */
  loginPerIp: { burst: 120, perSecond: 1 },
  /** `directory:lookup` and `directory:bundles` per requesting device: a real address book at once, then a trickle a day. */
  lookupPerDevice: { burst: 1000, perSecond: 1000 / DAY },
  /** … and per client address, for scrapers with many accounts. */
  lookupPerIp: { burst: 3000, perSecond: 3000 / DAY },
  /** `directory:bundles` per requesting device. */
  bundlesPerDevice: { burst: 300, perSecond: 300 / HOUR },
  /** Bundles of one target from one requester that still carry one-time prekeys. */
  oneTimePrekeysPerPair: { burst: 4, perSecond: 4 / HOUR },
  /** One-time prekeys of one target handed out per hour, from every requester together. */
  oneTimePrekeysPerTarget: { burst: 100, perSecond: 100 / HOUR },
  /** Envelopes from one sender device to one recipient device per day … */
  sendPerPair: { burst: 5000, perSecond: 5000 / DAY },
  /** … and their body bytes. */
  sendBytesPerPair: { burst: 100 * 1024 * 1024, perSecond: (100 * 1024 * 1024) / DAY },
  /** Blob uploads begun (or resumed) per device. */
  blobUploadsPerDevice: { burst: 200, perSecond: 1000 / DAY },
  /**
   * `typing:send` per sending device. Clients send at most one "typing" per conversation every 3 s and
   * one "stopped": a burst for several conversations at once, then one a second.
   */
  typingPerDevice: { burst: 20, perSecond: 1 },
  /** `devices:publish` per device: a list changes when a device is linked, removed or renamed. */
  devicesPublishPerDevice: { burst: 20, perSecond: 20 / DAY },
  /** `provision:listen` and `provision:send` per client address (before login: linking a device is rare). */
  provisionPerIp: { burst: 100, perSecond: 100 / HOUR },
} as const;
export type RelayLimitName = keyof typeof RELAY_LIMITS;

/** Per-connection token buckets: `burst` events at once, refilled at `perSecond` (flood control only). */
export const RATE_LIMITS = {
  /** Every event together. */
  events: { burst: 300, perSecond: 100 },
  /** `directory:*` lookups, which consume one-time prekeys. */
  directory: { burst: 60, perSecond: 2 },
  /** `register` and `auth:*`. */
  auth: { burst: 20, perSecond: 1 },
} as const;
export type RateClass = keyof typeof RATE_LIMITS;
