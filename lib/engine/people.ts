// Contacts and people: local methods (any tab serves them). The joins and names are mine alone: they
// never go to the relay or to a peer, only (end-to-end encrypted, as sync) to my own other devices.
// Addresses are checked against the brand rules before anything is kept.
import type { Address } from "../brands";
import type { JunctionDB } from "../store/db";
import { addContact, linkAddresses, PeopleError, setNickname, unlinkAddress } from "../store/people";
import { inTransaction } from "../store/transactions";
import { EngineError } from "../worker/rpc";
import { canonicalAddress } from "./local";
import type { SyncItem } from "./content/kinds/sync";
import { clockKey, localClock, queueSync, syncTables } from "./sync/queue";

function peopleTables(db: JunctionDB) {
  return [db.addressBook, db.people, ...syncTables(db)];
}

async function run<T>(db: JunctionDB, work: (db: JunctionDB) => Promise<T>): Promise<T> {
  try {
    return await inTransaction(db, peopleTables(db), work);
  } catch (error) {
    if (error instanceof PeopleError) throw new EngineError("bad_request", error.message, { cause: error });
    throw error;
  }
}

function optionalName(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new EngineError("bad_request", "a name is text");
  return value;
}

/** Tells my other devices what my address book now says of `address` (its name, whether I added it). */
async function syncContact(db: JunctionDB, address: Address, now: number): Promise<void> {
  const row = await db.addressBook.get(address);
  const at = await localClock(db, clockKey.contact(address), now);
  await queueSync(db, "all", [{ t: "contact", address, nickname: row?.nickname ?? null, added: row?.addedAt !== undefined, at }], now);
}

/** Tells my other devices of a join (`to`) or a split (null) of `address`. */
async function syncPerson(db: JunctionDB, address: Address, to: Address | null, now: number): Promise<void> {
  // one clock for both addresses (a receiver records it for both): a later change of either is newer
  const keys = [address, ...(to === null ? [] : [to])].map(clockKey.person);
  let at = now;
  for (const key of keys) at = Math.max(at, await localClock(db, key, now));
  await db.syncClock.bulkPut(keys.map((key) => ({ key, at })));
  const item: SyncItem = { t: "person", address, to, at };
  await queueSync(db, "all", [item], now);
}

export async function addContactLocal(db: JunctionDB, p: { address: string; nickname?: string }, now: number): Promise<{ address: Address }> {
  const address = canonicalAddress(p.address);
  const nickname = optionalName(p.nickname);
  await run(db, async (db) => {
    await addContact(db, address, nickname, now);
    await syncContact(db, address, now);
  });
  return { address };
}

export async function setNicknameLocal(db: JunctionDB, p: { address: string; nickname: string | null }, now: number): Promise<null> {
  const address = canonicalAddress(p.address);
  const nickname = optionalName(p.nickname);
  await run(db, async (db) => {
    await setNickname(db, address, nickname, now);
    await syncContact(db, address, now);
  });
  return null;
}

export async function linkAddressesLocal(db: JunctionDB, p: { address: string; to: string }, now: number): Promise<{ personId: string }> {
  const a = canonicalAddress(p.address);
  const b = canonicalAddress(p.to);
  const personId = await run(db, async (db) => {
    const id = await linkAddresses(db, a, b, now);
    await syncPerson(db, a, b, now);
    return id;
  });
  return { personId };
}

export async function unlinkAddressLocal(db: JunctionDB, p: { address: string }, now: number): Promise<null> {
  const address = canonicalAddress(p.address);
  await run(db, async (db) => {
    await unlinkAddress(db, address, now);
    await syncPerson(db, address, null, now);
  });
  return null;
}
