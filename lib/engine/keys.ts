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
/**
 * A rotated-out signed or last-resort KEM prekey keeps its private half this long, for first messages
 * still queued on the relay (which keeps envelopes 30 days), then it is deleted with its replay guards.
 */
export const OLD_PREKEY_GRACE_MS = 30 * 24 * 60 * 60 * 1000;
/** One-time ML-KEM prekeys per upload (each ~1.2 KB; the relay takes at most 100 per request). */
export const KEM_ONE_TIME_PREKEY_BATCH = 50;
export const KEM_ONE_TIME_PREKEY_LOW = 15;

/** Signed one-time ML-KEM prekeys, ids from `firstId` (they share the id space of the last-resort KEM prekeys). */
export function makeKemOneTimePrekeys(address: Address, identity: KeyPair, firstId: number, count: number, now: number): { rows: PrekeyRow[]; wire: schemas.SignedPrekey[] } {
  const made = Array.from({ length: count }, (_, i) => makeKemPrekey(address, identity, firstId + i, now, "kemOneTime"));
  return { rows: made.map((m) => m.row), wire: made.map((m) => m.wire) };
}

/** The relay device of a new account: its own random id and login key, shared with no other account. */
export function newDeviceRow(address: Address, now: number): DeviceRow {
  const auth = generateAuthKeyPair();
  return { id: address, deviceId: randomId(), authPublicKey: auth.publicKey, authPrivateKey: auth.privateKey, createdAt: now };
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

export function makeKemPrekey(address: Address, identity: KeyPair, id: number, now: number, kind: "kem" | "kemOneTime" = "kem"): SignedPrekeyUpload {
  const record = generateKemPrekey(identity, id, now);
  return {
    row: prekeyRow(address, kind, id, serializeKemPrekey(record), now),
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
    ...(bundle.kemPrekey ? { kemPrekey: signedFromWire(bundle.kemPrekey) } : {}),
    ...(bundle.kemOneTimePrekey ? { kemOneTimePrekey: signedFromWire(bundle.kemOneTimePrekey) } : {}),
  };
}

function signedFromWire(k: schemas.SignedPrekey): { id: number; publicKey: Uint8Array; signature: Uint8Array } {
  return { id: k.id, publicKey: fromB64(k.publicKey), signature: fromB64(k.signature) };
}
