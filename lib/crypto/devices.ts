// Linked devices (docs/CRYPTO.md, "Devices"). The account identity key, held by the account's primary
// device, vouches for every device of the account twice over:
// - a device certificate: the account key's signature over (address, device id, device identity key,
//   link time), which the new device keeps and shows when it registers;
// - a device list: every device of the account with its identity key, a version that only grows and a
//   timestamp, signed by the account key. Senders check account key → list → device key before they
//   encrypt to a device and remember the highest version they saw (acceptDeviceList), so a relay can
//   neither add a device nor bring back a removed one; at most it can withhold a newer list.
// Provisioning: the new device shows a code (a random id and an ephemeral X25519 key); the primary seals
// what the new device needs to that key (sealProvisioning), so only the device that showed the code can
// open it, and a sealed message for one code does not open under another.
import { type Bytes, concat, equalBytes, randomBytes, utf8 } from "./bytes";
import { Reader, Writer } from "./codec";
import { CryptoError } from "./errors";
import { decodeKey, KeyTag, type KeyPair, SIGNATURE_BYTES, signIdentity, verifyIdentity } from "./keys";
import { hkdfSha256, sha256, XNONCE_BYTES, xchachaOpen, xchachaSeal } from "./primitives";
import { dh, generateDhKeyPair, type DhKeyPair } from "./x25519";

/** Companion devices an account may link besides its primary. */
export const MAX_LINKED_DEVICES = 4;
/** Devices in one list: the primary and its companions. */
export const MAX_DEVICES = 1 + MAX_LINKED_DEVICES;
/** Largest sealed provisioning message (history goes through the blob store, not through this). */
export const MAX_PROVISIONING_BYTES = 256 * 1024;
export const PROVISIONING_ID_BYTES = 16;

const CERT_LABEL = utf8("Junction device certificate v1");
const LIST_LABEL = utf8("Junction device list v1");
const PROVISION_LABEL = utf8("Junction provisioning v1");
const CODE_VERSION = 1;
const SEALED_VERSION = 1;
const MAX_DEVICE_ID_CHARS = 64;
const MAX_ADDRESS_CHARS = 200;

export interface DeviceEntry {
  deviceId: string;
  /** The device's own identity key (tagged, KeyTag.identity). */
  identityKey: Bytes;
  /** When the primary linked it (ms); the primary's own entry carries the account's creation. */
  linkedAt: number;
}

export interface DeviceList {
  address: string;
  /** Only ever grows: a list with a lower version than one already seen is a rollback. */
  version: number;
  /** When the primary issued this version (ms). */
  timestamp: number;
  /** Sorted by device id, no duplicates, 1 … MAX_DEVICES entries. */
  devices: DeviceEntry[];
}

export interface DeviceCertificate {
  address: string;
  deviceId: string;
  identityKey: Bytes;
  linkedAt: number;
}

function checkText(value: string, max: number, what: string): void {
  if (value.length === 0 || value.length > max) throw new CryptoError("bad_message", `invalid ${what}`);
}

function checkTime(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new CryptoError("bad_message", `invalid ${what}`);
}

function checkIdentityKey(key: Bytes): void {
  try {
    decodeKey(KeyTag.identity, key);
  } catch {
    throw new CryptoError("bad_message", "invalid device identity key");
  }
}

function encodeCertificate(c: DeviceCertificate): Bytes {
  checkText(c.address, MAX_ADDRESS_CHARS, "address");
  checkText(c.deviceId, MAX_DEVICE_ID_CHARS, "device id");
  checkTime(c.linkedAt, "link time");
  checkIdentityKey(c.identityKey);
  return new Writer().raw(CERT_LABEL).str(c.address).str(c.deviceId).bytes(c.identityKey).varint(c.linkedAt).finish();
}

/** The account key's signature over one device's certificate. */
export function certifyDevice(account: KeyPair, cert: DeviceCertificate): Bytes {
  return signIdentity(account, encodeCertificate(cert));
}

