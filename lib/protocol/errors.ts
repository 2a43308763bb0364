// Stable error codes in relay acks. Details go to the relay's log, never to the client.

export const ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "not_found",
  "handle_taken",
  "too_large",
  "rate_limited",
  "conflict",
  /** The relay is shutting down or briefly unable to serve: retry after reconnecting. */
  "unavailable",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface RelayError {
  code: ErrorCode;
  /** Short, safe, human-readable; never contains payload contents. */
  message: string;
}

export type Ack<T> = ({ ok: true } & T) | { ok: false; error: RelayError };

export class ProtocolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}
