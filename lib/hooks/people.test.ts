import "fake-indexeddb/auto";
import { describe, expect, it, beforeEach } from "vitest";
import type { Address } from "../brands";
import { conversationId, type ConversationRow } from "../store/db";
import { conversation, freshDb, message } from "./testRows";
import { linkAddresses, setNickname, unlinkAddress } from "../store/people";
import { filterContacts, queryContacts, queryPersonCard } from "./peopleQueries";
import { queryInbox, queryTimeline } from "./queries";

const t = freshDb("people-hooks");

const ME: Address = "messenger:alice.smith";
const ME_WA: Address = "whatsapp:+15550000001";
const CAROL_IG: Address = "instagram:@carol";
const CAROL_WA: Address = "whatsapp:+15550000003";
const DAVE: Address = "instagram:@dave";
const ERIN: Address = "messenger:erin.jones";

describe("the merged inbox (One row per person)", () => {
  beforeEach(async () => {
    await t.db.accounts.put({ address: ME, brand: "messenger", handle: "alice.smith", displayName: "Alice", identityKey: new Uint8Array(33), createdAt: 1 });
    await t.db.conversations.bulkPut([
      conversation(ME, CAROL_IG, 500, 2),
      conversation(ME, DAVE, 400),
      conversation(ME, CAROL_WA, 300, 1),
      conversation(ME_WA, CAROL_WA, 200, 4),
      conversation(ME, ERIN, 100),
    ]);
    await t.db.contacts.bulkPut([
      { address: CAROL_IG, displayName: "Carol", updatedAt: 1 },
      { address: CAROL_WA, displayName: "Carol S", updatedAt: 1 },
    ]);
  });

  it("is the ordinary inbox while nobody is joined", async () => {
    const merged = await queryInbox(t.db, "all", Infinity, { onePerPerson: true });
    expect(merged.rows.map((r) => r.id)).toEqual((await queryInbox(t.db, "all", Infinity)).rows.map((r) => r.id));
  });

  it("shows a joined person once: newest activity, unread summed, every brand pair", async () => {
    await linkAddresses(t.db, CAROL_IG, CAROL_WA, 1);
    const merged = await queryInbox(t.db, "all", Infinity, { onePerPerson: true });
    expect(merged.rows.map((r) => r.theirAddress)).toEqual([CAROL_IG, DAVE, ERIN]);
    const person = merged.people?.get(conversationId(ME, CAROL_IG));
    expect(person).toMatchObject({ name: "Carol", unread: 7, lastActivity: 500 });
    expect(person?.conversations.map((c) => [c.ourBrand, c.theirBrand])).toEqual([["messenger", "instagram"], ["messenger", "whatsapp"], ["whatsapp", "whatsapp"]]);
    expect(merged.total).toBe(3);
    // the separate view loses nothing
    expect((await queryInbox(t.db, "all", Infinity)).rows).toHaveLength(5);
  });

  it("names the person by the name I gave one of their addresses", async () => {
    await linkAddresses(t.db, CAROL_IG, CAROL_WA, 1);
    await setNickname(t.db, CAROL_WA, "Carol from school", 2);
    const merged = await queryInbox(t.db, "all", 2, { onePerPerson: true });
    expect(merged.people?.get(conversationId(ME, CAROL_IG))?.name).toBe("Carol from school");
    expect(merged.names.get(CAROL_WA)).toBe("Carol from school");
  });

  it("fills the first page with people, not with folded rows, and counts the rest", async () => {
    await linkAddresses(t.db, CAROL_IG, CAROL_WA, 1);
    const page = await queryInbox(t.db, "all", 2, { onePerPerson: true });
    expect(page.rows.map((r) => r.theirAddress)).toEqual([CAROL_IG, DAVE]);
    expect(page).toMatchObject({ truncated: true, total: 3 });
    expect((await queryInbox(t.db, "all", 3, { onePerPerson: true })).truncated).toBe(false);
  });

  it("a page that folding leaves short reads further: many joined people, each with many conversations at the top", async () => {
    // 12 people, each joined across 5 addresses whose conversations are the newest 60, then 30 others
    const rows: ConversationRow[] = [];
    for (let p = 0; p < 12; p++) {
      const addresses = Array.from({ length: 5 }, (_, k) => `instagram:@p${p}_${k}` as Address);
      addresses.forEach((a, k) => rows.push(conversation(ME, a, 10_000 - p * 5 - k)));
      for (let k = 1; k < addresses.length; k++) await linkAddresses(t.db, addresses[0] as Address, addresses[k] as Address, 1);
    }
    for (let o = 0; o < 30; o++) rows.push(conversation(ME, `messenger:other.${o}` as Address, 5_000 - o));
    await t.db.conversations.bulkPut(rows);
    const page = await queryInbox(t.db, "all", 20, { onePerPerson: true });
    // 12 people once each, then the newest others: 20 rows although the first 60 conversations fold to 12
    expect(page.rows).toHaveLength(20);
    expect(page.rows.slice(0, 12).map((r) => r.theirAddress)).toEqual(Array.from({ length: 12 }, (_, p) => `instagram:@p${p}_0`));
    expect(page.rows[12]?.theirAddress).toBe("messenger:other.0");
    expect(page.people?.get(conversationId(ME, "instagram:@p3_0" as Address))?.conversations).toHaveLength(5);
    // 12 people + 30 others + Carol (2 rows: not joined here), Dave and Erin, Carol's WhatsApp pair
    expect(page).toMatchObject({ truncated: true, total: 12 + 30 + 5 });
  });

  it("keeps a brand filter to my account on that brand", async () => {
    await linkAddresses(t.db, CAROL_IG, CAROL_WA, 1);
    const wa = await queryInbox(t.db, "whatsapp", Infinity, { onePerPerson: true });
    expect(wa.rows.map((r) => r.id)).toEqual([conversationId(ME_WA, CAROL_WA)]);
    expect(wa.people?.get(conversationId(ME_WA, CAROL_WA))?.unread).toBe(4);
  });

  it("never folds a group into a person: a group stays its own row", async () => {
    await linkAddresses(t.db, CAROL_IG, CAROL_WA, 1);
    // a group held by my account names my own address on both sides, and Carol is one of its members
    const group = (our: Address, gid: string, lastActivity: number): ConversationRow => ({
      ...conversation(our, our, lastActivity, 3),
      id: `${our}|group:${gid}`,
      groupId: gid,
      groupName: `Group ${gid}`,
      groupBrands: ["instagram", "whatsapp"],
    });
    await t.db.conversations.bulkPut([group(ME, "g1", 600), group(ME_WA, "g2", 250)]);
    await t.db.groups.bulkPut([
      { id: `${ME}|g1`, ourAddress: ME, groupId: "g1", conversationId: `${ME}|group:g1`, name: "Group g1", members: [{ address: ME, admin: true, since: 1 }, { address: CAROL_IG, admin: false, since: 1 }], timerMs: 0, addPolicy: "admins", version: 1, headHash: new Uint8Array(32), chain: [], keySentTo: [], updatedAt: 1 },
      { id: `${ME_WA}|g2`, ourAddress: ME_WA, groupId: "g2", conversationId: `${ME_WA}|group:g2`, name: "Group g2", members: [{ address: ME_WA, admin: true, since: 1 }, { address: CAROL_WA, admin: false, since: 1 }], timerMs: 0, addPolicy: "admins", version: 1, headHash: new Uint8Array(32), chain: [], keySentTo: [], updatedAt: 1 },
    ]);
    // an address joined to Carol before it became one of my accounts (signed in here later): its groups
    // still do not fold into her
    await t.db.addressBook.put({ address: ME_WA, personId: (await t.db.addressBook.get(CAROL_IG))!.personId, updatedAt: 2 });
    const merged = await queryInbox(t.db, "all", Infinity, { onePerPerson: true });
    expect(merged.rows.map((r) => r.id)).toEqual([`${ME}|group:g1`, conversationId(ME, CAROL_IG), conversationId(ME, DAVE), `${ME_WA}|group:g2`, conversationId(ME, ERIN)]);
    const carol = merged.people?.get(conversationId(ME, CAROL_IG));
    expect(carol?.conversations.map((c) => c.id)).toEqual([conversationId(ME, CAROL_IG), conversationId(ME, CAROL_WA), conversationId(ME_WA, CAROL_WA)]);
    expect(carol?.unread).toBe(7);
    expect([...(merged.people?.keys() ?? [])]).toEqual([conversationId(ME, CAROL_IG)]);
    // the Groups chip shows both groups, merged or not
    const groups = await queryInbox(t.db, "groups", Infinity, { onePerPerson: true });
    expect(groups.rows.map((r) => r.id)).toEqual([`${ME}|group:g1`, `${ME_WA}|group:g2`]);
    expect(groups.people?.size ?? 0).toBe(0);
  });

  it("shows two rows again once the addresses are split", async () => {
    await linkAddresses(t.db, CAROL_IG, CAROL_WA, 1);
    await unlinkAddress(t.db, CAROL_WA, 2);
    const merged = await queryInbox(t.db, "all", Infinity, { onePerPerson: true });
    expect(merged.rows).toHaveLength(5);
    expect(merged.people?.size ?? 0).toBe(0);
  });
});

