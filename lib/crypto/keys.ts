// Key encodings and long-term keys (DESIGN.md §4). Every public key travels as 1 type byte + raw key and
// every signature covers that tagged form, so no key can stand in for a key of another kind (the PQXDH
// analysis by Bhargavan et al., 2024, found exactly that confusion between DH and KEM keys).
import { ed25519 } from "@noble/curves/ed25519.js";
import { type Bytes } from "./bytes";
import { CryptoError } from "./errors";
import { type DhKeyPair } from "./x25519";

export const KeyTag = {
  identity: 0x01,
  auth: 0x02,
  signedPrekey: 0x03,
  oneTimePrekey: 0x04,
  ratchet: 0x05,
  kemPrekey: 0x06,
  senderSigning: 0x07,
} as const;
export type KeyTag = (typeof KeyTag)[keyof typeof KeyTag];

export const X25519_BYTES = 32;
export const ED25519_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const MLKEM768_PUBLIC_BYTES = 1184;
export const MLKEM768_SECRET_BYTES = 2400;
export const MLKEM768_CIPHERTEXT_BYTES = 1088;

const RAW_LENGTH: Record<KeyTag, number> = {
  [KeyTag.identity]: ED25519_BYTES,
  [KeyTag.auth]: ED25519_BYTES,
  [KeyTag.signedPrekey]: X25519_BYTES,
  [KeyTag.oneTimePrekey]: X25519_BYTES,
  [KeyTag.ratchet]: X25519_BYTES,
  [KeyTag.kemPrekey]: MLKEM768_PUBLIC_BYTES,
  [KeyTag.senderSigning]: ED25519_BYTES,
};

export interface KeyPair {
  /** Tagged encoding (type byte + raw key). */
  publicKey: Bytes;
  /** Raw private key (Ed25519 seed, X25519 scalar or ML-KEM secret key). */
  privateKey: Bytes;
}

export function encodeKey(tag: KeyTag, raw: Bytes): Bytes {
  if (raw.length !== RAW_LENGTH[tag]) throw new CryptoError("bad_key", "invalid key length");
  const out = new Uint8Array(raw.length + 1);
  out[0] = tag;
  out.set(raw, 1);
  return out;
}

/** Returns the raw key, or throws bad_key when the tag or the length is not the expected one. */
export function decodeKey(tag: KeyTag, encoded: Bytes): Bytes {
  if (encoded.length !== RAW_LENGTH[tag] + 1 || encoded[0] !== tag) {
    throw new CryptoError("bad_key", "wrong key type");
  }
  return encoded.slice(1);
}

function ed25519KeyPair(tag: KeyTag): KeyPair {
  const { secretKey, publicKey } = ed25519.keygen();
  return { publicKey: encodeKey(tag, publicKey), privateKey: secretKey };
}

export function generateIdentityKeyPair(): KeyPair {
  return ed25519KeyPair(KeyTag.identity);
}

export function generateAuthKeyPair(): KeyPair {
  return ed25519KeyPair(KeyTag.auth);
}

function checkSeed(privateKey: Bytes): void {
  if (privateKey.length !== ED25519_BYTES) throw new CryptoError("bad_key", "invalid private key");
}

export function signWith(privateKey: Bytes, message: Bytes): Bytes {
  checkSeed(privateKey);
  return ed25519.sign(message, privateKey);
}

/** Strict RFC 8032 verification (noble's zip215: false), over the raw key taken from a tagged one. */
export function verifyWith(tag: KeyTag, publicKey: Bytes, message: Bytes, signature: Bytes): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  let raw: Bytes;
  try {
    raw = decodeKey(tag, publicKey);
  } catch {
    return false;
  }
  try {
    return ed25519.verify(signature, message, raw, { zip215: false });
  } catch {
    return false;
  }
}

export function signAuth(privateKey: Bytes, message: Bytes): Bytes {
  return signWith(privateKey, message);
}

export function verifyAuth(publicKey: Bytes, message: Bytes, signature: Bytes): boolean {
  return verifyWith(KeyTag.auth, publicKey, message, signature);
}

/** The identity key signs prekeys; the signed bytes are the prekey's tagged encoding. */
export function signIdentity(identity: KeyPair, message: Bytes): Bytes {
  decodeKey(KeyTag.identity, identity.publicKey);
  return signWith(identity.privateKey, message);
}

export function verifyIdentity(identityKey: Bytes, message: Bytes, signature: Bytes): boolean {
  return verifyWith(KeyTag.identity, identityKey, message, signature);
}

/** The X25519 form of an identity key pair (RFC 7748 birational map), used only for X3DH's DH1/DH2. */
export function identityDhKeyPair(identity: KeyPair): DhKeyPair {
  checkSeed(identity.privateKey);
  return {
    publicKey: identityDhPublic(identity.publicKey),
    privateKey: ed25519.utils.toMontgomerySecret(identity.privateKey),
  };
}

export function identityDhPublic(identityKey: Bytes): Bytes {
  const raw = decodeKey(KeyTag.identity, identityKey);
  try {
    return ed25519.utils.toMontgomery(raw);
  } catch (e) {
    throw new CryptoError("bad_key", "invalid identity key", { cause: e });
  }
}
