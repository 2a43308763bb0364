// Device lists in use (docs/CRYPTO.md, "Devices"). Every account publishes a list of its devices signed
// by its account key; mine is made with the account and published with its registration (or, for an
// account older than lists, at login). Someone else's list is checked here before it is used: it must
// open under the account key, and its version may not be lower than the highest one I accepted for that
// account (nor the same version with other content). Senders encrypt only to devices on the accepted list
// (directory.ts), receivers accept messages only from them (receive.ts).
import { EVENTS, fromB64, ProtocolError, toB64, type Address } from "./deps";
import { acceptDeviceList, openDeviceList, signDeviceList, type DeviceList, type KeyPair } from "../crypto";
import type { DeviceListRow, JunctionDB } from "../store/db";
import { sameBytes } from "../store/identities";
import type { EngineContext } from "./context";
import { request } from "./relay";

/** A device list that must not be used: not signed by the account key, malformed, older than one I accepted, or a fork. */
export class DeviceListRefusedError extends Error {
  constructor(readonly why: "unsigned" | "older", options?: { cause?: unknown }) {
    super(why === "older" ? "device list older than one already accepted" : "device list not signed by the account key", options);
    this.name = "DeviceListRefusedError";
  }
}

/** The relay served no device list for an account: nothing goes to it until one comes. */
export class NoDeviceListError extends Error {
  constructor() {
    super("the relay served no device list for this account");
    this.name = "NoDeviceListError";
  }
}

function rowOf(list: DeviceList, accountKey: Uint8Array, signed: string, digest: Uint8Array, now: number): DeviceListRow {
  return {
    address: list.address as Address,
    accountKey,
    version: list.version,
    digest,
    devices: list.devices.map((d) => ({ deviceId: d.deviceId, identityKey: d.identityKey, linkedAt: d.linkedAt })),
    signed,
    checkedAt: now,
  };
}

/** A new account's first list: version 1, its primary device alone. Signed here, in the worker. */
export function firstDeviceList(address: Address, account: KeyPair, deviceId: string, now: number): DeviceListRow {
  const list: DeviceList = { address, version: 1, timestamp: now, devices: [{ deviceId, identityKey: account.publicKey, linkedAt: now }] };
  const signed = toB64(signDeviceList(account, list));
  return rowOf(list, account.publicKey, signed, acceptDeviceList(undefined, list).digest, now);
}

/**
 * Checks the signed list the relay served for `address` under `accountKey` and keeps it if it is newer
 * than the one I hold. Throws NoDeviceListError when there is none, DeviceListRefusedError when the
 * account key did not sign it (or it is malformed) and DeviceListRefusedError for an older version or a fork
 * (nothing is stored then).
 */
export async function checkDeviceList(db: JunctionDB, address: Address, accountKey: Uint8Array, signed: string | undefined, now: number): Promise<DeviceListRow> {
  if (!signed) throw new NoDeviceListError();
  let list: DeviceList;
  try {
    list = openDeviceList(accountKey, address, fromB64(signed));
  } catch (error) {
    throw new DeviceListRefusedError("unsigned", { cause: error });
  }
  return db.transaction("rw", db.deviceLists, async () => {
    const held = await db.deviceLists.get(address);
    // a new account key (a safety number the person accepted) starts its versions over
    const known = held && sameBytes(held.accountKey, accountKey) ? { version: held.version, digest: held.digest } : undefined;
    let accepted: ReturnType<typeof acceptDeviceList>;
    try {
      accepted = acceptDeviceList(known, list);
    } catch (error) {
      throw new DeviceListRefusedError("older", { cause: error });
    }
    if (held && known && held.version === accepted.version) return held;
    // what is mine alone (whether it was published, my devices' names, when each was last heard from) stays with the newer version
    const row = {
      ...rowOf(list, accountKey, signed, accepted.digest, now),
      ...(held?.published && known ? { published: true } : {}),
      ...(held?.names && known ? { names: held.names } : {}),
      ...(held?.seen && known ? { seen: held.seen } : {}),
      ...(held?.thisDevice ? { thisDevice: held.thisDevice } : {}),
    };
    await db.deviceLists.put(row);
    return row;
  });
}

/** The accepted list of `address` from the relay (directory:lookup), checked as above. */
export async function fetchDeviceList(ctx: EngineContext, address: Address): Promise<DeviceListRow> {
  const res = await request(ctx.socket(), EVENTS.lookup, { address });
  return checkDeviceList(ctx.db, address, fromB64(res.identityKey), res.deviceList, ctx.now());
}

/** The lookup answered, and what it answered is no usable list: the relay has none, or it fails the checks. */
export function isListRefusal(error: unknown): boolean {
  if (error instanceof DeviceListRefusedError || error instanceof NoDeviceListError) return true;
  return error instanceof ProtocolError && (error.code === "not_found" || error.code === "bad_request");
}

/** The identity key `deviceId` has on an accepted list, if it is on it. */
export function listedKey(row: DeviceListRow | undefined, deviceId: string): Uint8Array | undefined {
  return row?.devices.find((d) => d.deviceId === deviceId)?.identityKey;
}

/**
 * After login: an account whose list the relay has not stored (one older than device lists, or one whose
 * registration ack was lost) publishes it, making the first list if it has none.
 */
export async function ensureMyDeviceList(ctx: EngineContext, address: Address, deviceId: string, keys: KeyPair): Promise<void> {
  const { db } = ctx;
  let row = await db.deviceLists.get(address);
  // which device is this one, for Settings → Linked devices
  if (row && row.thisDevice !== deviceId) await db.deviceLists.update(address, { thisDevice: deviceId });
  if (row?.published) return;
  if (!row) {
    row = { ...firstDeviceList(address, keys, deviceId, ctx.now()), thisDevice: deviceId };
    await db.deviceLists.put(row);
  }
  try {
    await request(ctx.socket(), EVENTS.devicesPublish, { from: address, list: row.signed });
  } catch (error) {
    // the relay holds a newer list (or this one): check what it has, which records it as mine
    if (!(error instanceof ProtocolError && error.code === "conflict")) throw error;
    const res = await request(ctx.socket(), EVENTS.lookup, { address });
    if (!res.deviceList) throw error;
    await checkDeviceList(db, address, keys.publicKey, res.deviceList, ctx.now());
  }
  await db.deviceLists.update(address, { published: true });
}
