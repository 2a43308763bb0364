// Stable error codes in relay acks. Details go to the relay's log, never to the client.

export const ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "not_found",
  "handle_taken",
  "too_large",
  /** A limit that holds across connections was reached; `retryAfterMs` says when to try again. */
  "rate_limited",
  /** The recipient's mailbox, or this sender's daily share of it, is full: nothing was stored. */
  "quota_exceeded",
  "conflict",
  /**
   * mailbox:send only: the envelopes to an account do not cover exactly its current devices (`devices`
   * names, per account, the devices missing from the batch and the extra ones it has not); nothing was stored.
   */
  "stale_devices",
  /** The relay is shutting down or briefly unable to serve: retry after reconnecting. */
  "unavailable",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface RelayError {
  code: ErrorCode;
  /** Short, safe, human-readable; never contains payload contents. */
  message: string;
  /** With `rate_limited` and `quota_exceeded`: the earliest time a retry can succeed, in ms from now. */
  retryAfterMs?: number;
  /** With `stale_devices`. */
  devices?: StaleDevices[];
}

/** One account of a refused batch: its devices the batch left out, and the devices it named that the account has not. */
export interface StaleDevices {
  address: string;
  missing: string[];
  extra: string[];
}

export type Ack<T> = ({ ok: true } & T) | { ok: false; error: RelayError };

export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;
  readonly devices: StaleDevices[] | undefined;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number; devices?: StaleDevices[] }) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
    this.devices = options?.devices;
  }
}
