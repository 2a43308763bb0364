// Group membership: the chain (lib/crypto/groupChanges) and the rules, as every member's device applies
// them. A hostile member or relay tries each thing the rules forbid; each is refused and changes nothing.
import { describe, expect, it } from "vitest";
import { generateIdentityKeyPair } from "../../crypto";
import { applyGroupChange, type GroupChangeBody, type GroupState, makeGroupChange, MAX_GROUP_MEMBERS } from "./membership";

const ana = { address: "instagram:ana", key: generateIdentityKeyPair() };
const ben = { address: "whatsapp:+15550002", key: generateIdentityKeyPair() };
const cy = { address: "messenger:cy.lee", key: generateIdentityKeyPair() };
const dee = { address: "whatsapp:+15550004", key: generateIdentityKeyPair() };
const people = [ana, ben, cy, dee];
const keyOf = (address: string) => people.find((p) => p.address === address)?.key.publicKey;

const randomBytesForTests = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));
const groupId = randomBytesForTests(32);
let clock = 1_000;
const change = (by: typeof ana, state: GroupState | undefined, body: GroupChangeBody) => makeGroupChange(by.key, by.address, groupId, state, body, clock++);
const apply = (state: GroupState | undefined, signed: Uint8Array) => applyGroupChange(state, groupId, signed, keyOf);

function created(): GroupState {
  return apply(undefined, change(ana, undefined, { type: "create", name: "Climbing", members: [ben.address, cy.address] }));
}

const members = (s: GroupState) => s.members.map((m) => `${m.address}${m.admin ? "*" : ""}`);

describe("group membership", () => {
  it("starts with its creation: the creator is the admin, every member agrees on the state", () => {
    const s = created();
    expect(s.name).toBe("Climbing");
    expect(members(s)).toEqual([`${ana.address}*`, ben.address, cy.address]);
    expect(s.head.version).toBe(1);
    // a group cannot start with anything else, nor be created twice
    expect(() => apply(undefined, change(ana, undefined, { type: "rename", name: "x" }))).toThrow(/creation/);
    expect(() => apply(s, change(ana, s, { type: "create", name: "again", members: [] }))).toThrow(/exists/);
  });

  it("lets admins add, remove, promote, demote and rename, and refuses the same from a member", () => {
    let s = created();
    for (const body of [
      { type: "add", members: [dee.address] },
      { type: "remove", member: cy.address },
      { type: "promote", member: cy.address },
      { type: "rename", name: "Ben's group" },
      { type: "timer", ms: 60_000 },
      { type: "addPolicy", addPolicy: "members" },
    ] as GroupChangeBody[]) {
      expect(() => apply(s, change(ben, s, body)), body.type).toThrow(/only admins/);
    }
    s = apply(s, change(ana, s, { type: "add", members: [dee.address] }));
    s = apply(s, change(ana, s, { type: "promote", member: ben.address }));
    s = apply(s, change(ben, s, { type: "remove", member: cy.address }));
    s = apply(s, change(ben, s, { type: "rename", name: "Bouldering" }));
    expect(members(s)).toEqual([`${ana.address}*`, `${ben.address}*`, dee.address]);
    expect(s.name).toBe("Bouldering");
    expect(s.head.version).toBe(5);
    // a removed member changes nothing any more
    expect(() => apply(s, change(cy, s, { type: "leave" }))).toThrow(/only members/);
  });

  it("lets members add when the group says so, and anyone leave; the last admin's role passes on", () => {
    let s = created();
    s = apply(s, change(ana, s, { type: "addPolicy", addPolicy: "members" }));
    s = apply(s, change(ben, s, { type: "add", members: [dee.address] }));
    expect(() => apply(s, change(cy, s, { type: "add", members: [dee.address] }))).toThrow(/already/);
    s = apply(s, change(ana, s, { type: "leave" }));
    // Ben joined first of those left, so every device makes him the admin
    expect(members(s)).toEqual([`${ben.address}*`, cy.address, dee.address]);
    expect(() => apply(s, change(ben, s, { type: "demote", member: ben.address }))).toThrow(/at least one admin/);
  });

  it("refuses a change its author did not sign, or signed with another key", () => {
    const s = created();
    const real = change(ben, s, { type: "leave" });
    // Ben's leave, but signed by Dee's key under Ben's name: the relay or Dee forging it
    const forged = makeGroupChange(dee.key, ben.address, groupId, s, { type: "leave" }, clock++);
    expect(() => apply(s, forged)).toThrow(/not signed by its author/);
    // an unknown author
    const stranger = { address: "instagram:mallory", key: generateIdentityKeyPair() };
    expect(() => apply(s, change(stranger, s, { type: "leave" }))).toThrow(/not known/);
    expect(apply(s, real).members).toHaveLength(2);
  });

  it("refuses replays, rollbacks, forks and gaps: one history for everyone", () => {
    const s1 = created();
    const toV2 = change(ana, s1, { type: "rename", name: "Two" });
    const s2 = apply(s1, toV2);
    // the same change again
    expect(() => apply(s2, toV2)).toThrow(/already applied/);
    // a second change at version 2 from the same head (a fork the relay could show to some members)
    const fork = change(ana, s1, { type: "rename", name: "Fork" });
    expect(() => apply(s2, fork)).toThrow(/second group change/);
    const s3 = apply(s2, change(ana, s2, { type: "remove", member: ben.address }));
    // the relay replays an old change that brought Ben in: older than the state
    expect(() => apply(s3, toV2)).toThrow(/older/);
    // a change skipping a version, or of another group
    const gap = makeGroupChange(ana.key, ana.address, groupId, { ...s3, head: { version: 5, hash: s3.head.hash } }, { type: "rename", name: "Gap" }, clock++);
    expect(() => apply(s3, gap)).toThrow(/does not follow/);
    const other = makeGroupChange(ana.key, ana.address, randomBytesForTests(32), s3, { type: "rename", name: "Other" }, clock++);
    expect(() => apply(s3, other)).toThrow(/another group/);
    expect(s3.name).toBe("Two");
  });

  it(`holds ${MAX_GROUP_MEMBERS} members and refuses one more`, () => {
    const many = Array.from({ length: MAX_GROUP_MEMBERS - 1 }, (_, i) => `whatsapp:+1555${String(i).padStart(7, "0")}`);
    let s = apply(undefined, change(ana, undefined, { type: "create", name: "Big", members: many }));
    expect(s.members).toHaveLength(MAX_GROUP_MEMBERS);
    expect(() => apply(s, change(ana, s, { type: "add", members: [dee.address] }))).toThrow(/at most 1024/);
    s = apply(s, change(ana, s, { type: "remove", member: many[0] }));
    expect(apply(s, change(ana, s, { type: "add", members: [dee.address] })).members).toHaveLength(MAX_GROUP_MEMBERS);
    expect(() => apply(undefined, change(ana, undefined, { type: "create", name: "Too big", members: [...many, dee.address] }))).toThrow(/at most 1024/);
  });

  it("refuses a body that is not a group change", () => {
    const s = created();
    expect(() => apply(s, change(ana, s, { type: "rename", name: "" }))).toThrow(/not a group change/);
    expect(() => apply(s, change(ana, s, { type: "explode" } as unknown as GroupChangeBody))).toThrow(/not a group change/);
  });
});