export function verifyDeviceCertificate(accountKey: Bytes, cert: DeviceCertificate, signature: Bytes): boolean {
  let encoded: Bytes;
  try {
    encoded = encodeCertificate(cert);
  } catch {
    return false;
  }
  return verifyIdentity(accountKey, encoded, signature);
}

/** The canonical bytes of a list: entries sorted by device id; throws on anything a list may not hold. */
export function encodeDeviceList(list: DeviceList): Bytes {
  checkText(list.address, MAX_ADDRESS_CHARS, "address");
  checkTime(list.version, "version");
  checkTime(list.timestamp, "timestamp");
  if (list.devices.length === 0 || list.devices.length > MAX_DEVICES) throw new CryptoError("bad_message", "invalid device count");
  const devices = [...list.devices].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  const w = new Writer().raw(LIST_LABEL).str(list.address).varint(list.version).varint(list.timestamp).varint(devices.length);
  for (let i = 0; i < devices.length; i++) {
    const d = devices[i];
    if (i > 0 && devices[i - 1].deviceId === d.deviceId) throw new CryptoError("bad_message", "duplicate device");
    checkText(d.deviceId, MAX_DEVICE_ID_CHARS, "device id");
    checkTime(d.linkedAt, "link time");
    checkIdentityKey(d.identityKey);
    w.str(d.deviceId).bytes(d.identityKey).varint(d.linkedAt);
  }
  return w.finish();
}

function decodeDeviceList(encoded: Bytes): DeviceList {
  const r = new Reader(encoded, "bad_message");
  if (!equalBytes(r.raw(LIST_LABEL.length), LIST_LABEL)) throw new CryptoError("bad_message", "not a device list");
  const address = r.str(MAX_ADDRESS_CHARS * 4);
  const version = r.varint();
  const timestamp = r.varint();
  const count = r.varint();
  if (count === 0 || count > MAX_DEVICES) throw new CryptoError("bad_message", "invalid device count");
  const devices: DeviceEntry[] = [];
  for (let i = 0; i < count; i++) devices.push({ deviceId: r.str(MAX_DEVICE_ID_CHARS * 4), identityKey: r.bytes(64), linkedAt: r.varint() });
  r.end();
  const list = { address, version, timestamp, devices };
  // only the canonical encoding is accepted: sorted, unique, every field in bounds
  if (!equalBytes(encodeDeviceList(list), encoded)) throw new CryptoError("bad_message", "device list not canonical");
  return list;
}

/** A list as it travels: its canonical bytes and the account key's signature over them. */
export function signDeviceList(account: KeyPair, list: DeviceList): Bytes {
  const encoded = encodeDeviceList(list);
  return new Writer().bytes(encoded).raw(signIdentity(account, encoded)).finish();
}

/**
 * Opens a signed list of `address` under its account key: bad_signature when the account key did not sign
 * exactly these bytes, bad_message when it is malformed or is another account's list.
 */
export function openDeviceList(accountKey: Bytes, address: string, signed: Bytes): DeviceList {
  const r = new Reader(signed, "bad_message");
  const encoded = r.bytes(64 * 1024);
  const signature = r.raw(SIGNATURE_BYTES);
  r.end();
  if (!verifyIdentity(accountKey, encoded, signature)) throw new CryptoError("bad_signature", "device list not signed by the account key");
  const list = decodeDeviceList(encoded);
  if (list.address !== address) throw new CryptoError("bad_message", "device list of another account");
  return list;
}

/** What a sender remembers of the newest list it accepted for a contact. */
export interface KnownDeviceList {
  version: number;
  /** SHA-256 of the list's canonical bytes: one version has exactly one content. */
  digest: Bytes;
}

/**
 * Accepts `next` after `known` (undefined: the first list seen): a lower version is a rollback and the
 * same version with other content a fork; both throw bad_state and change nothing.
 */
