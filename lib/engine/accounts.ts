// Account creation (keys generated here, never leaving the worker) and prekey upkeep after login.
import { parseHandle, isAddressError } from "../brands";
import { EVENTS, ProtocolError, toB64, type Address, type BrandId, type schemas } from "./deps";
import { EngineError } from "../worker/rpc";
import type { AccountRow } from "../store/db";
import { ensureDevice, forgetAccountKeys, nextPrekeyId, prekeysOf, reservePrekeyIds } from "../store/keys";
import { generateIdentityKeyPair, type KeyPair, deserializeKemPrekey, deserializeSignedPrekey, forgetDhKey, decodeKey, KeyTag } from "../crypto";
import type { EngineContext } from "./context";
import {
  KEM_ONE_TIME_PREKEY_BATCH,
  KEM_ONE_TIME_PREKEY_LOW,
  makeKemOneTimePrekeys,
  makeKemPrekey,
  makeOneTimePrekeys,
  makeSignedPrekey,
  newDeviceRow,
  OLD_PREKEY_GRACE_MS,
  ONE_TIME_PREKEY_BATCH,
  ONE_TIME_PREKEY_LOW,
  SIGNED_PREKEY_MAX_AGE_MS,
} from "./keys";
import { firstDeviceList } from "./deviceLists";
import { request } from "./relay";

/** How long creating an account waits for the relay connection before it says "offline". */
export const CONNECT_WAIT_MS = 10_000;

export const MAX_DISPLAY_NAME = 100;

export async function createAccount(ctx: EngineContext, params: { brand: BrandId; handle: string; displayName: string }): Promise<AccountRow> {
  const { db } = ctx;
  const parsed = parseHandle(params.brand, params.handle);
  if (isAddressError(parsed)) throw new EngineError("bad_handle", parsed.message);
  const displayName = params.displayName.trim();
  if (displayName.length === 0 || displayName.length > MAX_DISPLAY_NAME) {
    throw new EngineError("bad_request", `display name must be 1–${MAX_DISPLAY_NAME} characters`);
  }
  const address = parsed.address;
  if (await db.accounts.get(address)) throw new EngineError("handle_taken", "this account is already on this device");
  if ((await db.accounts.where("brand").equals(params.brand).count()) > 0) {
    throw new EngineError("bad_request", "this device already has an account on that brand");
  }

  const now = ctx.now();
  const identity = generateIdentityKeyPair();
  const keys = await prepareDevice(ctx, address, identity, now);
  const deviceList = firstDeviceList(address, identity, keys.deviceId, now);
  try {
    // a first-run person may press "Create account" before the page's first connection is made
    await request(await ctx.connectedSocket(CONNECT_WAIT_MS), EVENTS.register, {
      address,
      identityKey: toB64(identity.publicKey),
      device: keys,
      deviceList: deviceList.signed,
    });
  } catch (error) {
    await forgetAccountKeys(db, address);
    await db.device.delete(address);
    if (error instanceof ProtocolError && error.code === "handle_taken") throw new EngineError("handle_taken", `${address} is taken`);
    if (error instanceof ProtocolError && error.code === "bad_request") throw new EngineError("bad_handle", brandRule(params.brand));
    throw error;
  }
  const account: AccountRow = {
    address,
    brand: parsed.brand,
    handle: parsed.handle,
    displayName,
    identityKey: identity.publicKey,
    createdAt: now,
  };
  await db.transaction("rw", [db.accounts, db.deviceLists], async () => {
    await db.accounts.put(account);
    await db.deviceLists.put({ ...deviceList, published: true });
  });
  return account;
}

/**
 * Makes a relay device for `address` (its id and login key) and the prekeys of `identity` (the account key
 * on a primary, the device's own identity key on a linked device), and stores them before registering, so
 * that a message racing the register reply can be decrypted. Returns the device as `register` sends it.
 */
export async function prepareDevice(ctx: EngineContext, address: Address, identity: KeyPair, now: number): Promise<schemas.DeviceKeys> {
  const { db } = ctx;
  // every account is its own relay device, so no device id or login key links it to my other brands
  const device = await ensureDevice(db, address, () => newDeviceRow(address, now));
  const signed = await makeSignedPrekey(address, identity, 1, now);
  const kem = makeKemPrekey(address, identity, 1, now);
  const oneTime = await makeOneTimePrekeys(address, 1, ONE_TIME_PREKEY_BATCH, now);
  const kemOneTime = makeKemOneTimePrekeys(address, identity, 2, KEM_ONE_TIME_PREKEY_BATCH, now);
  await db.transaction("rw", [db.identityKeys, db.prekeys, db.meta], async () => {
    await db.identityKeys.put({ address, publicKey: identity.publicKey, privateKey: identity.privateKey });
    await db.prekeys.bulkPut([signed.row, kem.row, ...oneTime.rows, ...kemOneTime.rows]);
    await reservePrekeyIds(db, address, "onetime", ONE_TIME_PREKEY_BATCH);
    await reservePrekeyIds(db, address, "kem", 1 + KEM_ONE_TIME_PREKEY_BATCH);
  });
  return {
    deviceId: device.deviceId,
    authKey: toB64(device.authPublicKey),
    signedPrekey: signed.wire,
    kemPrekey: kem.wire,
    oneTimePrekeys: oneTime.wire,
    kemOneTimePrekeys: kemOneTime.wire,
  };
}

function brandRule(brand: BrandId): string {
  const parsed = parseHandle(brand, "");
  return isAddressError(parsed) ? parsed.message : "invalid handle";
}

/** Next id in the one id space that the last-resort and the one-time ML-KEM prekeys share. */
async function nextKemId(ctx: EngineContext, address: Address): Promise<number> {
  return Math.max(await nextPrekeyId(ctx.db, address, "kem"), await nextPrekeyId(ctx.db, address, "kemOneTime"));
}

