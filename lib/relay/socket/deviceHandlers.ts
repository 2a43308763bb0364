// devices:publish — an account's device list, signed by its account identity key (lib/crypto/devices.ts).
// The relay keeps the newest version per account and hands it out with directory:lookup; it checks the
// signature and that the version grows, so no client of the relay can publish a list for someone else's
// account or roll one back. Senders check the same again themselves: they trust the account key, not us.
import type { Address } from "../../brands";
import { openDeviceList } from "../../crypto";
import { type EVENTS, fromB64, ProtocolError } from "../../protocol";
import type { Connection } from "./connection";
import type { HandlerFn } from "./types";

/**
 * The version and devices of `signed` if it is a list of `address` signed by `identityKey` that names `deviceId`;
 * `bad_request` for anything else (a list the account key did not sign, or one leaving the device out).
 */
export function checkSignedList(identityKey: string, address: Address, deviceId: string, signed: string): { version: number; deviceIds: string[] } {
  try {
    const list = openDeviceList(fromB64(identityKey), address, fromB64(signed));
    // the device that publishes is one of the account's devices on the list it publishes
    if (!list.devices.some((d) => d.deviceId === deviceId)) throw new ProtocolError("bad_request", "the publishing device is not on the list");
    return { version: list.version, deviceIds: list.devices.map((d) => d.deviceId) };
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError("bad_request", "not a device list signed by this account's key");
  }
}

/** Stores a checked list if it is newer than the stored one; `conflict` for an older one or a fork. */
export async function putSignedList(conn: Connection, address: Address, version: number, signed: string): Promise<void> {
  const outcome = await conn.ctx.store.putDeviceList(address, version, signed);
  if (outcome === "not_found") throw new ProtocolError("not_found", "no such address");
  if (outcome === "stale") throw new ProtocolError("conflict", "a newer device list is stored");
  conn.ctx.log.debug("device list", { conn: conn.id, outcome });
}

export const devicesPublish: HandlerFn<typeof EVENTS.devicesPublish> = async (conn, req) => {
  const from = req.from as Address;
  const fromDevice = conn.deviceOf(from);
  if (!fromDevice) throw new ProtocolError("unauthorized", "from is not an account of this connection");
  await conn.limit("devicesPublishPerDevice", conn.ctx.limitKey("devices", fromDevice));
  const account = await conn.ctx.store.getAccount(from);
  if (!account) throw new ProtocolError("not_found", "no such address");
  const list = checkSignedList(account.identityKey, from, fromDevice, req.list);
  await putSignedList(conn, from, list.version, req.list);
  // devices the new list leaves out are removed: registrations, prekeys and mail; each connection of one
  // is handed the list (its proof, signed by the account key) and closed
  const removed = await conn.ctx.store.removeDevices(from, list.deviceIds);
  if (removed.length) conn.ctx.hub.removed(removed, from, req.list);
  if (removed.length) conn.ctx.log.debug("devices removed", { conn: conn.id, count: removed.length });
  return { version: list.version };
};
