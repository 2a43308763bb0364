// Key generation and the glue between stored key rows and lib/crypto records.
import type { DeviceRow, PrekeyRow } from "../store/db";
import { randomId } from "../store/ids";
import { prekeyRow } from "../store/keys";
import { toB64, fromB64, type Address, type schemas } from "./deps";
import {
  generateAuthKeyPair,
  generateKemPrekey,
  generateOneTimePrekeys,
  generateSignedPrekey,
  serializeKemPrekey,
  serializeOneTimePrekey,
  serializeSignedPrekey,
  type KeyPair,
  type PrekeyBundle,
} from "../crypto";

export const ONE_TIME_PREKEY_BATCH = 100;
/** Below this many one-time prekeys on the relay, the leader uploads a new batch after login. */
export const ONE_TIME_PREKEY_LOW = 25;
export const SIGNED_PREKEY_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

export function newDeviceRow(now: number): DeviceRow {
  const auth = generateAuthKeyPair();
  return { id: "self", deviceId: randomId(), authPublicKey: auth.publicKey, authPrivateKey: auth.privateKey, createdAt: now };
}

export interface SignedPrekeyUpload {
  row: PrekeyRow;
  wire: schemas.SignedPrekey;
}

export async function makeSignedPrekey(address: Address, identity: KeyPair, id: number, now: number): Promise<SignedPrekeyUpload> {
  const record = await generateSignedPrekey(identity, id, now);
  return {
    row: prekeyRow(address, "signed", id, serializeSignedPrekey(record), now),
    wire: { id, publicKey: toB64(record.publicKey), signature: toB64(record.signature) },
  };
}

export function makeKemPrekey(address: Address, identity: KeyPair, id: number, now: number): SignedPrekeyUpload {
  const record = generateKemPrekey(identity, id, now);
  return {
    row: prekeyRow(address, "kem", id, serializeKemPrekey(record), now),
    wire: { id, publicKey: toB64(record.publicKey), signature: toB64(record.signature) },
  };
}

export async function makeOneTimePrekeys(
  address: Address,
  firstId: number,
  count: number,
  now: number,
): Promise<{ rows: PrekeyRow[]; wire: schemas.OneTimePrekey[] }> {
  const records = await generateOneTimePrekeys(firstId, count);
  return {
    rows: records.map((r) => prekeyRow(address, "onetime", r.id, serializeOneTimePrekey(r), now)),
    wire: records.map((r) => ({ id: r.id, publicKey: toB64(r.publicKey) })),
  };
}

/** A directory bundle decoded for lib/crypto, which verifies every signature against identityKey. */
export function bundleFromWire(identityKey: string, bundle: schemas.DeviceBundle): PrekeyBundle {
  return {
    identityKey: fromB64(identityKey),
    deviceId: bundle.deviceId,
    signedPrekey: { id: bundle.signedPrekey.id, publicKey: fromB64(bundle.signedPrekey.publicKey), signature: fromB64(bundle.signedPrekey.signature) },
    ...(bundle.oneTimePrekey ? { oneTimePrekey: { id: bundle.oneTimePrekey.id, publicKey: fromB64(bundle.oneTimePrekey.publicKey) } } : {}),
    ...(bundle.kemPrekey
      ? { kemPrekey: { id: bundle.kemPrekey.id, publicKey: fromB64(bundle.kemPrekey.publicKey), signature: fromB64(bundle.kemPrekey.signature) } }
      : {}),
  };
}
