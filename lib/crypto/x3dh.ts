// Session key agreement: PQXDH (Signal, rev. 3, §3), always. SK = HKDF(salt = 32 zero bytes,
// ikm = 32×0xFF ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS). There is no classical X3DH fallback: an initiator refuses a
// bundle without a signed ML-KEM-768 prekey and a responder refuses an agreement without a KEM ciphertext,
// so a relay that strips the KEM prekey gets a clear error instead of a session a quantum adversary could
// later open. A one-time ML-KEM prekey is used when the bundle has one, the signed last-resort one otherwise.
import { type Bytes, concat, utf8, wipe } from "./bytes";
import { CryptoError } from "./errors";
import {
  KeyTag,
  type KeyPair,
  decodeKey,
  encodeKey,
  identityDhKeyPair,
  identityDhPublic,
  verifyIdentity,
} from "./keys";
import { kemDecapsulate, kemEncapsulate } from "./kem";
import { hkdfSha256 } from "./primitives";
import { type DhKeyPair, dh, forgetDhKey, generateDhKeyPair } from "./x25519";

export const PQXDH_INFO = utf8("Junction_X25519_SHA-256_ML-KEM-768_v1");

export interface PrekeyBundle {
  identityKey: Bytes;
  deviceId: string;
  signedPrekey: { id: number; publicKey: Bytes; signature: Bytes };
  oneTimePrekey?: { id: number; publicKey: Bytes };
  /** The signed last-resort ML-KEM-768 prekey. Optional only in the type: a bundle without it is refused. */
  kemPrekey?: { id: number; publicKey: Bytes; signature: Bytes };
  /** A signed one-time ML-KEM-768 prekey, used instead of the last-resort one when present. */
  kemOneTimePrekey?: { id: number; publicKey: Bytes; signature: Bytes };
}

/** What the first message carries so that the responder can repeat the agreement. */
export interface PrekeyHeader {
  identityKey: Bytes;
  baseKey: Bytes;
  signedPrekeyId: number;
  oneTimePrekeyId?: number;
  kemPrekeyId?: number;
  /** The KEM prekey id names a one-time KEM prekey (else the signed last-resort one). */
  kemOneTime?: boolean;
  kemCiphertext?: Bytes;
}

export interface AgreementResult {
  secret: Bytes;
  header: PrekeyHeader;
  /** The responder's signed prekey (raw X25519), the initiator's first remote ratchet key. */
  theirSignedPrekey: Bytes;
}

function deriveSecret(parts: Bytes[]): Bytes {
  const ikm = concat(new Uint8Array(32).fill(0xff), ...parts);
  const sk = hkdfSha256(ikm, new Uint8Array(32), PQXDH_INFO, 32);
  wipe(ikm, ...parts);
  return sk;
}

/** Initiator side. Every prekey signature is checked against the identity key before any key is used. */
export async function agreeAsInitiator(ourIdentity: KeyPair, bundle: PrekeyBundle): Promise<AgreementResult> {
  const theirIdentityDh = identityDhPublic(bundle.identityKey);
  const spk = bundle.signedPrekey;
  if (!verifyIdentity(bundle.identityKey, spk.publicKey, spk.signature)) {
    throw new CryptoError("bad_signature", "signed prekey signature does not verify");
  }
  const kem = bundle.kemOneTimePrekey ?? bundle.kemPrekey;
  if (!bundle.kemPrekey || !kem) throw new CryptoError("downgrade", "bundle has no post-quantum prekey");
  for (const k of [bundle.kemPrekey, bundle.kemOneTimePrekey]) {
    if (k && !verifyIdentity(bundle.identityKey, k.publicKey, k.signature)) {
      throw new CryptoError("bad_signature", "kem prekey signature does not verify");
    }
  }
  const spkRaw = decodeKey(KeyTag.signedPrekey, spk.publicKey);
  const opkRaw = bundle.oneTimePrekey ? decodeKey(KeyTag.oneTimePrekey, bundle.oneTimePrekey.publicKey) : undefined;
  const kemRaw = decodeKey(KeyTag.kemPrekey, kem.publicKey);

  const ours = identityDhKeyPair(ourIdentity);
  const ek = await generateDhKeyPair();
  const parts = await Promise.all([
    dh(ours, spkRaw),
    dh(ek, theirIdentityDh),
    dh(ek, spkRaw),
    ...(opkRaw ? [dh(ek, opkRaw)] : []),
  ]);
  const enc = kemEncapsulate(kemRaw);
  parts.push(enc.sharedSecret);
  const secret = deriveSecret(parts);
  wipe(ours.privateKey, ek.privateKey);
  forgetDhKey(ek.publicKey);
  return {
    secret,
    theirSignedPrekey: spkRaw,
    header: {
      identityKey: ourIdentity.publicKey,
      baseKey: encodeKey(KeyTag.ratchet, ek.publicKey),
      signedPrekeyId: spk.id,
      oneTimePrekeyId: bundle.oneTimePrekey?.id,
      kemPrekeyId: kem.id,
      kemOneTime: bundle.kemOneTimePrekey !== undefined,
      kemCiphertext: enc.ciphertext,
    },
  };
}

export interface ResponderKeys {
  signedPrekey: DhKeyPair;
  oneTimePrekey?: DhKeyPair;
  kemSecretKey: Bytes;
}

/** Responder side, from the keys the prekey header names (looked up by the caller). */
export async function agreeAsResponder(ourIdentity: KeyPair, header: PrekeyHeader, keys: ResponderKeys): Promise<Bytes> {
  const theirIdentityDh = identityDhPublic(header.identityKey);
  const ek = decodeKey(KeyTag.ratchet, header.baseKey);
  if (!header.kemCiphertext) throw new CryptoError("downgrade", "prekey message without post-quantum part");
  const ours = identityDhKeyPair(ourIdentity);
  const parts = await Promise.all([
    dh(keys.signedPrekey, theirIdentityDh),
    dh(ours, ek),
    dh(keys.signedPrekey, ek),
    ...(keys.oneTimePrekey ? [dh(keys.oneTimePrekey, ek)] : []),
  ]);
  wipe(ours.privateKey);
  parts.push(kemDecapsulate(header.kemCiphertext, keys.kemSecretKey));
  return deriveSecret(parts);
}
