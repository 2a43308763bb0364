// Device login: verifies the Ed25519 signature over loginMessage(nonce, deviceId) with the device's
// tagged auth key (0x02 ‖ 32-byte Ed25519 public key).
import { ed25519 } from "@noble/curves/ed25519.js";
import { fromB64, loginMessage } from "../protocol";

export const AUTH_KEY_TAG = 0x02;
export const AUTH_KEY_BYTES = 33;

export function isValidAuthKey(authKeyB64: string): boolean {
  try {
    const key = fromB64(authKeyB64);
    return key.length === AUTH_KEY_BYTES && key[0] === AUTH_KEY_TAG && ed25519.utils.isValidPublicKey(key.subarray(1));
  } catch {
    return false;
  }
}

export function verifyLogin(authKeyB64: string, nonce: Uint8Array, deviceId: string, signatureB64: string): boolean {
  try {
    const key = fromB64(authKeyB64);
    if (key.length !== AUTH_KEY_BYTES || key[0] !== AUTH_KEY_TAG) return false;
    const sig = fromB64(signatureB64);
    if (sig.length !== 64) return false;
    // zip215: false is the strict RFC 8032 check: no non-canonical encodings, so no malleable logins.
    return ed25519.verify(sig, loginMessage(nonce, deviceId), key.subarray(1), { zip215: false });
  } catch {
    return false;
  }
}
