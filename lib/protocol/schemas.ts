// zod schemas for every payload that crosses the relay, both ways. Types are inferred from them.
import { z } from "zod";
import { BRAND_IDS, isAddressError, parseAddress } from "../brands";
import { b64 } from "./bytes";
import {
  LOGIN_NONCE_BYTES,
  MAX_BLOB_BYTES,
  MAX_ENVELOPE_BYTES,
  MAX_ENVELOPES_PER_DELIVERY,
  MAX_ENVELOPES_PER_SEND,
  MAX_KEM_PREKEYS_PER_UPLOAD,
  MAX_KEY_BYTES,
  MAX_PREKEYS_PER_UPLOAD,
  MAX_SIGNATURE_BYTES,
  MAX_DEVICE_LIST_BYTES,
  MAX_PROVISIONING_BYTES,
  PROVISIONING_CHANNEL_BYTES,
  MAX_TYPING_BYTES,
  MAX_TYPING_TARGETS,
} from "./limits";

/** A `brand:handle` as typed; refined to the canonical form, or refused naming the brand's rule. */
export const AddressInput = z.string().max(80).transform((value, ctx) => {
  const parsed = parseAddress(value);
  if (isAddressError(parsed)) {
    // the rule, never the input back: an unknown brand is named only as such
    ctx.addIssue({ code: "custom", message: parsed.error === "unknown_brand" ? `unknown brand (brands: ${BRAND_IDS.join(", ")})` : parsed.message });
    return z.NEVER;
  }
  return parsed.address;
});

/** An address that must already be canonical (everything but `register` and lookups). */
export const Address = z.string().max(80).refine((value) => {
  const parsed = parseAddress(value);
  return !isAddressError(parsed) && parsed.address === value;
}, "not a canonical brand:handle address");

export const DeviceId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "device ids are 8–64 base64url characters");
export const EnvelopeId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, "envelope ids are 8–64 base64url characters");
export const PrekeyId = z.number().int().min(0).max(0x7fffffff);

export const PublicKey = b64(MAX_KEY_BYTES, 32);
export const Signature = b64(MAX_SIGNATURE_BYTES, 32);

export const SignedPrekey = z.strictObject({ id: PrekeyId, publicKey: PublicKey, signature: Signature });
export const OneTimePrekey = z.strictObject({ id: PrekeyId, publicKey: PublicKey });
/**
 * One-time ML-KEM-768 prekeys. Each is signed (unlike X25519 one-time prekeys) because PQXDH
 * authenticates every KEM key the sender encapsulates to; the relay stores the signatures unread.
 */
export const KemOneTimePrekeys = z.array(SignedPrekey).max(MAX_KEM_PREKEYS_PER_UPLOAD);

export const DeviceKeys = z.strictObject({
  deviceId: DeviceId,
  /** Ed25519 public key the device signs login challenges with. */
  authKey: PublicKey,
  signedPrekey: SignedPrekey,
  /** Signed last-resort ML-KEM-768 prekey. Required: PQXDH is mandatory, so no device may lack one. */
  kemPrekey: SignedPrekey,
  oneTimePrekeys: z.array(OneTimePrekey).max(MAX_PREKEYS_PER_UPLOAD),
  kemOneTimePrekeys: KemOneTimePrekeys.optional(),
});

// ---- client → relay ----

/** A device list signed by the account key (lib/crypto/devices.ts); the relay checks the signature and that versions only grow. */
export const SignedDeviceList = b64(MAX_DEVICE_LIST_BYTES, 64);
export const RegisterRequest = z.strictObject({
  address: AddressInput,
  /** The account identity key (tagged Ed25519 encoding). */
  identityKey: PublicKey,
  device: DeviceKeys,
  /**
   * The account's first device list (version 1: this device), signed by the account key: stored with the
   * account, so no one ever finds the account without a list. Checked as devices:publish checks one.
   */
  deviceList: SignedDeviceList.optional(),
  /**
   * A linked device joining the existing account `address` (identityKey: its account key): `deviceList`
   * is then required, a newer version than the stored one that names this device.
   */
  companion: z.literal(true).optional(),
});

