// Conversations as people expect them, between real engines through the real relay with the real crypto:
// replies, reactions, edits, deletes, read receipts, display names, and hostile peers whose changes must
// change nothing. What is asserted is what each side would see.
import "fake-indexeddb/auto";
import Dexie from "dexie";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import { EDIT_WINDOW_MS, DELETE_FOR_EVERYONE_WINDOW_MS, PENDING_CHANGES_MAX, PENDING_CHANGE_TTL_MS } from "../store/db";
import type { Address } from "./deps";
import { randomId } from "../store/ids";
import { editMessageLocal, deleteMessageLocal } from "./actions";
import { runMaintenance } from "./maintenance";
import { account, aliceAndBob, makeBoot, messagesOf, sendByHand, stopAll, waitFor, type Client } from "./testClients";

const boot = makeBoot(useRelayProcess());

const pair = () => aliceAndBob(boot);

/** `from` sends raw content through its real session with `to` (a hostile or newer client). */
async function inject(from: Client, fromAddr: string, to: Client, toAddr: string, content: unknown): Promise<void> {
  await from.engine.idle();
  const toDevice = (await to.db.device.get(toAddr as Address))!.deviceId;
  await sendByHand(from, fromAddr, toAddr, toDevice, content);
}

const row = (c: Client, id: string) => c.db.messages.get(id);

