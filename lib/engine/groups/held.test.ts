// Group messages for a group this device has never heard of, between real engines through the real relay:
// held without a trace in the inbox, opened when the group arrives, given a placeholder once the group is
// known but the key is not, dropped and counted when nothing came within a day; a stranger's flood of
// them is held up to a bound and no further.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../../relay/test/relayProcess";
import { makeBoot, messagesOf, waitFor, type Client } from "../testClients";
import { convOf, fourPeople, onSends, textsOf } from "./testGroups";
import { EVENTS, fromB64, toB64, type Address, type schemas } from "../deps";
import { randomBytes } from "../../crypto";
import { randomId } from "../../store/ids";
import { request } from "../relay";
import { runMaintenance } from "../maintenance";
import { WAITING_TTL_MS } from "../recovery";
import type { HeldGroupRow } from "../../store/db";
import { GROUP_FRAME, GROUP_FRAME_HEAD, groupRowId } from "./state";
import { admitHeld, HELD_UNKNOWN_PER_SENDER, type HeldCandidate } from "./held";

const boot = makeBoot(useRelayProcess());

const four = () => fourPeople(boot);

type Envelope = schemas.OutgoingEnvelope;

/** Takes out of `c`'s sends the envelopes `pick` picks (as if the relay were slow with them) until released. */
function withhold(c: Client, pick: (e: Envelope, batch: Envelope[]) => boolean) {
  const taken: Envelope[] = [];
  let on = true;
  onSends(c, (p) => {
    if (!on) return;
    const batch = p.envelopes;
    const out = batch.filter((e) => pick(e, batch));
    taken.push(...out);
    if (out.length) p.envelopes = batch.filter((e) => !out.includes(e));
  });
  return {
    taken,
    /** Sends what was taken, late, and takes nothing more. */
    async release(from: Address) {
      on = false;
      await request(c.sockets.at(-1)!, EVENTS.send, { from, envelopes: taken.splice(0) });
    },
  };
}

/** A sender-key frame for a random group: what a stranger can send anyone, no session needed. */
function strangerFrame(): string {
  const frame = randomBytes(GROUP_FRAME_HEAD + 120);
  frame[0] = GROUP_FRAME;
  return toB64(frame);
}

const texts = textsOf;
const counter = async (c: Client, name: string) => (await c.api.diagnostics({})).counters[name] ?? 0;

