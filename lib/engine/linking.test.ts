// Linking a second device to an account, with real engines through the real relay process: the link code,
// the three sealed provisioning messages, the companion's registration under the account's new list; then
// Bob's message reaches both of Alice's devices (his first send after the link is refused as
// stale_devices and fixed), and what Alice writes on one device shows as hers on the other; removed, the
// second device wipes itself and gets nothing more.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import { generateIdentityKeyPair, signDeviceList } from "../crypto";
import { EVENTS, fromB64, toB64, type Address } from "./deps";
import { request } from "./relay";
import { aliceAndBob, makeBoot, messagesOf, waitFor } from "./testClients";

const boot = makeBoot(useRelayProcess());

describe("linking a device", () => {
  it("links by code; both devices get Bob's messages and each shows what the other sent", async () => {
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await aliceAndBob(boot);
    await bob.api.startChat({ from: bobAddr as never, to: aliceAddr });
    await bob.api.sendMessage({ conversationId: bConv, text: "before the link" });
    await waitFor(async () => (await messagesOf(alice.db, aConv)).length === 1, "Alice's primary gets it");

    const laptop = boot();
    await waitFor(async () => laptop.online || laptop.sockets.some((s) => s.connected), "laptop connected");
    // a code that is not one is refused, and links nothing
    await expect(alice.api.linkDevice({ code: "not-a-code" })).rejects.toMatchObject({ code: "bad_request" });
    // Alice sees the new device's name and cancels: nothing is issued to it
    const first = await laptop.api.startLink({ name: "Laptop" });
    const cancelled = await alice.api.linkDevice({ code: first.code });
    expect(cancelled.name).toBe("Laptop");
    expect(await alice.api.confirmLink({ linkId: cancelled.linkId, confirm: false })).toEqual({ linked: false });
    expect(await laptop.db.accounts.count()).toBe(0);
    expect((await alice.db.deviceLists.get(aliceAddr as Address))?.devices).toHaveLength(1);
    // the laptop is told at once (not at its timeout), and says why
    await waitFor(async () => ((await laptop.db.meta.get("link"))?.value as { state?: string } | undefined)?.state === "failed", "the laptop hears of it", 3_000);
    expect((await laptop.db.meta.get("link"))?.value).toEqual({ state: "failed", reason: "cancelled" });
    // a new code, and this time she confirms
    const { code } = await laptop.api.startLink({ name: "Laptop" });
    const asked = await alice.api.linkDevice({ code });
    expect(await alice.api.confirmLink({ linkId: asked.linkId, confirm: true })).toEqual({ linked: true });
    await waitFor(async () => (await laptop.db.accounts.get(aliceAddr as Address)) !== undefined, "the laptop has Alice's account");
    const account = await laptop.db.accounts.get(aliceAddr as Address);
    await waitFor(async () => (await laptop.db.meta.get("link")) === undefined, "the link state goes once linked");
    const primaryAccount = await alice.db.accounts.get(aliceAddr as Address);
    // one account key (so one safety number); the laptop's device key is its own
    expect(account?.identityKey).toEqual(primaryAccount?.identityKey);
    expect((await laptop.db.identityKeys.get(aliceAddr as Address))?.publicKey).not.toEqual(primaryAccount?.identityKey);
    const mine = await alice.db.deviceLists.get(aliceAddr as Address);
    expect(mine?.devices).toHaveLength(2);
    expect(mine?.names?.[(await laptop.db.device.get(aliceAddr as Address))?.deviceId ?? ""]).toBe("Laptop");
    await waitFor(async () => laptop.online, "laptop logged in");

    // Bob's client still knows one device of Alice's: the relay refuses, he fetches her list and sends again
    await bob.api.sendMessage({ conversationId: bConv, text: "after the link" });
    await waitFor(async () => (await messagesOf(laptop.db, aConv)).some((m) => m.text === "after the link"), "the laptop gets it");
    await waitFor(async () => (await messagesOf(alice.db, aConv)).some((m) => m.text === "after the link"), "the primary gets it");
    expect(bob.engine.counters.get("stale_devices")).toBeGreaterThanOrEqual(1);

    // Alice answers from the laptop: Bob gets it, and her primary shows it as hers
    await laptop.api.sendMessage({ conversationId: aConv, text: "from my laptop" });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).some((m) => m.text === "from my laptop"), "Bob gets the reply");
    const onPrimary = await waitFor(async () => (await messagesOf(alice.db, aConv)).find((m) => m.text === "from my laptop"), "the primary shows it");
    expect(onPrimary.direction).toBe("out");
    // and what she writes on the primary shows on the laptop
    await alice.api.sendMessage({ conversationId: aConv, text: "from my phone" });
    const onLaptop = await waitFor(async () => (await messagesOf(laptop.db, aConv)).find((m) => m.text === "from my phone"), "the laptop shows it");
    expect(onLaptop.direction).toBe("out");

    // a relay cannot make the laptop wipe itself: a removal whose list another key signed, or that still
    // names the laptop, is ignored
    const laptopDevice = (await laptop.db.device.get(aliceAddr as Address))?.deviceId;
    if (!laptopDevice) throw new Error("the laptop has no device");
    const held = await laptop.db.deviceLists.get(aliceAddr as Address);
    const relayKey = generateIdentityKeyPair();
    const forged = signDeviceList(relayKey, { address: aliceAddr, version: 99, timestamp: 1, devices: [{ deviceId: "relay-device-01", identityKey: relayKey.publicKey, linkedAt: 1 }] });
    const push = (payload: unknown) => {
      for (const socket of laptop.sockets) for (const listener of socket.listeners(EVENTS.devicesRemoved)) (listener as (p: unknown) => void)(payload);
    };
    push({ address: aliceAddr, list: toB64(forged) });
    push({ address: aliceAddr, list: held?.signed });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await laptop.db.accounts.count()).toBe(1);

    // Alice removes the laptop: it wipes itself back to first run, and Bob's next message reaches only the primary
    await alice.api.removeDevice({ deviceId: laptopDevice });
    expect((await alice.db.deviceLists.get(aliceAddr as Address))?.devices).toHaveLength(1);
    await waitFor(async () => (await laptop.db.accounts.count()) === 0, "the laptop is wiped");
    expect(await laptop.db.messages.count()).toBe(0);
    expect(await laptop.db.identityKeys.count()).toBe(0);
    const staleBefore = bob.engine.counters.get("stale_devices");
    await bob.api.sendMessage({ conversationId: bConv, text: "after the removal" });
    await waitFor(async () => (await messagesOf(alice.db, aConv)).some((m) => m.text === "after the removal"), "the primary gets it");
    const out = (await messagesOf(bob.db, bConv)).find((m) => m.text === "after the removal");
    await waitFor(async () => (await bob.db.messages.get(out?.id ?? ""))?.state !== "queued", "sent");
    expect(bob.engine.counters.get("stale_devices")).toBe(staleBefore + 1);
    expect(await laptop.db.messages.count()).toBe(0);
    for (const c of [alice, bob, laptop]) await c.engine.stop();
  });

  it("a code mistyped on the primary is reported to the new device at once; a stray message on the channel cancels nothing", async () => {
    const { alice, bob, aliceAddr } = await aliceAndBob(boot);
    const laptop = boot();
    await waitFor(async () => laptop.online || laptop.sockets.some((s) => s.connected), "laptop connected");
    const { code } = await laptop.api.startLink({ name: "Laptop" });
    const linkState = async () => (await laptop.db.meta.get("link"))?.value as { state?: string; mistyped?: boolean } | undefined;

    // a character dropped near the end: not a code at all on the primary; the laptop hears of it at once
    await expect(alice.api.linkDevice({ code: code.slice(0, 40) + code.slice(41) })).rejects.toMatchObject({ code: "bad_request" });
    await waitFor(async () => (await linkState())?.mistyped, "the laptop is told the code was mistyped", 3_000);
    expect(await linkState()).toEqual({ state: "waiting", mistyped: true });

    // a character changed in the key part: a whole code, but not this one; both devices say so, promptly
    const last = code.at(-2) === "A" ? "B" : "A";
    const wrongKey = code.slice(0, -2) + last + code.at(-1);
    await laptop.db.meta.put({ key: "link", value: { state: "waiting" } });
    const started = Date.now();
    await expect(alice.api.linkDevice({ code: wrongKey })).rejects.toMatchObject({ code: "bad_request", message: expect.stringMatching(/does not match/) });
    expect(Date.now() - started).toBeLessThan(10_000);
    await waitFor(async () => (await linkState())?.mistyped, "the laptop is told again", 3_000);

    // anyone who knows the channel id (the relay) sending anything there cancels nothing: the code still works
    const channel = toB64(fromB64(code).subarray(1, 17));
    await request(bob.engine.context.socket(), EVENTS.provisionSend, { channel, body: toB64(new Uint8Array(120).fill(7)) });
    await new Promise((r) => setTimeout(r, 300));
    expect((await linkState())?.state).toBe("waiting");
    const asked = await alice.api.linkDevice({ code });
    expect(await alice.api.confirmLink({ linkId: asked.linkId, confirm: true, history: false })).toEqual({ linked: true });
    await waitFor(async () => (await laptop.db.accounts.get(aliceAddr as Address)) !== undefined, "linked with the right code after all");
    for (const c of [alice, bob, laptop]) await c.engine.stop();
  });
});
