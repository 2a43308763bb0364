// Account creation (keys generated here, never leaving the worker) and prekey upkeep after login.
import { parseHandle, isAddressError } from "../brands";
import { EVENTS, ProtocolError, toB64, type Address, type BrandId } from "./deps";
import { EngineError } from "../worker/rpc";
import type { AccountRow, DeviceRow } from "../store/db";
import { forgetAccountKeys, nextPrekeyId, prekeysOf, reservePrekeyIds } from "../store/keys";
import { generateIdentityKeyPair, deserializeSignedPrekey } from "../crypto";
import type { EngineContext } from "./context";
import { makeKemPrekey, makeOneTimePrekeys, makeSignedPrekey, ONE_TIME_PREKEY_BATCH, ONE_TIME_PREKEY_LOW, SIGNED_PREKEY_MAX_AGE_MS } from "./keys";
import { request } from "./relay";

export const MAX_DISPLAY_NAME = 100;

export async function createAccount(
  ctx: EngineContext,
  device: DeviceRow,
  params: { brand: BrandId; handle: string; displayName: string },
): Promise<AccountRow> {
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
  const signed = await makeSignedPrekey(address, identity, 1, now);
  const kem = makeKemPrekey(address, identity, 1, now);
  const oneTime = await makeOneTimePrekeys(address, 1, ONE_TIME_PREKEY_BATCH, now);
  // keys are stored before registering so that a message racing the register reply can be decrypted
  await db.transaction("rw", [db.identityKeys, db.prekeys, db.meta], async () => {
    await db.identityKeys.put({ address, publicKey: identity.publicKey, privateKey: identity.privateKey });
    await db.prekeys.bulkPut([signed.row, kem.row, ...oneTime.rows]);
    await reservePrekeyIds(db, address, "onetime", ONE_TIME_PREKEY_BATCH);
  });
  try {
    await request(ctx.socket(), EVENTS.register, {
      address,
      identityKey: toB64(identity.publicKey),
      device: {
        deviceId: device.deviceId,
        authKey: toB64(device.authPublicKey),
        signedPrekey: signed.wire,
        kemPrekey: kem.wire,
        oneTimePrekeys: oneTime.wire,
      },
    });
  } catch (error) {
    await forgetAccountKeys(db, address);
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
  await db.accounts.put(account);
  return account;
}

function brandRule(brand: BrandId): string {
  const parsed = parseHandle(brand, "");
  return isAddressError(parsed) ? parsed.message : "invalid handle";
}

/** After login: top up one-time prekeys on the relay and rotate an old signed prekey. */
export async function maintainPrekeys(ctx: EngineContext, address: Address): Promise<void> {
  const { db } = ctx;
  const status = await request(ctx.socket(), EVENTS.keysStatus, { address });
  const upload: { address: Address; signedPrekey?: { id: number; publicKey: string; signature: string }; oneTimePrekeys?: { id: number; publicKey: string }[] } = { address };
  const now = ctx.now();

  const signedRows = await prekeysOf(db, address, "signed");
  const newest = signedRows.reduce((a, b) => (a && a.id > b.id ? a : b), signedRows[0]);
  if (newest && now - deserializeSignedPrekey(newest.record).createdAt > SIGNED_PREKEY_MAX_AGE_MS) {
    const keys = await db.identityKeys.get(address);
    if (keys) {
      const id = newest.id + 1;
      const signed = await makeSignedPrekey(address, { publicKey: keys.publicKey, privateKey: keys.privateKey }, id, now);
      // older signed prekeys stay: messages sent to them may still be in flight
      await db.prekeys.put(signed.row);
      upload.signedPrekey = signed.wire;
    }
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
  if (upload.signedPrekey || upload.oneTimePrekeys) {
    await request(ctx.socket(), EVENTS.keysUpload, upload);
    ctx.log.info("prekeys uploaded", { oneTime: upload.oneTimePrekeys?.length ?? 0, signed: Boolean(upload.signedPrekey) });
  }
}