describe("a group message for a group I have never heard of", () => {
  it("is held without a trace, opens when the group arrives; a stranger's flood is held up to a bound, then expires counted", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA, deeA } = await four();
    // Dee, in no group with Cy, floods Cy with frames naming groups that do not exist
    const cyDevice = (await cy.db.device.get(cyA))!.deviceId;
    const flood = HELD_UNKNOWN_PER_SENDER + 50;
    for (let sent = 0; sent < flood; sent += 75) {
      const envelopes = Array.from({ length: Math.min(75, flood - sent) }, () => ({ id: randomId(18), to: cyA, toDevice: cyDevice, body: strangerFrame() }));
      await request(dee.sockets.at(-1)!, EVENTS.send, { from: deeA, envelopes });
    }
    await waitFor(async () => (await counter(cy, "group_held_unknown")) + (await counter(cy, "group_held_unknown_full")) === flood, "cy took the flood in");
    expect(await counter(cy, "group_held_unknown")).toBe(HELD_UNKNOWN_PER_SENDER);
    expect(await counter(cy, "group_held_unknown_full")).toBe(50);
    expect(await cy.db.heldGroup.count()).toBe(HELD_UNKNOWN_PER_SENDER);
    // nothing of it shows: no conversation, no placeholder, no request to the stranger
    expect(await cy.db.conversations.count()).toBe(0);
    expect(await cy.db.messages.count()).toBe(0);
    expect(await counter(cy, "sender_key_requested")).toBe(0);

    // Ana's creation of a real group reaches Cy late (Ben first, then Ben's message to the group)
    const late = withhold(ana, (e) => e.to === cyA);
    const { groupId } = await ana.api.createGroup({ from: anaA, name: "Late group", members: [benA, cyA] });
    await waitFor(async () => (await ben.db.groups.get(groupRowId(benA, groupId)))?.members.length === 3, "ben has the group");
    await waitFor(async () => late.taken.length > 0, "ana's creation for cy is withheld");
    await ben.api.sendMessage({ conversationId: convOf(benA, groupId), text: "before the group" });
    // Dee's flood does not crowd out a member's message: it is held (room is per sender)
    await waitFor(async () => (await counter(cy, "group_held_unknown")) === HELD_UNKNOWN_PER_SENDER + 1, "cy holds ben's message");
    const held = (await cy.db.heldGroup.where("[ourAddress+groupId]").equals([cyA, groupId]).toArray()) as HeldGroupRow[];
    expect(held.map((h) => [h.from, h.unknownGroup])).toEqual([[benA, true]]);
    expect(await cy.db.conversations.get(convOf(cyA, groupId))).toBeUndefined();
    expect(await cy.db.waiting.count()).toBe(0);

    // the group arrives: the held message opens in it, in the order it came, and leaves nothing held
    await late.release(anaA);
    await waitFor(async () => (await texts(cy, convOf(cyA, groupId))).includes("before the group"), "cy reads ben's message");
    expect(await counter(cy, "group_held_opened")).toBe(1);
    expect(await cy.db.heldGroup.where("[ourAddress+groupId]").equals([cyA, groupId]).count()).toBe(0);
    expect((await cy.db.messages.where("conversationId").equals(convOf(cyA, groupId)).toArray()).filter((m) => m.kind === "waiting")).toEqual([]);

    // a day later the stranger's frames, never answered, are dropped and counted
    await cy.engine.idle();
    const later = Date.now() + WAITING_TTL_MS + 60_000;
    await runMaintenance({ db: cy.db, log: { warn() {}, info() {} }, counters: cy.engine.counters, now: () => later } as never);
    expect(await cy.db.heldGroup.count()).toBe(0);
    expect(await counter(cy, "group_held_expired")).toBe(HELD_UNKNOWN_PER_SENDER);
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 120_000);

  it("once the group is known but the sender's key is not, a placeholder shows and the key is asked for", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA } = await four();
    const late = withhold(ana, (e) => e.to === cyA);
    // Ben's sender key for Cy is lost on the way (the pairwise envelope beside his first group message)
    const lost = withhold(ben, (e, batch) => e.to === cyA && fromB64(e.body)[0] !== GROUP_FRAME && batch.some((x) => fromB64(x.body)[0] === GROUP_FRAME));
    const { groupId } = await ana.api.createGroup({ from: anaA, name: "Lossy", members: [benA, cyA] });
    const cyConv = convOf(cyA, groupId);
    await waitFor(async () => (await ben.db.groups.get(groupRowId(benA, groupId)))?.members.length === 3, "ben has the group");
    await waitFor(async () => late.taken.length > 0, "ana's creation for cy is withheld");
    await ben.api.sendMessage({ conversationId: convOf(benA, groupId), text: "key lost" });
    await waitFor(async () => (await counter(cy, "group_held_unknown")) === 1, "cy holds ben's message");
    expect(lost.taken.length).toBe(1);
    expect(await cy.db.waiting.count()).toBe(0);
    // Ben is away when the group reaches Cy: the message waits, and now says so where Cy reads the group
    await ben.engine.stop();
    await late.release(anaA);
    await waitFor(async () => (await messagesOf(cy.db, cyConv)).some((m) => m.kind === "waiting"), "a placeholder in the group");
    await waitFor(async () => (await counter(cy, "sender_key_requested")) > 0, "cy asks ben for his key");
    expect((await cy.db.heldGroup.where("[ourAddress+groupId]").equals([cyA, groupId]).first())?.unknownGroup).toBeUndefined();
    // Ben back: he sends his key again, the message opens in place of its placeholder
    const ben2 = boot(ben.db);
    await waitFor(async () => (await texts(cy, cyConv)).includes("key lost"), "cy reads it");
    await waitFor(async () => (await messagesOf(cy.db, cyConv)).every((m) => m.kind !== "waiting"), "the placeholder is gone");
    expect(await cy.db.heldGroup.count()).toBe(0);
    expect(await counter(ben2, "sender_key_resent")).toBeGreaterThan(0);
    for (const c of [ana, ben2, cy, dee]) await c.engine.stop();
  }, 120_000);
});

describe("admitHeld", () => {
  const row = (from: string, i: number): HeldGroupRow => ({
    key: `me|${from}|${i}`, ourAddress: "messenger:me.here" as Address, groupId: "g", envelopeId: `${i}`, from: from as Address, fromDevice: "d", body: "", ts: i, receivedAt: i,
  });
  const unknown = (from: string, i: number): HeldCandidate => ({ row: row(from, i), known: false });

  it("keeps a sender's unknown-group messages up to its share, counting what it holds already", () => {
    const batch = Array.from({ length: 10 }, (_, i) => unknown("messenger:mallory.x", i));
    const out = admitHeld(batch, 1_000, new Map([["messenger:me.here|messenger:mallory.x", HELD_UNKNOWN_PER_SENDER - 4]]));
    expect(out.kept.map((k) => k.row.envelopeId)).toEqual(["0", "1", "2", "3"]);
    expect(out.kept.every((k) => k.row.unknownGroup === true)).toBe(true);
    expect(out).toMatchObject({ unknownFull: 6, full: 0 });
  });

  it("keeps a known group's messages beside a full stranger, within the room left in all", () => {
    const batch = [unknown("messenger:mallory.x", 0), { row: row("whatsapp:+15550001", 1), known: true }, { row: row("whatsapp:+15550001", 2), known: true }];
    const out = admitHeld(batch, 1, new Map([["messenger:me.here|messenger:mallory.x", HELD_UNKNOWN_PER_SENDER]]));
    expect(out.kept.map((k) => [k.row.envelopeId, k.row.unknownGroup])).toEqual([["1", undefined]]);
    expect(out).toMatchObject({ unknownFull: 1, full: 1 });
  });
});
