// Sync between my own devices, with real engines through the real relay process: Alice's primary and a
// laptop linked to it, and Bob. What Alice does on one device (reads, pins, archives, mutes, deletes for
// herself, names and joins contacts, turns read receipts off, renames a device) shows on the other; a sync
// Bob forges is refused; a late, older sync does not undo a newer change; a delete for me that comes before
// its message keeps the message from ever showing; a fifth linked device is refused.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import { signDeviceList, generateIdentityKeyPair } from "../crypto";
import { toB64, type Address } from "./deps";
import { aliceAndBob, makeBoot, messagesOf, sendByHand, waitFor, type Client } from "./testClients";
import { getSettings } from "../store/settings";
import { randomId } from "../store/ids";
import { checkDeviceList } from "./deviceLists";

const boot = makeBoot(useRelayProcess());

/** Links a new device to Alice's accounts by its code; resolves once it is logged in. */
async function linkLaptop(alice: Client, aliceAddr: string, db?: Client["db"]): Promise<Client> {
  const laptop = boot(db);
  await waitFor(async () => laptop.sockets.some((s) => s.connected), "laptop connected");
  const { code } = await laptop.api.startLink({ name: "Laptop" });
  const asked = await alice.api.linkDevice({ code });
  expect(await alice.api.confirmLink({ linkId: asked.linkId, confirm: true })).toEqual({ linked: true });
  await waitFor(async () => (await laptop.db.accounts.get(aliceAddr as Address)) !== undefined, "the laptop has Alice's account");
  await waitFor(async () => laptop.online, "laptop logged in");
  return laptop;
}

/** Alice (primary + laptop) and Bob, with two messages from Bob on both of Alice's devices. */
async function setUp() {
  const pair = await aliceAndBob(boot);
  const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = pair;
  const laptop = await linkLaptop(alice, aliceAddr);
  await bob.api.startChat({ from: bobAddr as never, to: aliceAddr });
  await bob.api.sendMessage({ conversationId: bConv, text: "one" });
  await bob.api.sendMessage({ conversationId: bConv, text: "two" });
  for (const c of [alice, laptop]) await waitFor(async () => (await c.db.conversations.get(aConv))?.unread === 2, "two unread on each of Alice's devices");
  return { ...pair, laptop };
}

const conv = (c: Client, id: string) => c.db.conversations.get(id);