export const ChallengeRequest = z.strictObject({ deviceId: DeviceId });
export const LoginRequest = z.strictObject({ deviceId: DeviceId, signature: Signature });

export const KeysUploadRequest = z.strictObject({
  address: Address,
  signedPrekey: SignedPrekey.optional(),
  /** Replaces the last-resort ML-KEM-768 prekey. */
  kemPrekey: SignedPrekey.optional(),
  oneTimePrekeys: z.array(OneTimePrekey).max(MAX_PREKEYS_PER_UPLOAD).optional(),
  kemOneTimePrekeys: KemOneTimePrekeys.optional(),
});
export const KeysStatusRequest = z.strictObject({ address: Address });

export const LookupRequest = z.strictObject({ address: AddressInput });
export const BundlesRequest = z.strictObject({
  address: AddressInput,
  /** Only these devices; all of the address's devices when absent. */
  deviceIds: z.array(DeviceId).max(32).optional(),
  /** Devices the requester already has sessions with: listed in the answer, but no bundle (no prekey spent). */
  known: z.array(DeviceId).max(32).optional(),
});

export const OutgoingEnvelope = z.strictObject({
  /** Chosen by the sender, random; a resend with the same id is stored once. */
  id: EnvelopeId,
  to: Address,
  toDevice: DeviceId,
  /** The ciphertext. The relay never interprets it. */
  body: b64(MAX_ENVELOPE_BYTES),
});
export const SendRequest = z.strictObject({
  /** One of the accounts this connection is logged in for. */
  from: Address,
  envelopes: z.array(OutgoingEnvelope).min(1).max(MAX_ENVELOPES_PER_SEND),
  /**
   * Set for a repair to chosen devices (a resend, a decryption-error request or its answer): the batch is
   * not held to cover every current device of each account it addresses (else `stale_devices`).
   */
  subset: z.literal(true).optional(),
});

export const EnvelopeRef = z.strictObject({
  to: Address,
  id: EnvelopeId,
  /** The envelope's sending device: only that sender's envelope of the id is acked (absent: every sender's). */
  fromDevice: DeviceId.optional(),
});
/** A blob's id: 32 random bytes, base64url (43 characters). Knowing it is what lets one download it. */
export const BlobId = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "blob ids are 43 base64url characters");
/** Asks to upload a new blob of `size` bytes, or to resume one (a fresh token for its remaining bytes). */
export const BlobUploadRequest = z.union([
  z.strictObject({ from: Address, size: z.number().int().min(1).max(MAX_BLOB_BYTES) }),
  z.strictObject({ from: Address, resume: BlobId }),
]);
/** Deletes a blob before its expiry: only the device that uploaded it may (another's, or none, is not_found). */
export const BlobDeleteRequest = z.strictObject({ from: Address, id: BlobId });
export const BlobDeleteResponse = z.strictObject({ deleted: z.boolean() });

export const AckRequest = z.strictObject({ envelopes: z.array(EnvelopeRef).min(1).max(MAX_ENVELOPES_PER_DELIVERY) });
export const FetchRequest = z.strictObject({ limit: z.number().int().min(1).max(MAX_ENVELOPES_PER_DELIVERY).optional() });

/** One encrypted typing signal for one device of the peer (never stored by the relay). */
export const TypingSignal = z.strictObject({
  to: Address,
  toDevice: DeviceId,
  body: b64(MAX_TYPING_BYTES),
});
export const TypingRequest = z.strictObject({
  /** One of the accounts this connection is logged in for. */
  from: Address,
  signals: z.array(TypingSignal).min(1).max(MAX_TYPING_TARGETS),
});

// ---- relay → client ----