export function acceptDeviceList(known: KnownDeviceList | undefined, next: DeviceList): KnownDeviceList {
  const digest = sha256(encodeDeviceList(next));
  if (known) {
    if (next.version < known.version) throw new CryptoError("bad_state", "device list older than one already seen");
    if (next.version === known.version && !equalBytes(digest, known.digest)) throw new CryptoError("bad_state", "two device lists with one version");
  }
  return { version: next.version, digest };
}

/** The device `deviceId` of a list, if it is on it with exactly this identity key. */
export function listedDevice(list: DeviceList, deviceId: string, identityKey: Bytes): DeviceEntry | undefined {
  const entry = list.devices.find((d) => d.deviceId === deviceId);
  return entry && equalBytes(entry.identityKey, identityKey) ? entry : undefined;
}

/** What a new device shows (as a QR code and as text): a provisioning id and its ephemeral public key. */
export interface ProvisioningCode {
  id: Bytes;
  publicKey: Bytes;
}

export interface ProvisioningRequest extends ProvisioningCode {
  keyPair: DhKeyPair;
}

export async function createProvisioningRequest(): Promise<ProvisioningRequest> {
  const keyPair = await generateDhKeyPair();
  return { id: randomBytes(PROVISIONING_ID_BYTES), publicKey: keyPair.publicKey, keyPair };
}

export function encodeProvisioningCode(code: ProvisioningCode): Bytes {
  if (code.id.length !== PROVISIONING_ID_BYTES || code.publicKey.length !== 32) throw new CryptoError("bad_key", "invalid provisioning code");
  return concat(Uint8Array.of(CODE_VERSION), code.id, code.publicKey);
}

export function decodeProvisioningCode(bytes: Bytes): ProvisioningCode {
  if (bytes.length !== 1 + PROVISIONING_ID_BYTES + 32 || bytes[0] !== CODE_VERSION) throw new CryptoError("bad_message", "not a link code");
  return { id: bytes.slice(1, 1 + PROVISIONING_ID_BYTES), publicKey: bytes.slice(1 + PROVISIONING_ID_BYTES) };
}

function provisioningKey(shared: Bytes, id: Bytes, sealer: Bytes, recipient: Bytes): { key: Bytes; ad: Bytes } {
  const ad = concat(PROVISION_LABEL, id, sealer, recipient);
  return { key: hkdfSha256(shared, id, ad, 32), ad };
}

/** The primary's side: seals `plaintext` to the code a new device showed. */
export async function sealProvisioning(code: ProvisioningCode, plaintext: Bytes): Promise<Bytes> {
  if (plaintext.length > MAX_PROVISIONING_BYTES) throw new CryptoError("bad_message", "provisioning message too large");
  const ephemeral = await generateDhKeyPair();
  const { key, ad } = provisioningKey(await dh(ephemeral, code.publicKey), code.id, ephemeral.publicKey, code.publicKey);
  const nonce = randomBytes(XNONCE_BYTES);
  return concat(Uint8Array.of(SEALED_VERSION), ephemeral.publicKey, nonce, xchachaSeal(key, nonce, plaintext, ad));
}

/** The new device's side: opens what was sealed to its code; bad_message for anything else. */
export async function openProvisioning(request: ProvisioningRequest, sealed: Bytes): Promise<Bytes> {
  const head = 1 + 32 + XNONCE_BYTES;
  if (sealed.length < head + 16 || sealed.length > head + MAX_PROVISIONING_BYTES + 16 || sealed[0] !== SEALED_VERSION) {
    throw new CryptoError("bad_message", "not a provisioning message");
  }
  const sealer = sealed.subarray(1, 33);
  const { key, ad } = provisioningKey(await dh(request.keyPair, sealer), request.id, sealer, request.publicKey);
  return xchachaOpen(key, sealed.subarray(33, head), sealed.subarray(head), ad);
}
