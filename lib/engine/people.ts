// Contacts and people: local methods (any tab serves them, no relay involved: the joins are mine alone
// and never leave this device). Addresses are checked against the brand rules before anything is kept.
import type { Address } from "../brands";
import type { JunctionDB } from "../store/db";
import { addContact, linkAddresses, PeopleError, setNickname, unlinkAddress } from "../store/people";
import { inTransaction } from "../store/transactions";
import { EngineError } from "../worker/rpc";
import { canonicalAddress } from "./local";

function peopleTables(db: JunctionDB) {
  return [db.addressBook, db.people, db.accounts];
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

export async function addContactLocal(db: JunctionDB, p: { address: string; nickname?: string }, now: number): Promise<{ address: Address }> {
  const address = canonicalAddress(p.address);
  const nickname = optionalName(p.nickname);
  await run(db, (db) => addContact(db, address, nickname, now));
  return { address };
}

export async function setNicknameLocal(db: JunctionDB, p: { address: string; nickname: string | null }, now: number): Promise<null> {
  const address = canonicalAddress(p.address);
  const nickname = optionalName(p.nickname);
  await run(db, (db) => setNickname(db, address, nickname, now));
  return null;
}

export async function linkAddressesLocal(db: JunctionDB, p: { address: string; to: string }, now: number): Promise<{ personId: string }> {
  const a = canonicalAddress(p.address);
  const b = canonicalAddress(p.to);
  const personId = await run(db, (db) => linkAddresses(db, a, b, now));
  return { personId };
}

export async function unlinkAddressLocal(db: JunctionDB, p: { address: string }, now: number): Promise<null> {
  const address = canonicalAddress(p.address);
  await run(db, (db) => unlinkAddress(db, address, now));
  return null;
}
