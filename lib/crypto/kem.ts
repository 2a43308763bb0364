// ML-KEM-768 (FIPS 203) as PQXDH uses it: key generation, encapsulation with the encapsulation-key check of
// §7.2, and decapsulation with implicit rejection. Failures become CryptoErrors.
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { type Bytes } from "./bytes";
import { CryptoError } from "./errors";
import { MLKEM768_CIPHERTEXT_BYTES, MLKEM768_PUBLIC_BYTES, MLKEM768_SECRET_BYTES } from "./keys";

export function kemKeygen(seed?: Bytes): { publicKey: Bytes; secretKey: Bytes } {
  if (seed !== undefined && seed.length !== 64) throw new CryptoError("bad_key", "invalid kem seed");
  return ml_kem768.keygen(seed);
}

/** `randomness` is for known-answer tests only; the protocol always lets it default to fresh bytes. */
export function kemEncapsulate(publicKey: Bytes, randomness?: Bytes): { ciphertext: Bytes; sharedSecret: Bytes } {
  if (publicKey.length !== MLKEM768_PUBLIC_BYTES) throw new CryptoError("bad_key", "invalid kem public key");
  try {
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, randomness);
    return { ciphertext: cipherText, sharedSecret };
  } catch (e) {
    throw new CryptoError("bad_key", "invalid kem public key", { cause: e });
  }
}

export function kemDecapsulate(ciphertext: Bytes, secretKey: Bytes): Bytes {
  if (ciphertext.length !== MLKEM768_CIPHERTEXT_BYTES) throw new CryptoError("bad_message", "invalid kem ciphertext");
  if (secretKey.length !== MLKEM768_SECRET_BYTES) throw new CryptoError("bad_key", "invalid kem secret key");
  try {
    return ml_kem768.decapsulate(ciphertext, secretKey);
  } catch (e) {
    throw new CryptoError("bad_key", "invalid kem secret key", { cause: e });
  }
}
