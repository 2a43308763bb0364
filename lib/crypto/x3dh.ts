// Session key agreement: X3DH (Signal, rev. 1, §3) and PQXDH (Signal, rev. 3, §3) when the bundle carries a
// signed ML-KEM-768 prekey. SK = HKDF(salt = 32 zero bytes, ikm = 32×0xFF ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] [‖ SS]).
// The two protocols use different info strings, so a PQXDH message stripped of its KEM part cannot be
// accepted as X3DH: the responder derives another key and the first message fails to authenticate.
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
import { type DhKeyPair, dh, generateDhKeyPair } from "./x25519";

export const X3DH_INFO = utf8("Junction_X25519_SHA-256_v1");
export const PQXDH_INFO = utf8("Junction_X25519_SHA-256_ML-KEM-768_v1");

export interface PrekeyBundle {
  identityKey: Bytes;
  deviceId: string;
  signedPrekey: { id: number; publicKey: Bytes; signature: Bytes };
  oneTimePrekey?: { id: number; publicKey: Bytes };
  kemPrekey?: { id: number; publicKey: Bytes; signature: Bytes };
}

/** What the first message carries so that the responder can repeat the agreement. */
export interface PrekeyHeader {
  identityKey: Bytes;
  baseKey: Bytes;
  signedPrekeyId: number;
  oneTimePrekeyId?: number;
  kemPrekeyId?: number;
  kemCiphertext?: Bytes;
}

export interface AgreementResult {
  secret: Bytes;
  header: PrekeyHeader;
  /** The responder's signed prekey (raw X25519), the initiator's first remote ratchet key. */
  theirSignedPrekey: Bytes;
}

function deriveSecret(parts: Bytes[], pq: boolean): Bytes {
  const ikm = concat(new Uint8Array(32).fill(0xff), ...parts);
  const sk = hkdfSha256(ikm, new Uint8Array(32), pq ? PQXDH_INFO : X3DH_INFO, 32);
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
  const kem = bundle.kemPrekey;
  if (kem && !verifyIdentity(bundle.identityKey, kem.publicKey, kem.signature)) {
    throw new CryptoError("bad_signature", "kem prekey signature does not verify");
  }
  const spkRaw = decodeKey(KeyTag.signedPrekey, spk.publicKey);
  const opkRaw = bundle.oneTimePrekey ? decodeKey(KeyTag.oneTimePrekey, bundle.oneTimePrekey.publicKey) : undefined;
  const kemRaw = kem ? decodeKey(KeyTag.kemPrekey, kem.publicKey) : undefined;

  const ours = identityDhKeyPair(ourIdentity);
  const ek = await generateDhKeyPair();
  const parts = await Promise.all([
    dh(ours, spkRaw),
    dh(ek, theirIdentityDh),
    dh(ek, spkRaw),
    ...(opkRaw ? [dh(ek, opkRaw)] : []),
  ]);
  let kemCiphertext: Bytes | undefined;
  if (kemRaw) {
    const enc = kemEncapsulate(kemRaw);
    kemCiphertext = enc.ciphertext;
    parts.push(enc.sharedSecret);
  }
  const secret = deriveSecret(parts, kemRaw !== undefined);
  wipe(ours.privateKey, ek.privateKey);
  return {
    secret,
    theirSignedPrekey: spkRaw,
    header: {
      identityKey: ourIdentity.publicKey,
      baseKey: encodeKey(KeyTag.ratchet, ek.publicKey),
      signedPrekeyId: spk.id,
      oneTimePrekeyId: bundle.oneTimePrekey?.id,
      kemPrekeyId: kem?.id,
      kemCiphertext,
    },
  };
}

export interface ResponderKeys {
  signedPrekey: DhKeyPair;
  oneTimePrekey?: DhKeyPair;
  kemSecretKey?: Bytes;
}

/** Responder side, from the keys the prekey header names (looked up by the caller). */
export async function agreeAsResponder(ourIdentity: KeyPair, header: PrekeyHeader, keys: ResponderKeys): Promise<Bytes> {
  const theirIdentityDh = identityDhPublic(header.identityKey);
  const ek = decodeKey(KeyTag.ratchet, header.baseKey);
  if ((header.kemCiphertext === undefined) !== (keys.kemSecretKey === undefined)) {
    throw new CryptoError("bad_message", "kem ciphertext and prekey disagree");
  }
  const ours = identityDhKeyPair(ourIdentity);
  const parts = await Promise.all([
    dh(keys.signedPrekey, theirIdentityDh),
    dh(ours, ek),
    dh(keys.signedPrekey, ek),
    ...(keys.oneTimePrekey ? [dh(keys.oneTimePrekey, ek)] : []),
  ]);
  wipe(ours.privateKey);
  if (header.kemCiphertext && keys.kemSecretKey) {
    parts.push(kemDecapsulate(header.kemCiphertext, keys.kemSecretKey));
  }
  return deriveSecret(parts, header.kemCiphertext !== undefined);
}
