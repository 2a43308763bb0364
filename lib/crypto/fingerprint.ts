// Safety numbers: libsignal's numeric fingerprint (version 0). Per party h = SHA-512(0x0000 ‖ IK ‖ address ‖ IK),
// then h = SHA-512(h ‖ IK) until 5,200 hashes in all; the first 30 bytes give six 5-digit groups. The two
// 30-digit halves are sorted, so both devices show the same 60 digits. The QR code carries each side's
// first 32 hash bytes (ours first); the other device compares them swapped.
import { sha512 } from "@noble/hashes/sha2.js";
import { type Bytes, concat, equalBytes, utf8 } from "./bytes";
import { CryptoError } from "./errors";
import { KeyTag, decodeKey } from "./keys";

export const FINGERPRINT_ITERATIONS = 5200;
const FINGERPRINT_VERSION = new Uint8Array([0x00, 0x00]);
const QR_VERSION = 0x01;
const QR_BYTES = 1 + 32 + 32;

export interface SafetyParams {
  ourIdentityKey: Bytes;
  ourAddress: string;
  theirIdentityKey: Bytes;
  theirAddress: string;
}

export function fingerprintHash(identityKey: Bytes, address: string): Bytes {
  decodeKey(KeyTag.identity, identityKey);
  let h = sha512(concat(FINGERPRINT_VERSION, identityKey, utf8(address), identityKey));
  const buf = new Uint8Array(64 + identityKey.length);
  buf.set(identityKey, 64);
  for (let i = 1; i < FINGERPRINT_ITERATIONS; i++) {
    buf.set(h, 0);
    h = sha512(buf);
  }
  return h;
}

export function fingerprintDigits(hash: Bytes): string {
  let out = "";
  for (let i = 0; i < 30; i += 5) {
    // 5 bytes fit exactly in a double's 53-bit mantissa.
    const chunk = hash[i] * 2 ** 32 + ((hash[i + 1] << 24) >>> 0) + (hash[i + 2] << 16) + (hash[i + 3] << 8) + hash[i + 4];
    out += String(chunk % 100000).padStart(5, "0");
  }
  return out;
}

export function safetyNumber(p: SafetyParams): { digits: string; qr: Bytes } {
  const ours = fingerprintHash(p.ourIdentityKey, p.ourAddress);
  const theirs = fingerprintHash(p.theirIdentityKey, p.theirAddress);
  const a = fingerprintDigits(ours);
  const b = fingerprintDigits(theirs);
  const digits = a < b ? a + b : b + a;
  const qr = new Uint8Array(QR_BYTES);
  qr[0] = QR_VERSION;
  qr.set(ours.subarray(0, 32), 1);
  qr.set(theirs.subarray(0, 32), 33);
  return { digits, qr };
}

/** True when `scanned` is the other device's QR for the same two identities (its halves are swapped). */
export function verifySafetyQr(p: SafetyParams, scanned: Bytes): boolean {
  if (scanned.length !== QR_BYTES || scanned[0] !== QR_VERSION) return false;
  let mine: Bytes;
  try {
    mine = safetyNumber(p).qr;
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
  const swapped = concat(mine.subarray(0, 1), mine.subarray(33, 65), mine.subarray(1, 33));
  return equalBytes(swapped, scanned);
}
