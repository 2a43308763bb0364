// Prekeys (X3DH §3.3, PQXDH §3.3): signed X25519 prekey, one-time X25519 prekeys and the signed ML-KEM-768
// last-resort prekey. The identity key signs each prekey's tagged encoding. Records serialise to a
// versioned compact form for the worker's IndexedDB.
import { type Bytes } from "./bytes";
import { Reader, Writer } from "./codec";
import { CryptoError } from "./errors";
import { kemKeygen } from "./kem";
import {
  KeyTag,
  type KeyPair,
  MLKEM768_SECRET_BYTES,
  SIGNATURE_BYTES,
  X25519_BYTES,
  decodeKey,
  encodeKey,
  signIdentity,
} from "./keys";
import { generateDhKeyPair } from "./x25519";

export interface SignedPrekeyRecord { id: number; publicKey: Bytes; privateKey: Bytes; signature: Bytes; createdAt: number }
export interface OneTimePrekeyRecord { id: number; publicKey: Bytes; privateKey: Bytes }
export interface KemPrekeyRecord { id: number; publicKey: Bytes; secretKey: Bytes; signature: Bytes; createdAt: number }

const MAX_ID = 0x7fffffff;

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw new CryptoError("bad_key", "invalid prekey id");
}

export async function generateSignedPrekey(identity: KeyPair, id: number, now = Date.now()): Promise<SignedPrekeyRecord> {
  checkId(id);
  const pair = await generateDhKeyPair();
  const publicKey = encodeKey(KeyTag.signedPrekey, pair.publicKey);
  return { id, publicKey, privateKey: pair.privateKey, signature: signIdentity(identity, publicKey), createdAt: now };
}

export async function generateOneTimePrekeys(firstId: number, count: number): Promise<OneTimePrekeyRecord[]> {
  checkId(firstId);
  if (!Number.isInteger(count) || count < 0 || firstId + count - 1 > MAX_ID) {
    throw new CryptoError("bad_key", "invalid prekey count");
  }
  const out: OneTimePrekeyRecord[] = [];
  for (let i = 0; i < count; i++) {
    const pair = await generateDhKeyPair();
    out.push({ id: firstId + i, publicKey: encodeKey(KeyTag.oneTimePrekey, pair.publicKey), privateKey: pair.privateKey });
  }
  return out;
}

export function generateKemPrekey(identity: KeyPair, id: number, now = Date.now()): KemPrekeyRecord {
  checkId(id);
  const { publicKey: raw, secretKey } = kemKeygen();
  const publicKey = encodeKey(KeyTag.kemPrekey, raw);
  return { id, publicKey, secretKey, signature: signIdentity(identity, publicKey), createdAt: now };
}

// Record formats: [format version][kind][fields]. A future version adds a format number and keeps the reader
// for this one.
const FORMAT = 1;
const KIND_SIGNED = 1;
const KIND_ONETIME = 2;
const KIND_KEM = 3;

function header(r: Reader, kind: number): void {
  if (r.u8() !== FORMAT) throw new CryptoError("bad_state", "unknown record version");
  if (r.u8() !== kind) throw new CryptoError("bad_state", "wrong record kind");
}

export function serializeSignedPrekey(r: SignedPrekeyRecord): Bytes {
  return new Writer().u8(FORMAT).u8(KIND_SIGNED).varint(r.id).raw(r.publicKey).raw(r.privateKey)
    .raw(r.signature).varint(r.createdAt).finish();
}

export function deserializeSignedPrekey(b: Bytes): SignedPrekeyRecord {
  const r = new Reader(b);
  header(r, KIND_SIGNED);
  const id = r.varint();
  const publicKey = r.raw(X25519_BYTES + 1);
  decodeKey(KeyTag.signedPrekey, publicKey);
  const rec = { id, publicKey, privateKey: r.raw(X25519_BYTES), signature: r.raw(SIGNATURE_BYTES), createdAt: r.varint() };
  r.end();
  return rec;
}

export function serializeOneTimePrekey(r: OneTimePrekeyRecord): Bytes {
  return new Writer().u8(FORMAT).u8(KIND_ONETIME).varint(r.id).raw(r.publicKey).raw(r.privateKey).finish();
}

export function deserializeOneTimePrekey(b: Bytes): OneTimePrekeyRecord {
  const r = new Reader(b);
  header(r, KIND_ONETIME);
  const id = r.varint();
  const publicKey = r.raw(X25519_BYTES + 1);
  decodeKey(KeyTag.oneTimePrekey, publicKey);
  const rec = { id, publicKey, privateKey: r.raw(X25519_BYTES) };
  r.end();
  return rec;
}

export function serializeKemPrekey(r: KemPrekeyRecord): Bytes {
  return new Writer().u8(FORMAT).u8(KIND_KEM).varint(r.id).raw(r.publicKey).raw(r.secretKey)
    .raw(r.signature).varint(r.createdAt).finish();
}

export function deserializeKemPrekey(b: Bytes): KemPrekeyRecord {
  const r = new Reader(b);
  header(r, KIND_KEM);
  const id = r.varint();
  const publicKey = r.raw(1184 + 1);
  decodeKey(KeyTag.kemPrekey, publicKey);
  const rec = { id, publicKey, secretKey: r.raw(MLKEM768_SECRET_BYTES), signature: r.raw(SIGNATURE_BYTES), createdAt: r.varint() };
  r.end();
  return rec;
}
