// The protocol core's public API: what the worker and the relay import. Pure functions over Uint8Array.
export type { Bytes } from "./bytes";
export { CryptoError, type CryptoErrorCode } from "./errors";
export {
  KeyTag,
  type KeyPair,
  decodeKey,
  encodeKey,
  generateAuthKeyPair,
  generateIdentityKeyPair,
  signAuth,
  verifyAuth,
  verifyIdentity,
} from "./keys";
export {
  type KemPrekeyRecord,
  type OneTimePrekeyRecord,
  type SignedPrekeyRecord,
  deserializeKemPrekey,
  deserializeOneTimePrekey,
  deserializeSignedPrekey,
  generateKemPrekey,
  generateOneTimePrekeys,
  generateSignedPrekey,
  serializeKemPrekey,
  serializeOneTimePrekey,
  serializeSignedPrekey,
} from "./prekeys";
export type { PrekeyBundle } from "./x3dh";
export {
  type DecryptResult,
  type PrekeyStore,
  type SessionState,
  decrypt,
  deserializeSession,
  encrypt,
  initiateSession,
  serializeSession,
  sessionTheirIdentityKey,
} from "./session";
export { safetyNumber, verifySafetyQr } from "./fingerprint";
export {
  AttachmentDecryptor,
  AttachmentEncryptor,
  ATTACHMENT_CHUNK_BYTES,
  decryptAttachment,
  encryptAttachment,
} from "./attachments";
export {
  type SenderKeyRecord,
  createSenderKey,
  deserializeSenderKey,
  groupDecrypt,
  groupEncrypt,
  processSenderKeyDistribution,
  rotateSenderKey,
  senderKeyDistribution,
  serializeSenderKey,
} from "./senderKeys";
export { MAX_SKIP, MAX_STORED_SKIPPED } from "./ratchet";
export { setX25519Backend, x25519Backend, type X25519Backend } from "./x25519";
