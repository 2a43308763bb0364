import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Address } from "../brands";
import { JunctionDB } from "./db";
import { addContact, linkAddresses, matchKey, personAddresses, PeopleError, setNickname, suggestMatches, unlinkAddress } from "./people";

let db: JunctionDB;

beforeEach(async () => {
  db = new JunctionDB(`people-test-${Math.random().toString(36).slice(2)}`);
  await db.open();
  await db.accounts.put({ address: "messenger:alice.smith", brand: "messenger", handle: "alice.smith", displayName: "Alice", identityKey: new Uint8Array(33), createdAt: 1 });
});

afterEach(async () => {
  db.close();
  await db.delete();
});

const IG: Address = "instagram:@carol";
const WA: Address = "whatsapp:+15550000003";
const MS: Address = "messenger:carol.smith";
const DAVE: Address = "instagram:@dave";

async function members(address: Address): Promise<string[]> {
  const personId = (await db.addressBook.get(address))?.personId;
  if (!personId) return [];
  return (await personAddresses(db, personId)).map((r) => r.address).sort();
}

describe("joining and splitting addresses", () => {
  it("joins two addresses into one person, and a third into the same one", async () => {
    const id = await linkAddresses(db, IG, WA, 1);
    expect(await members(IG)).toEqual([IG, WA].sort());
    expect(await linkAddresses(db, MS, WA, 2)).toBe(id);
    expect(await members(MS)).toEqual([IG, MS, WA].sort());
    expect(await db.people.count()).toBe(1);
    // joining what is joined already changes nothing
    expect(await linkAddresses(db, IG, MS, 3)).toBe(id);
  });

  it("merges two people into one when their addresses are joined", async () => {
    const first = await linkAddresses(db, IG, WA, 1);
    await linkAddresses(db, MS, DAVE, 2);
    expect(await linkAddresses(db, WA, DAVE, 3)).toBe(first);
    expect(await members(DAVE)).toEqual([DAVE, IG, MS, WA].sort());
    expect(await db.people.count()).toBe(1);
  });

  it("splits an address off, and a person of one address is no person any more", async () => {
    await linkAddresses(db, IG, WA, 1);
    await linkAddresses(db, IG, MS, 1);
    await unlinkAddress(db, MS, 2);
    expect(await members(MS)).toEqual([]);
    expect(await members(IG)).toEqual([IG, WA].sort());
    await unlinkAddress(db, WA, 3);
    expect(await members(IG)).toEqual([]);
    expect(await db.people.count()).toBe(0);
    // nothing said about them any more: no empty rows left behind
    expect(await db.addressBook.count()).toBe(0);
  });

  it("keeps the names I gave when joining and splitting", async () => {
    await setNickname(db, IG, "Carol (work)", 1);
    await linkAddresses(db, IG, WA, 2);
    await unlinkAddress(db, IG, 3);
    expect((await db.addressBook.get(IG))?.nickname).toBe("Carol (work)");
  });

  it("refuses my own account, an address joined to itself, and a name too long", async () => {
    await expect(linkAddresses(db, IG, "messenger:alice.smith", 1)).rejects.toBeInstanceOf(PeopleError);
    await expect(linkAddresses(db, IG, IG, 1)).rejects.toBeInstanceOf(PeopleError);
    await expect(setNickname(db, IG, "x".repeat(101), 1)).rejects.toBeInstanceOf(PeopleError);
    await expect(addContact(db, "messenger:alice.smith", null, 1)).rejects.toBeInstanceOf(PeopleError);
    expect(await db.addressBook.count()).toBe(0);
  });

  it("adds a contact by hand and renames it; an empty name gives theirs back", async () => {
    await addContact(db, DAVE, "Dave", 5);
    expect(await db.addressBook.get(DAVE)).toMatchObject({ nickname: "Dave", addedAt: 5 });
    await setNickname(db, DAVE, "  ", 6);
    const row = await db.addressBook.get(DAVE);
    expect(row?.nickname).toBeUndefined();
    expect(row?.addedAt).toBe(5);
  });
});

describe("suggested matches", () => {
  const contacts = [
    { address: IG, displayName: "Carol Smith", updatedAt: 1 },
    { address: WA, displayName: "carol  smith", updatedAt: 1 },
    { address: "instagram:@carol.s" as Address, displayName: "Carol Smith", updatedAt: 1 },
    { address: DAVE, displayName: "Dave", updatedAt: 1 },
    { address: "whatsapp:+15550000004" as Address, displayName: "Dåve", updatedAt: 1 },
    { address: "messenger:alice.smith" as Address, displayName: "Dave", updatedAt: 1 },
  ];

  it("suggests the same name on two brands, case and accents aside, never my own account", () => {
    const found = suggestMatches(contacts, new Map(), new Set(["messenger:alice.smith"]));
    expect(found.map((s) => s.addresses)).toEqual([["instagram:@carol", "instagram:@carol.s", "whatsapp:+15550000003"], ["instagram:@dave", "whatsapp:+15550000004"]]);
    expect(matchKey(" Dåve ")).toBe("dave");
  });

  it("suggests nothing for one brand only, nor once the addresses are one person", () => {
    expect(suggestMatches([contacts[0]!, contacts[2]!], new Map(), new Set())).toEqual([]);
    const book = new Map([
      [DAVE, { address: DAVE, personId: "p", updatedAt: 1 }],
      ["whatsapp:+15550000004", { address: "whatsapp:+15550000004" as Address, personId: "p", updatedAt: 1 }],
    ]);
    expect(suggestMatches(contacts.slice(3, 5), book, new Set())).toEqual([]);
  });

  it("applies nothing: a suggestion leaves the address book as it was", async () => {
    await db.contacts.bulkPut(contacts);
    suggestMatches(await db.contacts.toArray(), new Map(), new Set());
    expect(await db.addressBook.count()).toBe(0);
  });
});