export const DeviceBundle = z.strictObject({
  deviceId: DeviceId,
  signedPrekey: SignedPrekey,
  /**
   * The last-resort ML-KEM-768 prekey. An honest relay always sends it; it stays optional here only
   * so a stripped bundle (a malicious relay) can be expressed: clients must refuse a bundle without it.
   */
  kemPrekey: SignedPrekey.optional(),
  /** Absent when the device has none left: the bundle then has only the signed prekey. */
  oneTimePrekey: OneTimePrekey.optional(),
  /** A one-time ML-KEM-768 prekey, used instead of `kemPrekey` when present; absent when none are left. */
  kemOneTimePrekey: SignedPrekey.optional(),
});

export const Envelope = z.strictObject({
  id: EnvelopeId,
  /** Stamped by the relay from the sender's logged-in account and device. */
  from: Address,
  fromDevice: DeviceId,
  to: Address,
  toDevice: DeviceId,
  body: b64(MAX_ENVELOPE_BYTES),
  /** Relay time of storage, ms since the epoch. */
  ts: z.number().int().nonnegative(),
});

export const ChallengeResponse = z.strictObject({ nonce: b64(LOGIN_NONCE_BYTES, LOGIN_NONCE_BYTES) });
export const LoginResponse = z.strictObject({ addresses: z.array(Address) });
export const RegisterResponse = z.strictObject({ address: Address });
export const KeysStatusResponse = z.strictObject({
  /** One-time X25519 prekeys the relay still holds for this account device. */
  oneTimePrekeys: z.number().int(),
  signedPrekeyId: PrekeyId,
  /** One-time ML-KEM-768 prekeys the relay still holds for this account device. */
  kemOneTimePrekeys: z.number().int(),
  /**
   * Id of the current last-resort ML-KEM-768 prekey. Absent only for a device registered before PQXDH
   * became mandatory, which has none: it should upload one (`keys:upload` `kemPrekey`).
   */
  kemPrekeyId: PrekeyId.optional(),
});
/** Whether an address exists, and its identity key: no device ids (they come with bundles). */
export const DevicesPublishRequest = z.strictObject({
  /** One of the accounts this connection is logged in for. */
  from: Address,
  list: SignedDeviceList,
});
export const DevicesPublishResponse = z.strictObject({ version: z.number().int().nonnegative() });
/** A provisioning channel: random bytes the new device chose and shows in its link code. */
export const ProvisioningChannel = b64(PROVISIONING_CHANNEL_BYTES, PROVISIONING_CHANNEL_BYTES);
export const ProvisionListenRequest = z.strictObject({ channel: ProvisioningChannel });
export const ProvisionListenResponse = z.strictObject({ expiresInMs: z.number().int().positive() });
export const ProvisionSendRequest = z.strictObject({ channel: ProvisioningChannel, body: b64(MAX_PROVISIONING_BYTES) });
export const ProvisionSendResponse = z.strictObject({});
/** Pushed to a device's connections when its account's new list leaves it out; then they are closed. */
export const DevicesRemoved = z.strictObject({ address: Address, list: SignedDeviceList });
/** A provisioning message pushed to the other connections listening on its channel; never stored. */
export const ProvisionDeliver = z.strictObject({ channel: ProvisioningChannel, body: b64(MAX_PROVISIONING_BYTES) });
/** The account's newest signed device list, once it has published one. */
export const LookupResponse = z.strictObject({ address: Address, identityKey: PublicKey, deviceList: SignedDeviceList.optional() });
export const BundlesResponse = z.strictObject({
  address: Address,
  identityKey: PublicKey,
  /** Every current device of the address, also those without a bundle here (`known`, or not asked for). */
  deviceIds: z.array(DeviceId).max(32),
  bundles: z.array(DeviceBundle),
  /** The account's newest signed device list: senders encrypt only to devices on it (and check it themselves). */
  deviceList: SignedDeviceList.optional(),
});
export const SendResponse = z.strictObject({ stored: z.number().int(), ts: z.number().int() });
export const AckResponse = z.strictObject({ deleted: z.number().int() });
export const FetchResponse = z.strictObject({ envelopes: z.array(Envelope), more: z.boolean() });
export const BlobUploadResponse = z.strictObject({
  id: BlobId,
  /** Single use, short-lived: `Authorization: Bearer <token>` on the upload's HTTP requests. */
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  size: z.number().int().min(1).max(MAX_BLOB_BYTES),
  /** Bytes already stored (0 for a new blob): the upload continues from here. */
  offset: z.number().int().nonnegative(),
  /** The token is refused after this (ms since the epoch). */
  tokenExpiresAt: z.number().int(),
});
export const Deliver = z.strictObject({ envelopes: z.array(Envelope).max(MAX_ENVELOPES_PER_DELIVERY) });
/** The devices of the request that had a live connection and were handed the signal (no others learn of it). */
export const TypingResponse = z.strictObject({ reached: z.array(DeviceId).max(MAX_TYPING_TARGETS) });
/** A typing signal pushed to one live connection of its device; `from` and `fromDevice` stamped by the relay. */
export const TypingDeliver = z.strictObject({
  from: Address,
  fromDevice: DeviceId,
  to: Address,
  toDevice: DeviceId,
  body: b64(MAX_TYPING_BYTES),
});