describe("conversations between two engines", () => {
  it("replies quote, reactions are added, changed and removed, edits and deletes show on both sides", async () => {
    const { alice, bob, aConv, bConv, aliceAddr, bobAddr } = await pair();
    const { messageId: first } = await alice.api.sendMessage({ conversationId: aConv, text: "lunch at noon?" });
    await waitFor(() => row(bob, first), "bob has it");
    const { messageId: reply } = await bob.api.sendMessage({ conversationId: bConv, text: "yes!", replyTo: first });
    const got = await waitFor(() => row(alice, reply), "alice has the reply");
    expect(got.replyTo).toEqual({ id: first, author: aliceAddr, text: "lunch at noon?" });
    expect(got.author).toBe(bobAddr);

    await bob.api.react({ conversationId: bConv, messageId: first, emoji: "👍" });
    await alice.api.react({ conversationId: aConv, messageId: first, emoji: "❤️" });
    const both = (c: Client) => async () => ((await row(c, first))?.reactions ?? []).map((r) => `${r.by}:${r.emoji}`).sort().join(",");
    const expected = [`${aliceAddr}:❤️`, `${bobAddr}:👍`].sort().join(",");
    await waitFor(async () => (await both(alice)()) === expected && (await both(bob)()) === expected, "both reactions on both sides");
    await bob.api.react({ conversationId: bConv, messageId: first, emoji: "😂" });
    await waitFor(async () => (await both(alice)()).includes(`${bobAddr}:😂`), "changed reaction");
    await bob.api.react({ conversationId: bConv, messageId: first, emoji: null });
    await alice.api.react({ conversationId: aConv, messageId: first, emoji: null });
    await waitFor(async () => (await both(alice)()) === "" && (await both(bob)()) === "", "removed on both sides");

    await alice.api.editMessage({ conversationId: aConv, messageId: first, text: "lunch at one?" });
    await waitFor(async () => (await row(bob, first))?.text === "lunch at one?", "edit arrives");
    expect((await row(bob, first))?.editedAt).toBeGreaterThan(0);
    // the reply keeps the words it quoted
    expect((await row(bob, reply))?.replyTo?.text).toBe("lunch at noon?");

    await alice.api.deleteMessage({ conversationId: aConv, messageId: first, forEveryone: true });
    await waitFor(async () => (await row(bob, first))?.deletedAt !== undefined, "delete arrives");
    for (const c of [alice, bob]) {
      expect(await row(c, first)).toMatchObject({ text: "" });
      expect((await row(c, reply))?.replyTo).toMatchObject({ text: "", deleted: true });
    }
    expect(bob.engine.counters.get("change_refused")).toBe(0);
    // delete for me: the row goes from this device only
    await bob.api.deleteMessage({ conversationId: bConv, messageId: reply, forEveryone: false });
    expect(await row(bob, reply)).toBeUndefined();
    expect(await row(alice, reply)).toBeDefined();
    expect((await bob.db.conversations.get(bConv))?.lastMessageId).toBe(first);
    await stopAll(alice, bob);
  });

  it("read receipts: sent for what was seen and shown as read; neither sent nor shown when either side turned them off", async () => {
    const { alice, bob, aConv, bConv } = await pair();
    const sent: string[] = [];
    for (const text of ["one", "two", "three"]) sent.push((await alice.api.sendMessage({ conversationId: aConv, text })).messageId);
    await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 3, "bob has all three");
    expect((await bob.db.conversations.get(bConv))?.unread).toBe(3);
    // only what was on screen counts; a second mark changes nothing
    await bob.api.markRead({ conversationId: bConv, messageIds: [sent[0], sent[1]] });
    await bob.api.markRead({ conversationId: bConv, messageIds: [sent[0], sent[1]] });
    expect((await bob.db.conversations.get(bConv))?.unread).toBe(1);
    expect((await row(bob, sent[0]))?.readAt).toBeGreaterThan(0);
    await waitFor(async () => (await row(alice, sent[1]))?.state === "read", "read on alice's side");
    expect((await row(alice, sent[0]))?.readAt).toBeGreaterThan(0);
    expect((await row(alice, sent[2]))?.state).toBe("delivered");

    // Bob turns receipts off: he sends none
    await bob.api.updateSettings({ readReceipts: false });
    await bob.api.markRead({ conversationId: bConv });
    expect((await bob.db.conversations.get(bConv))?.unread).toBe(0);
    await bob.engine.idle();
    expect(await bob.db.outbox.filter((r) => r.kind === "receipt").count()).toBe(0);
    await alice.engine.idle();
    expect((await row(alice, sent[2]))?.state).toBe("delivered");

    // Bob back on, Alice off: his receipt comes, but Alice does not see it
    await bob.api.updateSettings({ readReceipts: true });
    await alice.api.updateSettings({ readReceipts: false });
    const { messageId: four } = await alice.api.sendMessage({ conversationId: aConv, text: "four" });
    await waitFor(() => row(bob, four), "four arrives");
    await bob.api.markRead({ conversationId: bConv, messageIds: [four] });
    await waitFor(async () => alice.engine.counters.get("read_receipt_hidden") >= 1, "receipt came and was hidden");
    expect((await row(alice, four))?.state).toBe("delivered");
    await stopAll(alice, bob);
  });

  it("a hostile peer cannot edit or delete my messages, edit its own too late, or touch another conversation", async () => {
    const { alice, bob, aConv, bConv, aliceAddr, bobAddr, h } = await pair();
    const carol = boot();
    const carolAddr = await account(carol, "instagram", h.carol, "Carol");
    const cConv = (await alice.api.startChat({ from: aliceAddr as never, to: carolAddr })).conversationId;
    const { messageId: mine } = await alice.api.sendMessage({ conversationId: aConv, text: "my words" });
    const { messageId: toCarol } = await alice.api.sendMessage({ conversationId: cConv, text: "for carol" });
    await waitFor(() => row(bob, mine), "bob has it");
    await waitFor(() => row(carol, toCarol), "carol has hers");
    const { messageId: bobs } = await bob.api.sendMessage({ conversationId: bConv, text: "bob's words" });
    await waitFor(() => row(alice, bobs), "alice has bob's");
    const now = Date.now();
    const base = { v: 1, sentAt: now };
    // Bob rewrites and deletes Alice's message, reacts in her conversation with Carol, edits his own too late
    await inject(bob, bobAddr, alice, aliceAddr, { ...base, id: randomId(), type: "edit", target: mine, text: "I owe Bob money" });
    await inject(bob, bobAddr, alice, aliceAddr, { ...base, id: randomId(), type: "delete", target: mine });
    await inject(bob, bobAddr, alice, aliceAddr, { ...base, id: randomId(), type: "reaction", target: toCarol, emoji: "💩" });
    await inject(bob, bobAddr, alice, aliceAddr, { ...base, id: randomId(), type: "edit", target: bobs, text: "too late", sentAt: now + EDIT_WINDOW_MS + 10 * 60_000 });
    await inject(bob, bobAddr, alice, aliceAddr, { ...base, id: randomId(), type: "delete", target: bobs, sentAt: now + DELETE_FOR_EVERYONE_WINDOW_MS + 10 * 60_000 });
    await inject(bob, bobAddr, alice, aliceAddr, { ...base, id: randomId(), type: "edit", target: randomId(), text: "orphan" });
    await waitFor(async () => alice.engine.counters.get("change_refused") === 5 && alice.engine.counters.get("change_held") === 1, "all refused");
    expect(await row(alice, mine)).toMatchObject({ text: "my words" });
    expect((await row(alice, mine))?.deletedAt).toBeUndefined();
    expect((await row(alice, toCarol))?.reactions).toBeUndefined();
    expect(await row(alice, bobs)).toMatchObject({ text: "bob's words" });
    // every change was dealt with inside its batch's one transaction, none of them retried
    expect(alice.engine.counters.get("receive_transient")).toBe(0);
    // the session still works
    await bob.api.sendMessage({ conversationId: bConv, text: "still talking" });
    await waitFor(async () => (await messagesOf(alice.db, aConv)).some((m) => m.text === "still talking"), "next message");
    await stopAll(alice, bob, carol);
  });

  it("a change that comes before its message waits for it and is applied when it comes", async () => {
    const { alice, bob, aConv, aliceAddr, bobAddr } = await pair();
    await alice.api.sendMessage({ conversationId: aConv, text: "hi" });
    await waitFor(async () => (await messagesOf(bob.db, `${bobAddr}|${aliceAddr}`)).length === 1, "session up");
    await bob.engine.idle();
    const id = randomId();
    const now = Date.now();
    // as after a resend: the edit and a reaction of Bob's come first, the message itself later
    await inject(bob, bobAddr, alice, aliceAddr, { v: 1, id: randomId(), sentAt: now + 1000, type: "edit", target: id, text: "edited before it came" });
    await inject(bob, bobAddr, alice, aliceAddr, { v: 1, id: randomId(), sentAt: now + 1000, type: "reaction", target: id, emoji: "🙏" });
    await waitFor(async () => alice.engine.counters.get("change_held") === 2, "held");
    expect(await alice.db.pendingChanges.count()).toBe(2);
    await inject(bob, bobAddr, alice, aliceAddr, { v: 1, id, sentAt: now, type: "text", text: "original" });
    const m = await waitFor(async () => (await row(alice, id))?.editedAt && row(alice, id), "applied on arrival");
    expect(m).toMatchObject({ text: "edited before it came", reactions: [{ by: bobAddr, emoji: "🙏" }] });
    expect(await alice.db.pendingChanges.count()).toBe(0);
    expect(alice.engine.counters.get("receive_transient")).toBe(0);

    // a peer cannot fill the disk with orphans: past the cap one is dropped and counted
    const filler = Array.from({ length: PENDING_CHANGES_MAX }, (_, i) => ({
      id: `filler${String(i).padStart(6, "0")}`, target: `nothere${i}`, conversationId: aConv, ourAddress: aliceAddr as Address,
      theirAddress: bobAddr as Address, direction: "in" as const, change: "{}", receivedAt: now - PENDING_CHANGE_TTL_MS - 1,
    }));
    await alice.db.pendingChanges.bulkAdd(filler);
    await inject(bob, bobAddr, alice, aliceAddr, { v: 1, id: randomId(), sentAt: now, type: "edit", target: randomId(), text: "one too many" });
    await waitFor(async () => alice.engine.counters.get("change_orphaned") === 1, "dropped past the cap");
    expect(await alice.db.pendingChanges.count()).toBe(PENDING_CHANGES_MAX);
    // and what waited a week goes with housekeeping
    await runMaintenance({ db: alice.db, log: { warn() {}, info() {} }, counters: alice.engine.counters, now: () => Date.now() } as never);
    expect(await alice.db.pendingChanges.count()).toBe(0);
    await stopAll(alice, bob);
  });

  it("a change an older build kept as unsupported is applied once the build understands it", async () => {
    const { alice, bob, aConv, bConv, bobAddr } = await pair();
    const { messageId } = await alice.api.sendMessage({ conversationId: aConv, text: "react to me" });
    await waitFor(() => row(bob, messageId), "arrives");
    await bob.engine.idle();
    const reaction = { v: 1, type: "reaction", id: "newerreaction1", sentAt: Date.now(), target: messageId, emoji: "🎉" };
    await bob.db.messages.put({
      id: "newerreaction1", conversationId: bConv, direction: "out", kind: "unsupported", content: JSON.stringify(reaction),
      text: "", sentAt: Date.now(), receivedAt: Date.now(), state: "sent", sentToRelayAt: null, deliveredAt: null,
    });
    await runMaintenance({ db: bob.db, log: { warn() {}, info() {} }, counters: bob.engine.counters, now: () => Date.now() } as never);
    expect(await row(bob, "newerreaction1")).toBeUndefined();
    expect((await row(bob, messageId))?.reactions).toEqual([{ by: bobAddr, emoji: "🎉", at: reaction.sentAt }]);
    await stopAll(alice, bob);
  });

  it("my own edit and delete-for-everyone are refused past their windows (clock injected)", async () => {
    const { alice, bob, aConv } = await pair();
    const { messageId } = await alice.api.sendMessage({ conversationId: aConv, text: "hello" });
    const sentAt = (await row(alice, messageId))!.sentAt;
    const code = async (work: Promise<unknown>) => work.then(() => "ok", (e: { code?: string }) => e.code);
    expect(await code(editMessageLocal(alice.db, { conversationId: aConv, messageId, text: "late" }, sentAt + EDIT_WINDOW_MS + 1))).toBe("bad_request");
    expect(await code(editMessageLocal(alice.db, { conversationId: aConv, messageId, text: "in time" }, sentAt + EDIT_WINDOW_MS))).toBe("ok");
    expect(await code(deleteMessageLocal(alice.db, { conversationId: aConv, messageId, forEveryone: true }, sentAt + DELETE_FOR_EVERYONE_WINDOW_MS + 1))).toBe("bad_request");
    expect((await row(alice, messageId))?.deletedAt).toBeUndefined();
    await stopAll(alice, bob);
  });

  it("the peer learns my new display name inside my next message; pin, archive, mute, drafts and settings are kept", async () => {
    const { alice, bob, aConv, bConv, aliceAddr } = await pair();
    await alice.api.sendMessage({ conversationId: aConv, text: "hi" });
    await waitFor(async () => (await bob.db.contacts.get(aliceAddr as Address))?.displayName === "Alice", "first name");
    await alice.api.setDisplayName({ address: aliceAddr as Address, displayName: "Alice Smith" });
    await alice.api.sendMessage({ conversationId: aConv, text: "new name" });
    await waitFor(async () => (await bob.db.contacts.get(aliceAddr as Address))?.displayName === "Alice Smith", "new name");

    await bob.api.updateConversation({ conversationId: bConv, pinned: true, archived: true });
    expect(await bob.db.conversations.get(bConv)).toMatchObject({ archived: 1, pinnedAt: expect.any(Number) });
    // a message from them brings an archived conversation back, unless it is muted
    await alice.api.sendMessage({ conversationId: aConv, text: "are you there?" });
    await waitFor(async () => (await bob.db.conversations.get(bConv))?.archived === 0, "unarchived");
    await bob.api.updateConversation({ conversationId: bConv, archived: true, muted: true, pinned: false });
    await alice.api.sendMessage({ conversationId: aConv, text: "hello?" });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).some((m) => m.text === "hello?"), "arrives");
    expect(await bob.db.conversations.get(bConv)).toMatchObject({ archived: 1, muted: true });
    expect((await bob.db.conversations.get(bConv))?.pinnedAt).toBeUndefined();

    await bob.api.saveDraft({ conversationId: bConv, text: "half a thought" });
    expect((await bob.db.drafts.get(bConv))?.text).toBe("half a thought");
    await bob.api.saveDraft({ conversationId: bConv, text: "" });
    expect(await bob.db.drafts.get(bConv)).toBeUndefined();
    await bob.api.saveDraft({ conversationId: bConv, text: "sent soon" });
    await bob.api.sendMessage({ conversationId: bConv, text: "sent soon" });
    expect(await bob.db.drafts.get(bConv)).toBeUndefined();

    await bob.api.updateSettings({ theme: "dark" });
    expect((await bob.db.meta.get("settings"))?.value).toEqual({ readReceipts: true, theme: "dark", onePerPerson: false });
    await expect(bob.api.updateSettings({ readReceipts: "yes" } as never)).rejects.toMatchObject({ code: "bad_request" });
    await stopAll(alice, bob);
  });

  it("a disappearing-timer change that is the first thing from someone names them", async () => {
    const { alice, bob, aConv, aliceAddr } = await pair();
    await alice.api.setDisappearing({ conversationId: aConv, expiresInMs: 24 * 60 * 60_000 });
    await waitFor(async () => (await bob.db.contacts.get(aliceAddr as Address))?.displayName === "Alice", "name from the timer line");
    await stopAll(alice, bob);
  });

  it("logging out stops the engine and deletes this device's database", async () => {
    const { alice, bob, aConv } = await pair();
    await alice.api.sendMessage({ conversationId: aConv, text: "bye" });
    const name = alice.db.name;
    expect(await Dexie.exists(name)).toBe(true);
    await alice.api.logOut({});
    expect(await Dexie.exists(name)).toBe(false);
    expect(alice.online).toBe(false);
    await expect(alice.db.messages.count()).rejects.toThrow();
    await stopAll(bob);
  });
});