/**
 * After login: top up one-time prekeys (X25519 and ML-KEM) on the relay, rotate the signed prekey and the
 * last-resort KEM prekey weekly, and delete rotated-out private halves (with their replay guards) once
 * their grace period is over.
 */
export async function maintainPrekeys(ctx: EngineContext, address: Address): Promise<void> {
  const { db } = ctx;
  const status = await request(ctx.socket(), EVENTS.keysStatus, { address });
  const upload: schemas.KeysUploadRequest = { address };
  const now = ctx.now();
  const keys = await db.identityKeys.get(address);
  if (!keys) return;
  const identity = { publicKey: keys.publicKey, privateKey: keys.privateKey };

  const signedRows = await prekeysOf(db, address, "signed");
  const newestSigned = signedRows.reduce((a, b) => (a && a.id > b.id ? a : b), signedRows[0]);
  if (newestSigned && now - deserializeSignedPrekey(newestSigned.record).createdAt > SIGNED_PREKEY_MAX_AGE_MS) {
    const signed = await makeSignedPrekey(address, identity, newestSigned.id + 1, now);
    // older signed prekeys stay for the grace period: first messages sent to them may still be queued
    await db.prekeys.put(signed.row);
    upload.signedPrekey = signed.wire;
  }

  const kemRows = await prekeysOf(db, address, "kem");
  const newestKem = kemRows.reduce((a, b) => (a && a.id > b.id ? a : b), kemRows[0]);
  if (!newestKem || status.kemPrekeyId === undefined || now - deserializeKemPrekey(newestKem.record).createdAt > SIGNED_PREKEY_MAX_AGE_MS) {
    const id = await nextKemId(ctx, address);
    const kem = makeKemPrekey(address, identity, id, now);
    await db.transaction("rw", [db.prekeys, db.meta], async () => {
      await db.prekeys.put(kem.row);
      await reservePrekeyIds(db, address, "kem", id);
    });
    upload.kemPrekey = kem.wire;
  }

  if (status.oneTimePrekeys < ONE_TIME_PREKEY_LOW) {
    const count = ONE_TIME_PREKEY_BATCH - Math.max(0, status.oneTimePrekeys);
    const firstId = await nextPrekeyId(db, address, "onetime");
    const made = await makeOneTimePrekeys(address, firstId, count, now);
    await db.transaction("rw", [db.prekeys, db.meta], async () => {
      await db.prekeys.bulkPut(made.rows);
      await reservePrekeyIds(db, address, "onetime", firstId + count - 1);
    });
    upload.oneTimePrekeys = made.wire;
  }
  if (status.kemOneTimePrekeys < KEM_ONE_TIME_PREKEY_LOW) {
    const count = KEM_ONE_TIME_PREKEY_BATCH - Math.max(0, status.kemOneTimePrekeys);
    const firstId = await nextKemId(ctx, address);
    const made = makeKemOneTimePrekeys(address, identity, firstId, count, now);
    await db.transaction("rw", [db.prekeys, db.meta], async () => {
      await db.prekeys.bulkPut(made.rows);
      await reservePrekeyIds(db, address, "kem", firstId + count - 1);
    });
    upload.kemOneTimePrekeys = made.wire;
  }
  if (upload.signedPrekey || upload.kemPrekey || upload.oneTimePrekeys || upload.kemOneTimePrekeys) {
    await request(ctx.socket(), EVENTS.keysUpload, upload);
    ctx.log.info("prekeys uploaded", {
      oneTime: upload.oneTimePrekeys?.length ?? 0,
      kemOneTime: upload.kemOneTimePrekeys?.length ?? 0,
      signed: Boolean(upload.signedPrekey),
      kem: Boolean(upload.kemPrekey),
    });
  }
  await dropExpiredPrekeys(ctx, address, now);
}

/**
 * Deletes signed and last-resort KEM prekeys that were replaced more than OLD_PREKEY_GRACE_MS ago (never the
 * newest of each), with the replay guards recorded against them, and forgets any cached private key.
 */
export async function dropExpiredPrekeys(ctx: EngineContext, address: Address, now: number): Promise<number> {
  const { db } = ctx;
  const expired: { key: string; kind: "signed" | "kem"; id: number; publicKey: Uint8Array }[] = [];
  for (const kind of ["signed", "kem"] as const) {
    const rows = (await prekeysOf(db, address, kind)).sort((a, b) => a.id - b.id);
    // a key is replaced when its successor was made; it then serves the grace period
    for (let i = 0; i + 1 < rows.length; i++) {
      if (now - rows[i + 1].createdAt > OLD_PREKEY_GRACE_MS) {
        const publicKey = kind === "signed" ? deserializeSignedPrekey(rows[i].record).publicKey : new Uint8Array();
        expired.push({ key: rows[i].key, kind, id: rows[i].id, publicKey });
      }
    }
  }
  if (expired.length === 0) return 0;
  await db.transaction("rw", [db.prekeys, db.baseKeys], async () => {
    await db.prekeys.bulkDelete(expired.map((e) => e.key));
    const guards = await db.baseKeys.where("address").equals(address).toArray();
    const gone = guards.filter((g) => expired.some((e) => (e.kind === "signed" ? g.signedPrekeyId === e.id : g.kemPrekeyId === e.id)));
    if (gone.length) await db.baseKeys.bulkDelete(gone.map((g) => g.key));
  });
  for (const e of expired) if (e.kind === "signed") forgetDhKey(decodeKey(KeyTag.signedPrekey, e.publicKey));
  ctx.log.info("old prekeys deleted", { count: expired.length });
  return expired.length;
}
