// Envelope ids: derived from the message id and the recipient device, so a resend after a crash is
// stored once by the relay (its ledger dedupes ids), and a receiver can tell which envelope a message
// came in. A resend after a decryption-error request must NOT be deduped, so it mixes in the failed id.
import { sha256 } from "@noble/hashes/sha2.js";
import { toB64 } from "./deps";

const encoder = new TextEncoder();

export function envelopeId(messageId: string, to: string, toDevice: string, retryOf?: string): string {
  const input = retryOf === undefined ? `junction/envelope/v1\0${messageId}\0${to}\0${toDevice}` : `junction/envelope/v1/resend\0${messageId}\0${to}\0${toDevice}\0${retryOf}`;
  return toB64(sha256(encoder.encode(input)).subarray(0, 18));
}
