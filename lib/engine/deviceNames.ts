// My devices' names (Settings → Linked devices): any of my devices may rename any of them, and the name
// goes to my other devices end-to-end encrypted, as sync (docs/PROTOCOL.md): the relay never sees it.
// Local method (any tab serves it).
import type { Address } from "../brands";
import type { JunctionDB } from "../store/db";
import { inTransaction } from "../store/transactions";
import { EngineError } from "../worker/rpc";
import { MAX_SYNC_DEVICE_NAME, type SyncItem } from "./content/kinds/sync";
import { clockKey, localClock, queueSync, syncTables } from "./sync/queue";

export async function renameDeviceLocal(db: JunctionDB, p: { deviceId: string; name: string }, now: number): Promise<null> {
  const name = typeof p.name === "string" ? p.name.trim() : "";
  if (name.length === 0 || name.length > MAX_SYNC_DEVICE_NAME) throw new EngineError("bad_request", `a device name has 1 to ${MAX_SYNC_DEVICE_NAME} characters`);
  await inTransaction(db, syncTables(db), async (db) => {
    const lists = await myLists(db);
    const holding = lists.filter((row) => row.devices.some((d) => d.deviceId === p.deviceId));
    if (holding.length === 0) throw new EngineError("not_found", "not one of my devices");
    for (const row of holding) await db.deviceLists.put({ ...row, names: { ...row.names, [p.deviceId]: name } });
    const at = await localClock(db, clockKey.deviceName(p.deviceId), now);
    await queueSync(db, "all", [{ t: "deviceName", device: p.deviceId, name, at }], now);
  });
  return null;
}

/**
 * After a link: my other devices (the new one among them) learn every name this device knows, so each
 * device's list reads the same. Each name keeps the clock it has here (a newer rename elsewhere still wins).
 */
export async function announceDeviceNames(db: JunctionDB, now: number): Promise<void> {
  await inTransaction(db, syncTables(db), async (db) => {
    const names = new Map<string, string>();
    for (const row of await myLists(db)) for (const [device, name] of Object.entries(row.names ?? {})) names.set(device, name);
    const items: SyncItem[] = [];
    for (const [device, name] of names) {
      const at = (await db.syncClock.get(clockKey.deviceName(device)))?.at ?? (await localClock(db, clockKey.deviceName(device), now));
      items.push({ t: "deviceName", device, name, at });
    }
    await queueSync(db, "all", items, now);
  });
}

async function myLists(db: JunctionDB) {
  const mine = (await db.accounts.toCollection().primaryKeys()) as Address[];
  return (await db.deviceLists.bulkGet(mine)).filter((row) => row !== undefined);
}
