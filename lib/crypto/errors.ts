// Named errors of the protocol core. Codes are stable; messages are short and never hold key material.

export type CryptoErrorCode =
  | "bad_key"
  | "bad_signature"
  | "bad_message"
  | "duplicate"
  | "too_far"
  | "no_session"
  | "unknown_prekey"
  | "bad_digest"
  | "bad_state"
  /** A session without the post-quantum part: a bundle without an ML-KEM prekey, or an X3DH-only prekey message. */
  | "downgrade";

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CryptoError";
    this.code = code;
  }
}