describe("sync between my devices", () => {
  it("reading, pin, archive, mute, delete for me, settings, contacts, person links and device names reach my other device", async () => {
    const { alice, bob, laptop, aliceAddr, bobAddr, aConv, h } = await setUp();
    // read receipts off on the laptop: off on the primary too, and what follows is the sync's doing alone
    await laptop.api.updateSettings({ readReceipts: false });
    await waitFor(async () => !(await getSettings(alice.db)).readReceipts, "read receipts off on the primary");
    // the theme stays on its device
    await laptop.api.updateSettings({ theme: "dark" });

    await laptop.api.markRead({ conversationId: aConv });
    await waitFor(async () => (await conv(alice, aConv))?.unread === 0, "unread 0 on the primary");
    expect((await messagesOf(alice.db, aConv)).every((m) => m.state === "read")).toBe(true);

    await alice.api.updateConversation({ conversationId: aConv, pinned: true, muted: true });
    await waitFor(async () => (await conv(laptop, aConv))?.pinnedAt !== undefined && (await conv(laptop, aConv))?.muted === true, "pinned and muted on the laptop");
    await laptop.api.updateConversation({ conversationId: aConv, archived: true, pinned: false });
    await waitFor(async () => (await conv(alice, aConv))?.archived === 1 && (await conv(alice, aConv))?.pinnedAt === undefined, "archived and unpinned on the primary");

    const one = (await messagesOf(laptop.db, aConv)).find((m) => m.text === "one");
    await laptop.api.deleteMessage({ conversationId: aConv, messageId: one?.id ?? "", forEveryone: false });
    await waitFor(async () => (await alice.db.messages.get(one?.id ?? "")) === undefined, "deleted for me on the primary");
    // for me only: Bob still has it
    expect((await messagesOf(bob.db, `${bobAddr}|${aliceAddr}`)).some((m) => m.text === "one")).toBe(true);

    const carol = `instagram:@carol${h.alice.slice(-6)}`;
    await alice.api.setNickname({ address: bobAddr, nickname: "Bobby" });
    await alice.api.addContact({ address: carol, nickname: "Caro" });
    await alice.api.linkAddresses({ address: bobAddr, to: carol });
    await waitFor(async () => {
      const [b, c] = await laptop.db.addressBook.bulkGet([bobAddr as Address, carol as Address]);
      return b?.nickname === "Bobby" && c?.nickname === "Caro" && c.addedAt !== undefined && b.personId !== undefined && b.personId === c.personId;
    }, "nicknames, the added contact and the join on the laptop");
    await laptop.api.unlinkAddress({ address: carol });
    await waitFor(async () => (await alice.db.addressBook.get(bobAddr as Address))?.personId === undefined, "split on the primary");
    expect(await alice.db.people.count()).toBe(0);

    const laptopDevice = (await laptop.db.device.get(aliceAddr as Address))?.deviceId ?? "";
    await laptop.api.renameDevice({ deviceId: laptopDevice, name: "Work laptop" });
    await waitFor(async () => (await alice.db.deviceLists.get(aliceAddr as Address))?.names?.[laptopDevice] === "Work laptop", "the new name on the primary");
    // last active: the primary heard from the laptop today, and the laptop from the primary
    const primaryDevice = (await alice.db.device.get(aliceAddr as Address))?.deviceId ?? "";
    expect((await alice.db.deviceLists.get(aliceAddr as Address))?.seen?.[laptopDevice]).toBeGreaterThan(Date.now() - 60_000);
    expect((await laptop.db.deviceLists.get(aliceAddr as Address))?.seen?.[primaryDevice]).toBeGreaterThan(Date.now() - 60_000);
    expect((await alice.db.deviceLists.get(aliceAddr as Address))?.thisDevice).toBe(primaryDevice);

    expect((await getSettings(alice.db)).theme).toBe("system");
    expect(alice.engine.counters.get("sync_refused")).toBe(0);
    for (const c of [alice, bob, laptop]) await c.engine.stop();
  });

  it("a device that was away catches up with what I read elsewhere; only newer messages stay unread", async () => {
    const { alice, bob, laptop, aConv, bConv } = await setUp();
    await alice.engine.stop();
    await laptop.api.markRead({ conversationId: aConv });
    await bob.api.sendMessage({ conversationId: bConv, text: "three" });
    await waitFor(async () => (await messagesOf(laptop.db, aConv)).some((m) => m.text === "three"), "the laptop gets it");
    // the laptop read the first two; the third is unread there and on the primary, which was away
    const primary = boot(alice.db);
    await waitFor(async () => (await messagesOf(primary.db, aConv)).some((m) => m.text === "three"), "the primary gets it");
    await waitFor(async () => (await conv(primary, aConv))?.unread === 1, "only the new one unread on the primary");
    for (const c of [primary, bob, laptop]) await c.engine.stop();
  });

  it("refuses a sync from a peer, even one that names my conversation", async () => {
    const { alice, bob, laptop, aliceAddr, bobAddr, aConv } = await setUp();
    const primaryDevice = (await alice.db.device.get(aliceAddr as Address))?.deviceId ?? "";
    // Bob's own engine would never send one: this is a modified client, with his real session
    const forged = {
      v: 1,
      type: "sync",
      id: randomId(),
      sentAt: Date.now(),
      items: [
        { t: "read", c: bobAddr, upTo: Date.now() + 60_000 },
        { t: "conv", c: bobAddr, field: "archived", on: true, at: Date.now() + 60_000 },
        { t: "setting", name: "readReceipts", on: false, at: Date.now() + 60_000 },
      ],
    };
    await sendByHand(bob, bobAddr, aliceAddr, primaryDevice, forged, { subset: true });
    await waitFor(async () => alice.engine.counters.get("sync_refused") === 1, "the forged sync refused");
    const c = await conv(alice, aConv);
    expect(c?.unread).toBe(2);
    expect(c?.archived ?? 0).toBe(0);
    expect((await getSettings(alice.db)).readReceipts).toBe(true);
    for (const x of [alice, bob, laptop]) await x.engine.stop();
  });

  it("a delete for me that reaches a device before its message: the message never shows there", async () => {
    const { alice, bob, laptop, aliceAddr, bobAddr, aConv, bConv } = await setUp();
    await alice.engine.stop();
    await bob.api.sendMessage({ conversationId: bConv, text: "three" });
    await waitFor(async () => (await messagesOf(laptop.db, aConv)).some((m) => m.text === "three"), "the laptop gets it");
    await bob.engine.stop();
    const three = (await messagesOf(laptop.db, aConv)).find((m) => m.text === "three");
    await laptop.api.deleteMessage({ conversationId: aConv, messageId: three?.id ?? "", forEveryone: false });
    // the primary lost its session with Bob: his message waits there for a resend, and he is away
    await alice.db.sessions.where("[ourAddress+theirAddress]").equals([aliceAddr, bobAddr]).delete();
    await alice.db.archivedSessions.clear();
    const primary = boot(alice.db);
    let shown = false;
    const watch = setInterval(async () => {
      if ((await messagesOf(primary.db, aConv)).some((m) => m.text === "three")) shown = true;
    }, 5);
    await waitFor(async () => primary.engine.counters.get("sync_held") === 1, "the delete held on the primary");
    expect(await primary.db.waiting.count()).toBe(1);
    const bobBack = boot(bob.db);
    await waitFor(async () => primary.engine.counters.get("recovered") === 1, "Bob's resend stored in place of the placeholder");
    clearInterval(watch);
    expect(shown).toBe(false);
    expect(primary.engine.counters.get("sync_released")).toBe(1);
    expect(await primary.db.waiting.count()).toBe(0);
    expect((await messagesOf(primary.db, aConv)).map((m) => m.text)).toEqual(["one", "two"]);
    expect(await conv(primary, aConv)).toMatchObject({ unread: 2, lastPreview: "two" });
    for (const c of [primary, bobBack, laptop]) await c.engine.stop();
  });

  it("a late, older sync does not undo a newer change", async () => {
    const { alice, bob, laptop, aConv } = await setUp();
    // the laptop mutes while away; then the primary mutes and unmutes (both newer)
    await laptop.engine.stop();
    await laptop.api.updateConversation({ conversationId: aConv, muted: true });
    await new Promise((r) => setTimeout(r, 5));
    await alice.api.updateConversation({ conversationId: aConv, muted: true });
    await alice.api.updateConversation({ conversationId: aConv, muted: false });
    const back = boot(laptop.db);
    // the laptop's old mute reaches the primary, and the primary's newer changes reach the laptop
    await waitFor(async () => alice.engine.counters.get("sync_stale") >= 1, "the laptop's mute reached the primary, as stale");
    await waitFor(async () => (await conv(back, aConv))?.muted === false, "unmuted on the laptop");
    expect((await conv(alice, aConv))?.muted).toBe(false);
    for (const c of [alice, bob, back]) await c.engine.stop();
  });

  it("refuses a fifth linked device with a clear message, before asking its name", async () => {
    const { alice, bob, aliceAddr } = await aliceAndBob(boot);
    const keys = await alice.db.identityKeys.get(aliceAddr as Address);
    const held = await alice.db.deviceLists.get(aliceAddr as Address);
    if (!keys || !held) throw new Error("Alice has no keys");
    // four linked already (as her own list says: signed by her account key)
    const linked = [1, 2, 3, 4].map((i) => ({ deviceId: `linked-device-0${i}`, identityKey: generateIdentityKeyPair().publicKey, linkedAt: i }));
    const list = signDeviceList(keys, { address: aliceAddr, version: held.version + 1, timestamp: Date.now(), devices: [...held.devices, ...linked] });
    await checkDeviceList(alice.db, aliceAddr as Address, keys.publicKey, toB64(list), Date.now());
    const fifth = boot();
    await waitFor(async () => fifth.sockets.some((s) => s.connected), "connected");
    const { code } = await fifth.api.startLink({ name: "Fifth" });
    await expect(alice.api.linkDevice({ code })).rejects.toMatchObject({ code: "bad_request", message: expect.stringMatching(/4 linked devices already/) });
    expect(await fifth.db.accounts.count()).toBe(0);
    for (const c of [alice, bob, fifth]) await c.engine.stop();
  });
});
