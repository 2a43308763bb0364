// The protocol core's public API: what the worker and the relay import. Pure functions over Uint8Array.
export type { Bytes } from "./bytes";
export { toHex, fromHex, randomBytes } from "./bytes";
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
  type RecordDecryptResult,
  type ReplayGuard,
  type SessionRecord,
  type SessionState,
  MAX_ARCHIVED_SESSIONS,
  MESSAGE_NORMAL,
  UNANSWERED_SESSION_TTL_MS,
  archiveCurrent,
  decrypt,
  decryptRecord,
  deserializeArchive,
  deserializeSession,
  encrypt,
  initiateSession,
  serializeArchive,
  serializeSession,
  sessionIsPostQuantum,
  sessionNeedsReplacing,
  sessionTheirIdentityKey,
} from "./session";
export { safetyNumber, verifySafetyQr } from "./fingerprint";
export {
  AttachmentDecryptor,
  AttachmentEncryptor,
  AttachmentLeafHasher,
  ATTACHMENT_CHUNK_BYTES,
  attachmentDigest,
  decryptAttachment,
  encryptAttachment,
  type LeafSource,
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
export {
  type DeviceCertificate,
  type DeviceEntry,
  type DeviceList,
  type KnownDeviceList,
  type ProvisioningCode,
  type ProvisioningRequest,
  MAX_DEVICES,
  MAX_LINKED_DEVICES,
  acceptDeviceList,
  certifyDevice,
  createProvisioningRequest,
  decodeProvisioningCode,
  encodeProvisioningCode,
  listedDevice,
  openDeviceList,
  openProvisioning,
  sealProvisioning,
  signDeviceList,
  verifyDeviceCertificate,
} from "./devices";
export {
  type GroupChange,
  type GroupHead,
  GROUP_GENESIS_PREVIOUS,
  GROUP_ID_BYTES,
  MAX_GROUP_CHANGE_BODY,
  openGroupChange,
  readGroupChange,
  signGroupChange,
} from "./groupChanges";
export { MAX_SKIP, MAX_STORED_SKIPPED } from "./ratchet";
export { forgetDhKey, setX25519Backend, x25519Backend, type X25519Backend } from "./x25519";
