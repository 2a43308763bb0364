// The symmetric primitives exactly as the protocol calls them (RFC 5869 HKDF, RFC 2104 HMAC, RFC 8439
// ChaCha20-Poly1305 and its XChaCha20 extension). Wycheproof vectors run through these same wrappers.
import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256, sha512 as nobleSha512 } from "@noble/hashes/sha2.js";
import { type Bytes, equalBytes } from "./bytes";
import { CryptoError } from "./errors";

export const AEAD_KEY_BYTES = 32;
export const XNONCE_BYTES = 24;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

export function sha256(data: Bytes): Bytes {
  return nobleSha256(data);
}

export function sha512(data: Bytes): Bytes {
  return nobleSha512(data);
}

export function hmacSha256(key: Bytes, data: Bytes): Bytes {
  return hmac(nobleSha256, key, data);
}

/** HMAC-SHA256 of two messages under one key, the key's padding hashed once (a ratchet chain step). */
export function hmacSha256Twice(key: Bytes, first: Bytes, second: Bytes): [Bytes, Bytes] {
  const keyed = hmac.create(nobleSha256, key);
  const a = keyed.clone().update(first).digest();
  const b = keyed.update(second).digest();
  return [a, b];
}

/** Compares a full or truncated tag (at least 16 bytes) against HMAC-SHA256(key, data) in constant time. */
export function verifyHmacSha256(key: Bytes, data: Bytes, tag: Bytes): boolean {
  if (tag.length < 16 || tag.length > 32) return false;
  return equalBytes(hmacSha256(key, data).subarray(0, tag.length), tag);
}

/** HKDF-SHA256; an empty or absent salt means 32 zero bytes. Refuses lengths above 255 × 32. */
export function hkdfSha256(ikm: Bytes, salt: Bytes | undefined, info: Bytes, length: number): Bytes {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new CryptoError("bad_key", "invalid hkdf length");
  }
  return nobleHkdf(nobleSha256, ikm, salt, info, length);
}

function checkAead(key: Bytes, nonce: Bytes, nonceBytes: number): void {
  if (key.length !== AEAD_KEY_BYTES) throw new CryptoError("bad_key", "invalid aead key");
  if (nonce.length !== nonceBytes) throw new CryptoError("bad_key", "invalid nonce");
}

export function xchachaSeal(key: Bytes, nonce: Bytes, plaintext: Bytes, ad: Bytes): Bytes {
  checkAead(key, nonce, XNONCE_BYTES);
  return xchacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

/** Throws CryptoError("bad_message") when the tag does not verify; nothing is released. */
export function xchachaOpen(key: Bytes, nonce: Bytes, ciphertext: Bytes, ad: Bytes): Bytes {
  checkAead(key, nonce, XNONCE_BYTES);
  if (ciphertext.length < TAG_BYTES) throw new CryptoError("bad_message", "ciphertext too short");
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch (e) {
    throw new CryptoError("bad_message", "authentication failed", { cause: e });
  }
}

/** `into`, when given, receives the sealed bytes (exactly plaintext + tag long) instead of a new array. */
export function chachaSeal(key: Bytes, nonce: Bytes, plaintext: Bytes, ad: Bytes, into?: Bytes): Bytes {
  checkAead(key, nonce, NONCE_BYTES);
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext, into);
}

/** `into`, when given, receives the plaintext (exactly ciphertext − tag long), written only if the tag verifies. */
export function chachaOpen(key: Bytes, nonce: Bytes, ciphertext: Bytes, ad: Bytes, into?: Bytes): Bytes {
  checkAead(key, nonce, NONCE_BYTES);
  if (ciphertext.length < TAG_BYTES) throw new CryptoError("bad_message", "ciphertext too short");
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(ciphertext, into);
  } catch (e) {
    throw new CryptoError("bad_message", "authentication failed", { cause: e });
  }
}