describe("one timeline of several conversations", () => {
  const a = conversationId(ME, CAROL_IG);
  const b = conversationId(ME, CAROL_WA);

  it("merges the newest messages of each in time order, and says when older ones exist", async () => {
    await t.db.messages.bulkPut([message(a, "a1", 1), message(b, "b2", 2), message(a, "a3", 3), message(b, "b4", 4), message(a, "a5", 5)]);
    await t.db.messages.put(message(conversationId(ME, DAVE), "other", 3));
    const all = await queryTimeline(t.db, [a, b], 10);
    expect(all.messages.map((m) => m.id)).toEqual(["a1", "b2", "a3", "b4", "a5"]);
    expect(all.hasOlder).toBe(false);
    const newest = await queryTimeline(t.db, [a, b], 3);
    expect(newest.messages.map((m) => m.id)).toEqual(["a3", "b4", "a5"]);
    expect(newest.hasOlder).toBe(true);
  });
});

describe("contacts and the person's card", () => {
  beforeEach(async () => {
    await t.db.accounts.put({ address: ME, brand: "messenger", handle: "alice.smith", displayName: "Alice", identityKey: new Uint8Array(33), createdAt: 1 });
    await t.db.conversations.bulkPut([conversation(ME, CAROL_IG, 500), conversation(ME, CAROL_WA, 300)]);
    await t.db.contacts.bulkPut([
      { address: CAROL_IG, displayName: "Carol", updatedAt: 1 },
      { address: CAROL_WA, displayName: "Carol", updatedAt: 1 },
      { address: ME, displayName: "Alice", updatedAt: 1 },
    ]);
    await t.db.addressBook.put({ address: DAVE, nickname: "Dave", addedAt: 1, updatedAt: 1 });
    await t.db.identities.put({ id: `${ME}|${CAROL_WA}`, ourAddress: ME, theirAddress: CAROL_WA, identityKey: new Uint8Array(33), verified: true, changedAt: null, firstSeenAt: 1 });
  });

  it("lists everyone I talked to or added, never my own account, and suggests the same name on two brands", async () => {
    const view = await queryContacts(t.db);
    expect(view.contacts.map((c) => c.address)).toEqual([CAROL_IG, CAROL_WA, DAVE]);
    expect(view.contacts[0]?.routes.map((r) => r.ourAddress)).toEqual([ME]);
    expect(view.suggestions).toEqual([{ name: "Carol", addresses: [CAROL_IG, CAROL_WA] }]);
    expect(filterContacts(view.contacts, "dav").map((c) => c.address)).toEqual([DAVE]);
    expect(filterContacts(view.contacts, "whatsapp").map((c) => c.address)).toEqual([CAROL_WA]);
  });

  it("shows every address of a person with my account on it and its verified state", async () => {
    const alone = await queryPersonCard(t.db, CAROL_IG);
    expect(alone.addresses.map((a) => a.address)).toEqual([CAROL_IG]);
    expect(alone.suggestions).toEqual([CAROL_WA]);
    await linkAddresses(t.db, CAROL_IG, CAROL_WA, 2);
    const card = await queryPersonCard(t.db, CAROL_WA);
    expect(card.name).toBe("Carol");
    expect(card.addresses.map((a) => a.address)).toEqual([CAROL_WA, CAROL_IG]);
    expect(card.addresses[0]?.routes.map((r) => r.ourAddress)).toEqual([ME]);
    expect(card.addresses[0]?.identities.get(ME)?.verified).toBe(true);
    expect(card.suggestions).toEqual([]);
  });
});
