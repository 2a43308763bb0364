// Groups between real engines through the real relay with the real crypto: one encryption per message,
// membership by signed changes, a new member without history, a removed member locked out, rotation.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../../relay/test/relayProcess";
import { makeBoot, messagesOf, sendByHand, waitFor, type Client } from "../testClients";
import { convOf, fourPeople, onSends, textsOf } from "./testGroups";
import { EVENTS, fromB64, toB64, type Address, type schemas } from "../deps";
import { deserializeSenderKey, groupEncrypt, serializeSenderKey } from "../../crypto";
import { GROUP_FRAME, GROUP_FRAME_HEAD, groupRowId, senderKeyId, senderName, stateOf } from "./state";
import { makeGroupChange } from "./membership";
import { request } from "../relay";
import { randomId } from "../../store/ids";
import { CONTENT_VERSION, encodeContent } from "../content/envelope";
import { notifies } from "../../store/conversations";

const boot = makeBoot(useRelayProcess());

/** `from` sends raw content through its real pairwise session with `to` (a hostile client). */
async function inject(from: Client, fromAddr: Address, to: Client, toAddr: Address, content: unknown): Promise<void> {
  await from.engine.idle();
  const toDevice = (await to.db.device.get(toAddr))!.deviceId;
  await sendByHand(from, fromAddr, toAddr, toDevice, content);
}

const four = () => fourPeople(boot);
const texts = textsOf;
const lines = async (c: Client, conv: string) => (await messagesOf(c.db, conv)).filter((m) => m.kind === "group").map((m) => m.text);

/** Every sender-key envelope `c` sends, as the relay would get it. */
function tapSends(c: Client): schemas.OutgoingEnvelope[] {
  const seen: schemas.OutgoingEnvelope[] = [];
  onSends(c, ({ envelopes }) => seen.push(...envelopes.filter((e) => fromB64(e.body)[0] === GROUP_FRAME)));
  return seen;
}

