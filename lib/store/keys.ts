// Private key material: the device row, account identity keys and prekeys. Worker only: nothing in
// lib/hooks or components may import this module.
import Dexie from "dexie";
import type { Address } from "../brands";
import type { DeviceRow, IdentityKeyRow, JunctionDB, PrekeyRow } from "./db";
import { prekeyKey } from "./ids";

export type PrekeyKind = PrekeyRow["kind"];

/** The device of each of `addresses`: its own row, or the shared `self` row of an account made before those. */
export async function devicesOf(db: JunctionDB, addresses: Iterable<Address>): Promise<Map<Address, DeviceRow>> {
  const rows = new Map((await db.device.toArray()).map((row) => [row.id, row] as const));
  const shared = rows.get("self");
  const out = new Map<Address, DeviceRow>();
  for (const address of addresses) {
    const row = rows.get(address) ?? shared;
    if (row) out.set(address, row);
  }
  return out;
}

/** Stores the device row of a new account unless one exists; returns the row that won (two tabs may race). */
export async function ensureDevice(db: JunctionDB, address: Address, make: () => DeviceRow): Promise<DeviceRow> {
  return db.transaction("rw", db.device, async () => {
    const existing = await db.device.get(address);
    if (existing) return existing;
    const row = make();
    await db.device.put(row);
    return row;
  });
}

export async function getIdentityKey(db: JunctionDB, address: Address): Promise<IdentityKeyRow | undefined> {
  return db.identityKeys.get(address);
}

export function prekeyRow(address: Address, kind: PrekeyKind, id: number, record: Uint8Array, now: number): PrekeyRow {
  return { key: prekeyKey(address, kind, id), address, kind, id, record, createdAt: now };
}

export async function getPrekey(db: JunctionDB, address: Address, kind: PrekeyKind, id: number): Promise<PrekeyRow | undefined> {
  return db.prekeys.get(prekeyKey(address, kind, id));
}

export async function prekeysOf(db: JunctionDB, address: Address, kind: PrekeyKind): Promise<PrekeyRow[]> {
  return db.prekeys.where("[address+kind]").equals([address, kind]).toArray();
}

/** Highest prekey id ever used for an account and kind; ids are never reused so a stale bundle can't match a new key. */
export async function nextPrekeyId(db: JunctionDB, address: Address, kind: PrekeyKind): Promise<number> {
  const row = await db.meta.get(`prekeyId|${address}|${kind}`);
  const stored = typeof row?.value === "number" ? row.value : 0;
  const existing = await prekeysOf(db, address, kind);
  return Math.max(stored, ...existing.map((p) => p.id)) + 1;
}

export async function reservePrekeyIds(db: JunctionDB, address: Address, kind: PrekeyKind, lastId: number): Promise<void> {
  await db.meta.put({ key: `prekeyId|${address}|${kind}`, value: lastId });
}

/** Removes everything stored for an account that failed to register. */
export async function forgetAccountKeys(db: JunctionDB, address: Address): Promise<void> {
  await db.transaction("rw", [db.identityKeys, db.prekeys, db.meta], async () => {
    await db.identityKeys.delete(address);
    await db.prekeys.where("[address+kind]").between([address, Dexie.minKey], [address, Dexie.maxKey]).delete();
  });
}