export type SignedPrekey = z.infer<typeof SignedPrekey>;
export type OneTimePrekey = z.infer<typeof OneTimePrekey>;
export type DeviceKeys = z.infer<typeof DeviceKeys>;
export type RegisterRequest = z.input<typeof RegisterRequest>;
export type ChallengeRequest = z.infer<typeof ChallengeRequest>;
export type LoginRequest = z.infer<typeof LoginRequest>;
export type KeysUploadRequest = z.infer<typeof KeysUploadRequest>;
export type KeysStatusRequest = z.infer<typeof KeysStatusRequest>;
export type LookupRequest = z.input<typeof LookupRequest>;
export type BundlesRequest = z.input<typeof BundlesRequest>;
export type OutgoingEnvelope = z.infer<typeof OutgoingEnvelope>;
export type SendRequest = z.infer<typeof SendRequest>;
export type EnvelopeRef = z.infer<typeof EnvelopeRef>;
export type AckRequest = z.infer<typeof AckRequest>;
export type FetchRequest = z.infer<typeof FetchRequest>;
export type DeviceBundle = z.infer<typeof DeviceBundle>;
export type Envelope = z.infer<typeof Envelope>;
export type ChallengeResponse = z.infer<typeof ChallengeResponse>;
export type LoginResponse = z.infer<typeof LoginResponse>;
export type RegisterResponse = z.infer<typeof RegisterResponse>;
export type KeysStatusResponse = z.infer<typeof KeysStatusResponse>;
export type LookupResponse = z.infer<typeof LookupResponse>;
export type BundlesResponse = z.infer<typeof BundlesResponse>;
export type SendResponse = z.infer<typeof SendResponse>;
export type AckResponse = z.infer<typeof AckResponse>;
export type FetchResponse = z.infer<typeof FetchResponse>;
export type Deliver = z.infer<typeof Deliver>;
export type BlobUploadRequest = z.infer<typeof BlobUploadRequest>;
export type BlobUploadResponse = z.infer<typeof BlobUploadResponse>;
export type BlobDeleteRequest = z.infer<typeof BlobDeleteRequest>;
export type BlobDeleteResponse = z.infer<typeof BlobDeleteResponse>;
export type TypingSignal = z.infer<typeof TypingSignal>;
export type TypingRequest = z.infer<typeof TypingRequest>;
export type TypingResponse = z.infer<typeof TypingResponse>;
export type DevicesPublishRequest = z.infer<typeof DevicesPublishRequest>;
export type DevicesPublishResponse = z.infer<typeof DevicesPublishResponse>;
export type ProvisionListenRequest = z.infer<typeof ProvisionListenRequest>;
export type ProvisionListenResponse = z.infer<typeof ProvisionListenResponse>;
export type ProvisionSendRequest = z.infer<typeof ProvisionSendRequest>;
export type ProvisionSendResponse = z.infer<typeof ProvisionSendResponse>;
export type ProvisionDeliver = z.infer<typeof ProvisionDeliver>;
export type DevicesRemoved = z.infer<typeof DevicesRemoved>;
export type TypingDeliver = z.infer<typeof TypingDeliver>;
