// Two relay processes on one Postgres database and one Redis, each person's engine on a different
// node: mail sent through node A reaches a device connected to node B at once (Redis carries the
// signal), and mail sent while node B is dead waits in the database until the device is back.
import "fake-indexeddb/auto";
import { expect, it } from "vitest";
import { startRelay, type RelayProcess } from "../relay/test/relayProcess";
import type { Address } from "./deps";
import { account, aliceAndBob, handles, makeBoot, messagesOf, waitFor } from "./testClients";
import { relayNodes } from "../relay/test/nodes";

const set = await relayNodes("nodes");
const { maybe, env } = set;
if (set.unavailable) console.warn(`cross-node tests skipped: no Postgres: ${set.unavailable}`);

maybe("relay nodes on Postgres and Redis", () => {
  it("delivers across nodes at once, and a device whose node dies catches up when it is back, losing nothing", async () => {
    const [a, b] = set.nodes as [RelayProcess, RelayProcess];
    const { alice, bob, aConv: conversationId, bConv } = await aliceAndBob(makeBoot(() => a.url), makeBoot(() => b.url));
    const started = Date.now();
    await alice.api.sendMessage({ conversationId, text: "through node A" });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 1, "the message on node B");
    // pushed, not polled: well under any reconnect or sweep interval
    expect(Date.now() - started).toBeLessThan(5000);
    await bob.api.sendMessage({ conversationId: bConv, text: "back through node B" });
    await waitFor(async () => (await messagesOf(alice.db, conversationId)).some((m) => m.direction === "in"), "the reply on node A");

    // node B dies without a word; Alice writes on through node A; node B comes back on its port and
    // Bob's app, reconnecting by itself, catches up from the database
    await b.kill();
    for (let i = 0; i < 5; i++) await alice.api.sendMessage({ conversationId, text: `while B is down ${i}` });
    await waitFor(async () => (await alice.db.outbox.count()) === 0, "Alice's sends stored by node A");
    set.nodes[1] = await startRelay({ env: { ...env, PORT: String(b.port) } });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).filter((m) => m.direction === "in").length === 6, "every message after the failover", 40_000);
    const texts = (await messagesOf(bob.db, bConv)).filter((m) => m.direction === "in").map((m) => m.text);
    expect(new Set(texts).size).toBe(6);
    await alice.engine.stop();
    await bob.engine.stop();
  }, 90_000);

  it("a device removed through one node is told on the node it is connected to, and wipes itself", async () => {
    const [a, b] = set.nodes as [RelayProcess, RelayProcess];
    const alice = makeBoot(() => a.url)();
    const laptop = makeBoot(() => b.url)();
    const aliceAddr = (await account(alice, "messenger", handles().alice, "Alice")) as Address;
    await waitFor(async () => laptop.sockets.some((s) => s.connected), "the laptop connected to node B");
    const { code } = await laptop.api.startLink({ name: "Laptop" });
    const asked = await alice.api.linkDevice({ code });
    expect(await alice.api.confirmLink({ linkId: asked.linkId, confirm: true })).toEqual({ linked: true });
    await waitFor(async () => laptop.online && (await laptop.db.accounts.get(aliceAddr)) !== undefined, "the laptop linked and logged in on node B");
    const laptopDevice = (await laptop.db.device.get(aliceAddr))?.deviceId;
    if (!laptopDevice) throw new Error("the laptop has no device");

    // the removal is published through node A; the laptop's only connection is on node B
    await alice.api.removeDevice({ deviceId: laptopDevice });
    await waitFor(async () => (await laptop.db.accounts.count()) === 0, "the laptop wiped after the push from the other node");
    expect(await laptop.db.identityKeys.count()).toBe(0);
    await alice.engine.stop();
    await laptop.engine.stop();
  }, 90_000);
});
