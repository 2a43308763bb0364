// Contacts and people across brands: the names I give addresses, addresses I add by hand, and the
// addresses I join into one person. All of it is mine alone: kept on this device, never inferred (a
// possible match is only suggested), never sent to the relay or to anyone. Functions taking a db run
// inside the caller's transaction when there is one.
import { brandOf, type Address } from "../brands";
import type { AddressBookRow, ContactRow, JunctionDB } from "./db";
import { randomId } from "./ids";

/** Longest name I can give someone. */
export const MAX_NICKNAME_CHARS = 100;
/** Most addresses one person joins (a card lists them all). */
export const MAX_PERSON_ADDRESSES = 32;

export class PeopleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeopleError";
  }
}

function entry(existing: AddressBookRow | undefined, address: Address, now: number): AddressBookRow {
  return existing ? { ...existing, updatedAt: now } : { address, updatedAt: now };
}

/** An entry that says nothing any more is removed rather than kept empty. */
async function putOrDrop(db: JunctionDB, row: AddressBookRow): Promise<void> {
  if (row.nickname === undefined && row.personId === undefined && row.addedAt === undefined) await db.addressBook.delete(row.address);
  else await db.addressBook.put(row);
}

async function refuseMine(db: JunctionDB, addresses: Address[]): Promise<void> {
  const mine = await db.accounts.bulkGet(addresses);
  if (mine.some(Boolean)) throw new PeopleError("that is one of my accounts");
}

/** Adds an address to my contacts (before any conversation), with the name I give it if any. */
export async function addContact(db: JunctionDB, address: Address, nickname: string | null, now: number): Promise<void> {
  await refuseMine(db, [address]);
  const name = nickname === null ? undefined : cleanNickname(nickname);
  const existing = await db.addressBook.get(address);
  const row = entry(existing, address, now);
  row.addedAt = existing?.addedAt ?? now;
  if (name !== undefined) row.nickname = name;
  await db.addressBook.put(row);
}

/** The name I give an address; null or "" removes it (their own name shows again). */
export async function setNickname(db: JunctionDB, address: Address, nickname: string | null, now: number): Promise<void> {
  const name = nickname === null ? undefined : cleanNickname(nickname);
  const row = entry(await db.addressBook.get(address), address, now);
  if (name === undefined) delete row.nickname;
  else row.nickname = name;
  await putOrDrop(db, row);
}

function cleanNickname(input: string): string | undefined {
  const name = input.trim();
  if (name.length > MAX_NICKNAME_CHARS) throw new PeopleError(`a name has at most ${MAX_NICKNAME_CHARS} characters`);
  return name.length === 0 ? undefined : name;
}

/**
 * Joins two addresses into one person and returns the person's id. When both already belong to
 * (different) people, those two people become one: every address of the second moves to the first.
 */
export async function linkAddresses(db: JunctionDB, a: Address, b: Address, now: number): Promise<string> {
  if (a === b) throw new PeopleError("an address cannot be joined to itself");
  await refuseMine(db, [a, b]);
  const [rowA, rowB] = await db.addressBook.bulkGet([a, b]);
  if (rowA?.personId !== undefined && rowA.personId === rowB?.personId) return rowA.personId;
  const keep = rowA?.personId ?? rowB?.personId;
  const personId = keep ?? randomId();
  const other = rowA?.personId !== undefined && rowB?.personId !== undefined ? rowB.personId : undefined;
  const moving: AddressBookRow[] = [];
  if (other !== undefined) moving.push(...(await db.addressBook.where("personId").equals(other).toArray()));
  else moving.push(rowA?.personId === undefined ? entry(rowA, a, now) : entry(rowB, b, now));
  if (keep === undefined) moving.push(entry(rowB, b, now));
  const already = keep !== undefined ? await db.addressBook.where("personId").equals(keep).count() : 0;
  if (already + moving.length > MAX_PERSON_ADDRESSES) throw new PeopleError(`a person has at most ${MAX_PERSON_ADDRESSES} addresses`);
  await db.addressBook.bulkPut(moving.map((row) => ({ ...row, personId, updatedAt: now })));
  if (keep === undefined) await db.people.add({ id: personId, createdAt: now });
  if (other !== undefined) await db.people.delete(other);
  return personId;
}

/**
 * Takes an address out of its person. A person left with one address is no person any more: that
 * address goes back on its own too. Nothing else changes (conversations, names, messages).
 */
export async function unlinkAddress(db: JunctionDB, address: Address, now: number): Promise<void> {
  const row = await db.addressBook.get(address);
  if (row?.personId === undefined) return;
  const personId = row.personId;
  const { personId: _gone, ...rest } = row;
  await putOrDrop(db, { ...rest, updatedAt: now });
  const left = await db.addressBook.where("personId").equals(personId).toArray();
  if (left.length <= 1) {
    for (const last of left) {
      const { personId: _p, ...single } = last;
      await putOrDrop(db, { ...single, updatedAt: now });
    }
    await db.people.delete(personId);
  }
}

/** The addresses of a person, in the order they were joined (by address when equal). */
export async function personAddresses(db: JunctionDB, personId: string): Promise<AddressBookRow[]> {
  return db.addressBook.where("personId").equals(personId).toArray();
}

/** A possible match: two addresses on different brands whose people gave themselves the same name. */
export interface Suggestion {
  name: string;
  addresses: Address[];
}

/** How names compare for a suggestion: case, accents and spacing do not count. */
export function matchKey(name: string): string {
  return name.normalize("NFKD").replace(/\p{M}/gu, "").toLocaleLowerCase("en").replace(/\s+/g, " ").trim();
}

/**
 * Possible matches: addresses on more than one brand whose own names are the same, that are not
 * joined to each other yet. Suggested only: nothing is joined until I say so. Addresses of my own
 * accounts never appear.
 */
export function suggestMatches(contacts: readonly ContactRow[], book: ReadonlyMap<string, AddressBookRow>, mine: ReadonlySet<string>): Suggestion[] {
  const groups = new Map<string, { name: string; addresses: Address[] }>();
  for (const c of contacts) {
    if (!c.displayName || mine.has(c.address)) continue;
    const key = matchKey(c.displayName);
    if (!key) continue;
    const group = groups.get(key) ?? { name: c.displayName, addresses: [] };
    group.addresses.push(c.address);
    groups.set(key, group);
  }
  const out: Suggestion[] = [];
  for (const group of groups.values()) {
    const brands = new Set(group.addresses.map((a) => brandOf(a)));
    if (brands.size < 2) continue;
    // already one person: nothing to suggest
    const persons = new Set(group.addresses.map((a) => book.get(a)?.personId ?? `alone:${a}`));
    if (persons.size < 2) continue;
    out.push({ name: group.name, addresses: [...group.addresses].sort() });
  }
  return out.sort((x, y) => x.name.localeCompare(y.name));
}