describe("groups across brands", () => {
  it("members of three brands talk; a new member gets no history; a removed member is locked out; everyone rotates", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA, deeA } = await four();
    const { conversationId, groupId } = await ana.api.createGroup({ from: anaA, name: "Trip", members: [benA, cyA] });
    const benConv = convOf(benA, groupId);
    const cyConv = convOf(cyA, groupId);
    await waitFor(async () => (await cy.db.groups.get(groupRowId(cyA, groupId)))?.members.length === 3, "cy has the group");
    await waitFor(async () => (await ben.db.conversations.get(benConv))?.groupName === "Trip", "ben has the group");
    expect(await lines(ben, benConv)).toEqual(["Ana created the group “Trip”"]);

    // one encryption: the same body to every member device
    const sent = tapSends(ana);
    const { messageId: hello } = await ana.api.sendMessage({ conversationId, text: "hello all" });
    await waitFor(async () => (await texts(ben, benConv)).includes("hello all") && (await texts(cy, cyConv)).includes("hello all"), "both have it");
    const forHello = sent.filter((e) => e.to === benA || e.to === cyA);
    expect(forHello.length).toBe(2);
    expect(new Set(forHello.map((e) => e.body)).size).toBe(1);
    const got = await ben.db.messages.get(hello);
    expect(got?.author).toBe(anaA);
    expect((await ben.db.conversations.get(benConv))?.lastPreview).toBe("Ana: hello all");

    // replies and reactions across members
    const { messageId: reply } = await cy.api.sendMessage({ conversationId: cyConv, text: "count me in", replyTo: hello });
    const atBen = await waitFor(() => ben.db.messages.get(reply), "ben has cy's reply");
    expect(atBen.replyTo).toMatchObject({ id: hello, author: anaA });
    await ben.api.react({ conversationId: benConv, messageId: reply, emoji: "👍" });
    await waitFor(async () => (await cy.db.messages.get(reply))?.reactions?.some((r) => r.by === benA && r.emoji === "👍"), "cy sees ben's reaction");

    // Dee joins: sees what comes next, not what came before
    await ana.api.changeGroup({ conversationId, action: { type: "add", members: [deeA] } });
    const deeConv = convOf(deeA, groupId);
    await waitFor(async () => (await dee.db.groups.get(groupRowId(deeA, groupId)))?.members.length === 4, "dee has the group");
    await waitFor(async () => (await lines(ben, benConv)).some((l) => l === `Ana added ${deeA.slice("messenger:".length)} (Messenger)`), "ben sees dee added");
    await cy.api.sendMessage({ conversationId: cyConv, text: "welcome Dee" });
    await waitFor(async () => (await texts(dee, deeConv)).includes("welcome Dee"), "dee reads cy");
    expect(await texts(dee, deeConv)).not.toContain("hello all");

    // Ben is removed: his client says so, and he cannot read what comes next
    const benKeyBefore = await ana.db.senderKeys.get(senderKeyId(anaA, groupId, senderName(anaA, (await ana.db.device.get(anaA))!.deviceId)));
    await ana.api.changeGroup({ conversationId, action: { type: "remove", member: benA } });
    await waitFor(async () => (await ben.db.conversations.get(benConv))?.groupLeft === true, "ben knows he was removed");
    expect(await lines(ben, benConv)).toContain("Ana removed you");
    const tapped = tapSends(ana);
    await ana.api.sendMessage({ conversationId, text: "secret plan" });
    await waitFor(async () => (await texts(cy, cyConv)).includes("secret plan") && (await texts(dee, deeConv)).includes("secret plan"), "the rest read it");
    // nothing went to Ben, and the chain that carried it is not the one Ben holds
    expect(tapped.filter((e) => e.to === benA)).toEqual([]);
    const benKeyAfter = await ana.db.senderKeys.get(benKeyBefore!.key);
    expect(deserializeSenderKey(benKeyAfter!.record).states[0].chainId).not.toBe(deserializeSenderKey(benKeyBefore!.record).states[0].chainId);
    const secret = tapped.find((e) => e.to === cyA)!;
    // Ben's copy of Ana's old chain does not open it
    const benHolds = await ben.db.senderKeys.get(senderKeyId(benA, groupId, senderName(anaA, (await ana.db.device.get(anaA))!.deviceId)));
    const { groupDecrypt } = await import("../../crypto");
    expect(() => groupDecrypt(deserializeSenderKey(benHolds!.record), fromB64(secret.body).subarray(GROUP_FRAME_HEAD))).toThrow();
    expect(await texts(ben, benConv)).not.toContain("secret plan");

    // Cy rotates too before its next message (Ben held Cy's chain)
    await cy.api.sendMessage({ conversationId: cyConv, text: "after ben" });
    await waitFor(async () => (await texts(dee, deeConv)).includes("after ben"), "dee reads cy after the removal");

    // Cy leaves: the others see it, Cy's client says so
    await cy.api.changeGroup({ conversationId: cyConv, action: { type: "leave" } });
    await waitFor(async () => (await ana.db.groups.get(groupRowId(anaA, groupId)))?.members.length === 2, "ana sees cy gone");
    expect((await cy.db.conversations.get(cyConv))?.groupLeft).toBe(true);
    await expect(cy.api.sendMessage({ conversationId: cyConv, text: "still here?" }).then(() => cy.engine.idle()).then(async () => (await cy.db.messages.toArray()).find((m) => m.text === "still here?")?.state)).resolves.toBe("failed");
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 120_000);

  it("refuses a sender-key message from a removed member, and changes by a non-admin, with a clear message", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA } = await four();
    const { conversationId, groupId } = await ana.api.createGroup({ from: anaA, name: "Club", members: [benA, cyA] });
    const benConv = convOf(benA, groupId);
    const cyConv = convOf(cyA, groupId);
    await waitFor(async () => (await ben.db.groups.get(groupRowId(benA, groupId))) && (await cy.db.groups.get(groupRowId(cyA, groupId))), "both have it");
    // a non-admin may not remove anyone
    await expect(ben.api.changeGroup({ conversationId: benConv, action: { type: "remove", member: cyA } })).rejects.toThrow("Only admins of this group can do that.");
    await ben.api.sendMessage({ conversationId: benConv, text: "hi from ben" });
    await waitFor(async () => (await texts(cy, cyConv)).includes("hi from ben"), "cy reads ben");
    // a hostile Ben signs the removal himself and sends it to Cy: a non-admin's change is refused
    const benKeys = (await ben.db.identityKeys.get(benA))!;
    const benState = stateOf((await ben.db.groups.get(groupRowId(benA, groupId)))!);
    const forged = makeGroupChange({ publicKey: benKeys.publicKey, privateKey: benKeys.privateKey }, benA, benState.groupId, benState, { type: "remove", member: anaA }, Date.now());
    const refusedBefore = (await cy.api.diagnostics({})).counters.group_rule_refused ?? 0;
    await inject(ben, benA, cy, cyA, { v: CONTENT_VERSION, type: "groupUpdate", id: randomId(), sentAt: Date.now(), groupId, changes: [toB64(forged)] });
    await waitFor(async () => ((await cy.api.diagnostics({})).counters.group_rule_refused ?? 0) > refusedBefore, "cy refuses ben's change");
    expect((await cy.db.groups.get(groupRowId(cyA, groupId)))?.members.map((m) => m.address)).toContain(anaA);

    await ana.api.changeGroup({ conversationId, action: { type: "remove", member: benA } });
    await waitFor(async () => (await cy.db.groups.get(groupRowId(cyA, groupId)))?.members.length === 2, "cy knows ben is out");
    // a replay of an old link (Ana's creation, re-sent by Ben) changes nothing
    const chain = (await ben.db.groups.get(groupRowId(benA, groupId)))!.chain;
    await inject(ben, benA, cy, cyA, { v: CONTENT_VERSION, type: "groupUpdate", id: randomId(), sentAt: Date.now(), groupId, changes: [toB64(chain[0])] });
    await cy.engine.idle();
    expect((await cy.db.groups.get(groupRowId(cyA, groupId)))?.members.length).toBe(2);
    // Ben's client refuses to send; a hostile Ben sends with his old chain anyway: refused, nothing stored
    const benDevice = (await ben.db.device.get(benA))!.deviceId;
    const keyRow = (await ben.db.senderKeys.get(senderKeyId(benA, groupId, senderName(benA, benDevice))))!;
    const sealed = groupEncrypt(deserializeSenderKey(keyRow.record), encodeContent({ v: CONTENT_VERSION, type: "text", id: randomId(), sentAt: Date.now(), text: "i am still here" }));
    await ben.db.senderKeys.put({ ...keyRow, record: serializeSenderKey(sealed.record) });
    const frame = new Uint8Array(GROUP_FRAME_HEAD + sealed.ciphertext.length);
    frame[0] = GROUP_FRAME;
    frame.set(Buffer.from(groupId, "hex"), 1);
    frame.set(sealed.ciphertext, GROUP_FRAME_HEAD);
    const cyDevice = (await cy.db.device.get(cyA))!.deviceId;
    const before = (await cy.api.diagnostics({})).counters.group_refused ?? 0;
    await request(ben.sockets.at(-1)!, EVENTS.send, { from: benA, envelopes: [{ id: randomId(), to: cyA, toDevice: cyDevice, body: toB64(frame) }] });
    await waitFor(async () => ((await cy.api.diagnostics({})).counters.group_refused ?? 0) > before, "cy refuses it");
    expect(await texts(cy, cyConv)).not.toContain("i am still here");
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 90_000);

  it("holds a group message that came before its sender key, asks the sender for the key, and opens it when it comes", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA } = await four();
    const { conversationId, groupId } = await ana.api.createGroup({ from: anaA, name: "Late keys", members: [benA, cyA] });
    const benConv = convOf(benA, groupId);
    await waitFor(async () => (await ben.db.groups.get(groupRowId(benA, groupId)))?.members.length === 3, "ben has the group");
    await ana.api.sendMessage({ conversationId, text: "first" });
    await waitFor(async () => (await texts(ben, benConv)).includes("first"), "ben reads the first");
    // Ben loses Ana's sender key (as if its distribution never came); Ana believes he holds it
    const anaDevice = (await ana.db.device.get(anaA))!.deviceId;
    await ben.engine.idle();
    await ben.db.senderKeys.delete(senderKeyId(benA, groupId, senderName(anaA, anaDevice)));
    const sent = tapSends(ana);
    await ana.api.sendMessage({ conversationId, text: "second" });
    await waitFor(async () => (await texts(ben, benConv)).includes("second"), "ben reads the second once the key came again");
    // the message went once, as the sender-key body: what opened it was the key sent again, not a resend
    expect(sent.filter((e) => e.to === benA).length).toBe(1);
    const counters = (await ben.api.diagnostics({})).counters;
    expect(counters.group_held).toBeGreaterThan(0);
    expect(counters.group_held_opened).toBeGreaterThan(0);
    expect((await ana.api.diagnostics({})).counters.sender_key_resent).toBeGreaterThan(0);
    await waitFor(async () => (await messagesOf(ben.db, benConv)).every((m) => m.kind !== "waiting"), "the placeholder is gone");
    expect(await ben.db.heldGroup.count()).toBe(0);
    expect(await ben.db.waiting.count()).toBe(0);
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 90_000);

  it("a sender key that did not open is sent again, and leaves nothing in the 1:1 conversation", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA } = await four();
    // Ana's sender key, on its way to Ben with her first group message, is damaged
    let damaged = 0;
    onSends(ana, ({ envelopes }) => {
      // the send of the first group message: Ana's sender key (pairwise) and the message (sender key)
      const first = envelopes.some((e) => fromB64(e.body)[0] === GROUP_FRAME);
      for (const e of envelopes) {
        const body = fromB64(e.body);
        if (first && damaged === 0 && e.to === benA && body[0] !== GROUP_FRAME) {
          body[body.length - 5] ^= 0xff;
          e.body = toB64(body);
          damaged += 1;
        }
      }
    });
    const { conversationId, groupId } = await ana.api.createGroup({ from: anaA, name: "Lossy", members: [benA, cyA] });
    const benConv = convOf(benA, groupId);
    await waitFor(async () => (await ben.db.groups.get(groupRowId(benA, groupId)))?.members.length === 3, "ben has the group");
    await ana.api.sendMessage({ conversationId, text: "through the noise" });
    await waitFor(async () => (await texts(ben, benConv)).includes("through the noise"), "ben reads it");
    expect(damaged).toBe(1);
    expect((await ben.api.diagnostics({})).counters.undecryptable).toBeGreaterThan(0);
    // nothing waits, or says it could not be decrypted, in Ben's conversation with Ana
    await waitFor(async () => (await ben.db.waiting.count()) === 0, "nothing waits");
    const oneToOne = await messagesOf(ben.db, `${benA}|${anaA}`);
    expect(oneToOne.filter((m) => m.kind === "waiting" || m.kind === "undecryptable")).toEqual([]);
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 90_000);

  it("shows delivered to and read by per member, and refuses a receipt from someone not in the group", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA } = await four();
    const { conversationId, groupId } = await ana.api.createGroup({ from: anaA, name: "Ticks", members: [benA, cyA] });
    const benConv = convOf(benA, groupId);
    const cyConv = convOf(cyA, groupId);
    const { messageId } = await ana.api.sendMessage({ conversationId, text: "did you see it?" });
    const receiptsOf = async (id: string) => (await ana.db.messages.get(id))?.memberReceipts ?? {};
    await waitFor(async () => {
      const r = await receiptsOf(messageId);
      return r[benA]?.deliveredAt !== undefined && r[cyA]?.deliveredAt !== undefined;
    }, "both members' devices said delivered");
    expect((await ana.db.messages.get(messageId))?.state).toBe("delivered");
    expect((await receiptsOf(messageId))[benA]?.readAt).toBeUndefined();
    // Ben reads it: Ana sees Ben, and only Ben, as having read it; the tick waits for Cy
    await ben.api.markRead({ conversationId: benConv });
    await waitFor(async () => (await receiptsOf(messageId))[benA]?.readAt !== undefined, "ana sees ben read it");
    expect((await receiptsOf(messageId))[cyA]?.readAt).toBeUndefined();
    expect((await ana.db.messages.get(messageId))?.state).toBe("delivered");
    await cy.api.markRead({ conversationId: cyConv });
    await waitFor(async () => (await ana.db.messages.get(messageId))?.state === "read", "read by everyone");
    // the receipts went to Ana alone: Cy knows nothing of Ben's
    expect(Object.keys((await cy.db.messages.get(messageId))?.memberReceipts ?? {})).toEqual([]);

    // Ben is removed; a hostile Ben still says he read Ana's next message: not counted
    await ana.api.changeGroup({ conversationId, action: { type: "remove", member: benA } });
    await waitFor(async () => (await ben.db.conversations.get(benConv))?.groupLeft === true, "ben knows");
    const { messageId: after } = await ana.api.sendMessage({ conversationId, text: "after ben" });
    await waitFor(async () => (await receiptsOf(after))[cyA]?.deliveredAt !== undefined, "cy has it");
    const before = (await ana.api.diagnostics({})).counters.group_receipt_refused ?? 0;
    await inject(ben, benA, ana, anaA, { v: CONTENT_VERSION, type: "receipt", kind: "read", ids: [after], at: Date.now(), groupId });
    await waitFor(async () => ((await ana.api.diagnostics({})).counters.group_receipt_refused ?? 0) > before, "ana refuses it");
    expect((await receiptsOf(after))[benA]).toBeUndefined();
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 90_000);

  it("a mention reaches the one mentioned, who is notified even with the group muted", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA, deeA } = await four();
    const { conversationId, groupId } = await ana.api.createGroup({ from: anaA, name: "Shout", members: [benA, cyA] });
    const benConv = convOf(benA, groupId);
    const cyConv = convOf(cyA, groupId);
    await waitFor(async () => (await ben.db.conversations.get(benConv)) && (await cy.db.conversations.get(cyConv)), "both have it");
    await ben.api.updateConversation({ conversationId: benConv, muted: true });
    await cy.api.updateConversation({ conversationId: cyConv, muted: true });
    // only members can be mentioned, with a clear message
    await expect(ana.api.sendMessage({ conversationId, text: "hi @Dee", mentions: [deeA] })).rejects.toThrow("Only members of this group can be mentioned.");
    const { messageId } = await ana.api.sendMessage({ conversationId, text: "@Ben your turn", mentions: [benA] });
    await waitFor(async () => (await ben.db.messages.get(messageId)) && (await cy.db.messages.get(messageId)), "both have it");
    expect((await ben.db.messages.get(messageId))?.mentions).toEqual([benA]);
    const benRow = (await ben.db.conversations.get(benConv))!;
    expect(benRow.muted).toBe(true);
    expect(benRow.mentionedIn).toBe(messageId);
    expect(notifies(benRow)).toBe(true);
    // Cy, muted and not mentioned, is not notified
    const cyRow = (await cy.db.conversations.get(cyConv))!;
    expect(cyRow.mentionedIn).toBeUndefined();
    expect(notifies(cyRow)).toBe(false);
    // once read, the mention no longer notifies
    await ben.api.markRead({ conversationId: benConv });
    expect((await ben.db.conversations.get(benConv))?.mentionedIn).toBeUndefined();
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 90_000);

  it("typing in a group names who types, and only a member's counts", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA } = await four();
    const { conversationId, groupId } = await ana.api.createGroup({ from: anaA, name: "Chatter", members: [benA, cyA] });
    const benConv = convOf(benA, groupId);
    await waitFor(async () => (await ben.db.conversations.get(benConv))?.groupName === "Chatter", "ben has the group");
    expect(await ben.engine.setTyping(benConv, true)).toBe("sent");
    await waitFor(async () => (await ana.db.conversations.get(conversationId))?.typingBy === benA, "ana sees ben typing");
    expect((await ana.db.conversations.get(conversationId))!.typingUntil!).toBeGreaterThan(Date.now());
    // nothing shows in a 1:1 conversation with Ben (there is none)
    expect(await ana.db.conversations.get(`${anaA}|${benA}`)).toBeUndefined();
    await ben.engine.setTyping(benConv, false);
    await waitFor(async () => (await ana.db.conversations.get(conversationId))?.typingUntil === undefined, "ana sees ben stop");
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 60_000);

  it("admins rename the group and demote admins, each a line for everyone; others may not", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA } = await four();
    const { conversationId, groupId } = await ana.api.createGroup({ from: anaA, name: "Old name", members: [benA, cyA] });
    const benConv = convOf(benA, groupId);
    const cyConv = convOf(cyA, groupId);
    await waitFor(async () => (await cy.db.conversations.get(cyConv))?.groupName === "Old name", "cy has the group");
    await expect(cy.api.changeGroup({ conversationId: cyConv, action: { type: "rename", name: "Mine now" } })).rejects.toThrow("Only admins of this group can do that.");
    await expect(ana.api.changeGroup({ conversationId, action: { type: "rename", name: "   " } })).rejects.toThrow("Give the group a name.");
    await ana.api.changeGroup({ conversationId, action: { type: "rename", name: "New name" } });
    await ana.api.changeGroup({ conversationId, action: { type: "promote", member: benA } });
    await ana.api.changeGroup({ conversationId, action: { type: "demote", member: benA } });
    await waitFor(async () => (await lines(ben, benConv)).includes("Ana removed you as admin"), "ben sees he is no longer admin");
    expect(await lines(ben, benConv)).toContain("Ana renamed the group to “New name”");
    expect((await ben.db.conversations.get(benConv))?.groupName).toBe("New name");
    expect((await ben.db.groups.get(groupRowId(benA, groupId)))?.members.find((m) => m.address === benA)?.admin).toBe(false);
    await expect(ben.api.changeGroup({ conversationId: benConv, action: { type: "remove", member: cyA } })).rejects.toThrow("Only admins of this group can do that.");

    // a disappearing timer for everyone, set by an admin: members' messages carry it from then on
    await expect(cy.api.changeGroup({ conversationId: cyConv, action: { type: "timer", expiresInMs: 86_400_000 } })).rejects.toThrow("Only admins of this group can do that.");
    await ana.api.changeGroup({ conversationId, action: { type: "timer", expiresInMs: 86_400_000 } });
    await waitFor(async () => (await ben.db.conversations.get(benConv))?.expiresInMs === 86_400_000, "ben has the timer");
    expect(await lines(ben, benConv)).toContain("Ana set disappearing messages to 1 day");
    const { messageId } = await ben.api.sendMessage({ conversationId: benConv, text: "gone tomorrow" });
    const atAna = await waitFor(() => ana.db.messages.get(messageId), "ana has it");
    expect(atAna.expiresAt! - atAna.receivedAt).toBe(86_400_000);
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 60_000);

  it("admins choose who adds members: a member adds once every member may, and not before or after", async () => {
    const { ana, ben, cy, dee, anaA, benA, cyA, deeA } = await four();
    const { conversationId, groupId } = await ana.api.createGroup({ from: anaA, name: "Open door", members: [benA, cyA] });
    const cyConv = convOf(cyA, groupId);
    await waitFor(async () => (await cy.db.conversations.get(cyConv))?.groupName === "Open door", "cy has the group");
    const stranger = `messenger:nobody.${Date.now()}`;
    await expect(cy.api.changeGroup({ conversationId: cyConv, action: { type: "add", members: [deeA] } })).rejects.toThrow("Only admins of this group can do that.");
    await expect(cy.api.changeGroup({ conversationId: cyConv, action: { type: "addPolicy", addPolicy: "members" } })).rejects.toThrow("Only admins of this group can do that.");

    await ana.api.changeGroup({ conversationId, action: { type: "addPolicy", addPolicy: "members" } });
    await waitFor(async () => (await cy.db.groups.get(groupRowId(cyA, groupId)))?.addPolicy === "members", "cy has the new rule");
    expect(await lines(cy, cyConv)).toContain("Ana allowed every member to add members");
    await cy.api.changeGroup({ conversationId: cyConv, action: { type: "add", members: [deeA] } });
    await waitFor(async () => (await dee.db.conversations.get(convOf(deeA, groupId)))?.groupName === "Open door", "dee was added by cy");
    await waitFor(async () => (await ana.db.groups.get(groupRowId(anaA, groupId)))?.members.some((m) => m.address === deeA), "ana accepts cy's add");

    await ana.api.changeGroup({ conversationId, action: { type: "addPolicy", addPolicy: "admins" } });
    await waitFor(async () => (await cy.db.groups.get(groupRowId(cyA, groupId)))?.addPolicy === "admins", "cy has the rule back");
    await expect(cy.api.changeGroup({ conversationId: cyConv, action: { type: "add", members: [stranger] } })).rejects.toThrow("Only admins of this group can do that.");
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  }, 60_000);

  it("refuses a group over 1,024 members before anything is sent", async () => {
    const { ana, anaA, ben, cy, dee } = await four();
    const many = Array.from({ length: 1_024 }, (_, i) => `messenger:member.${i}.x`);
    await expect(ana.api.createGroup({ from: anaA, name: "Too big", members: many })).rejects.toThrow("A group holds at most 1,024 members.");
    expect(await ana.db.groups.count()).toBe(0);
    expect(await ana.db.outbox.count()).toBe(0);
    for (const c of [ana, ben, cy, dee]) await c.engine.stop();
  });
});
