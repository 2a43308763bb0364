// Device lists in use, against the real relay process with real engines: a relay (here, a man in the middle
// of one client's socket) that injects a device, forges or rolls back a list, or withholds the sender's
// list is caught by the client's own checks; a send the relay refuses as stale_devices is fixed and sent
// again, and given up on ("Not sent") after three rounds.
import "fake-indexeddb/auto";
import { describe, expect, it, vi } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import { generateIdentityKeyPair, signDeviceList, type DeviceList } from "../crypto";
import type * as CryptoModule from "../crypto";
import { EVENTS, toB64, type Address } from "./deps";
import { request, type RelaySocket } from "./relay";
import { aliceAndBob, makeBoot, messagesOf, waitFor, type Client } from "./testClients";

const boot = makeBoot(useRelayProcess());

/** What the engines' decryptions and Alice's lookups did, in order (filled by the wrapper below and by tests). */
const order: string[] = [];
vi.mock("../crypto", async (importOriginal) => {
  const crypto = await importOriginal<typeof CryptoModule>();
  return {
    ...crypto,
    decryptRecord: async (...args: Parameters<typeof crypto.decryptRecord>) => {
      const result = await crypto.decryptRecord(...args);
      order.push(`decrypted ${args[0].theirAddress} -> ${args[0].ourAddress}`);
      return result;
    },
  };
});

type Reply = { ok: boolean } & Record<string, unknown>;

/** A socket patch: `before` may change a request, `after` the relay's reply to it; every mailbox:send is recorded. */
function mitm(opts: { before?: (event: string, payload: Record<string, unknown>) => void; after?: (event: string, reply: Reply) => Reply } = {}) {
  const sends: { to: string; toDevice: string }[][] = [];
  const patch = (socket: RelaySocket) => {
    const timeout = socket.timeout.bind(socket);
    (socket as unknown as { timeout: (ms: number) => unknown }).timeout = (ms: number) => {
      const t = timeout(ms) as unknown as { emitWithAck: (event: string, payload: unknown) => Promise<Reply> };
      return {
        emitWithAck: async (event: string, payload: Record<string, unknown>) => {
          opts.before?.(event, payload);
          if (event === EVENTS.send) sends.push((payload.envelopes as { to: string; toDevice: string }[]).map((e) => ({ to: e.to, toDevice: e.toDevice })));
          const reply = await t.emitWithAck(event, payload);
          return opts.after ? opts.after(event, reply) : reply;
        },
      };
    };
  };
  return { patch, sends };
}

/** Alice (her socket patched) and Bob; Alice's chat to Bob started. */
async function setUp(alicePatch: (socket: RelaySocket) => void) {
  let first = true;
  const patchedBoot = ((db, patch) => {
    if (!first) return boot(db, patch);
    first = false;
    return boot(db, alicePatch);
  }) as typeof boot;
  return aliceAndBob(patchedBoot);
}

async function lastOut(c: Client, conv: string) {
  const out = (await messagesOf(c.db, conv)).filter((m) => m.direction === "out");
  return out[out.length - 1];
}

async function stop(...clients: Client[]) {
  for (const c of clients) await c.engine.stop();
}

describe("device lists in use", () => {
  it("publishes a new account's list with its registration: version 1, the primary alone, signed by the account key", async () => {
    const { alice, bob, aliceAddr } = await aliceAndBob(boot);
    const mine = await alice.db.deviceLists.get(aliceAddr as Address);
    expect(mine).toMatchObject({ version: 1, published: true });
    expect(mine?.devices).toHaveLength(1);
    // Bob's relay serves it, and it opens under Alice's account key
    const res = await request(bob.sockets[bob.sockets.length - 1], EVENTS.lookup, { address: aliceAddr });
    expect(res.deviceList).toBe(mine?.signed);
    await stop(alice, bob);
  });

  it("never encrypts to a device the relay adds that the account's list does not name", async () => {
    const injected = "injected-device-0001";
    const m = mitm({
      after: (event, reply) => {
        if (event !== EVENTS.bundles || !reply.ok) return reply;
        const bundles = reply.bundles as { deviceId: string }[];
        // a real bundle of Bob's (signed by his key) under a device id of the relay's choosing
        return { ...reply, deviceIds: [...(reply.deviceIds as string[]), injected], bundles: [...bundles, ...bundles.map((b) => ({ ...b, deviceId: injected }))] };
      },
    });
    const { alice, bob, aConv, bConv } = await setUp(m.patch);
    await alice.api.sendMessage({ conversationId: aConv, text: "for Bob's devices only" });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 1, "Bob gets it");
    expect(m.sends.flat().some((e) => e.toDevice === injected)).toBe(false);
    expect(alice.engine.counters.get("unlisted_device")).toBeGreaterThan(0);
    await stop(alice, bob);
  });

  it("refuses a list the account key did not sign, and a list older than one already accepted: nothing is sent", async () => {
    const mallory = generateIdentityKeyPair();
    let forge = false;
    const rollBack: { to?: string } = {};
    const m = mitm({
      after: (event, reply) => {
        if (event !== EVENTS.bundles || !reply.ok) return reply;
        if (rollBack.to) return { ...reply, deviceList: rollBack.to };
        if (!forge) return reply;
        // the relay's own key over a list naming Bob's device and one of its own
        const list: DeviceList = {
          address: reply.address as string,
          version: 9,
          timestamp: 1,
          devices: [...(reply.deviceIds as string[]), "relay-device-0001"].map((deviceId) => ({ deviceId, identityKey: mallory.publicKey, linkedAt: 1 })),
        };
        return { ...reply, deviceList: toB64(signDeviceList(mallory, list)) };
      },
    });
    const { alice, bob, bobAddr, aConv } = await setUp(m.patch);
    forge = true;
    await alice.api.sendMessage({ conversationId: aConv, text: "not to the relay's devices" });
    await waitFor(async () => (await lastOut(alice, aConv))?.state === "failed", "Not sent");
    expect((await lastOut(alice, aConv))?.error).toBe("their list of devices could not be verified");
    expect(m.sends).toHaveLength(0);

    // Bob publishes version 2 of his list; Alice accepts it; the relay then serves version 1 again
    forge = false;
    // the forged list was not kept
    expect(await alice.db.deviceLists.get(bobAddr as Address)).toBeUndefined();
    const bobKeys = await bob.db.identityKeys.get(bobAddr as Address);
    const bobList = await bob.db.deviceLists.get(bobAddr as Address);
    if (!bobKeys || !bobList) throw new Error("Bob has no keys");
    const v2: DeviceList = { address: bobAddr, version: 2, timestamp: Date.now(), devices: bobList.devices };
    await request(bob.sockets[bob.sockets.length - 1], EVENTS.devicesPublish, { from: bobAddr, list: toB64(signDeviceList({ publicKey: bobKeys.publicKey, privateKey: bobKeys.privateKey }, v2)) });
    await alice.api.sendMessage({ conversationId: aConv, text: "under version 2" });
    await waitFor(async () => (await lastOut(alice, aConv))?.state === "sent" || (await lastOut(alice, aConv))?.state === "delivered", "sent under v2");
    expect((await alice.db.deviceLists.get(bobAddr as Address))?.version).toBe(2);
    rollBack.to = bobList.signed;
    // a restarted engine asks the relay again (no cached devices)
    await alice.engine.stop();
    const again = boot(alice.db, m.patch);
    await waitFor(async () => again.online, "back online");
    await again.api.sendMessage({ conversationId: aConv, text: "never under version 1" });
    await waitFor(async () => (await lastOut(again, aConv))?.state === "failed", "Not sent");
    expect((await lastOut(again, aConv))?.error).toBe("the relay served an older list of their devices");
    expect((await again.db.deviceLists.get(bobAddr as Address))?.version).toBe(2);
    await stop(again, bob);
  });

  it("a stale_devices refusal leads to a corrected resend; a relay that keeps refusing leaves it Not sent after three rounds", async () => {
    // the first send is addressed to a device Bob no longer has (a client with an old view of his devices)
    let drops = 1;
    const m = mitm({
      before: (event, payload) => {
        if (event !== EVENTS.send || drops === 0) return;
        drops--;
        // Bob's envelope addressed to a device he does not have (the one he has is left out)
        payload.envelopes = (payload.envelopes as { to: string; toDevice: string }[]).map((e) => (e.to.startsWith("whatsapp:") ? { ...e, toDevice: "old-device-0001" } : e));
      },
    });
    const { alice, bob, aConv, bConv } = await setUp(m.patch);
    await alice.api.sendMessage({ conversationId: aConv, text: "after one stale round" });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 1, "Bob gets it");
    expect(alice.engine.counters.get("stale_devices")).toBe(1);
    expect((await messagesOf(bob.db, bConv)).map((x) => x.text)).toEqual(["after one stale round"]);

    drops = 100;
    await alice.api.sendMessage({ conversationId: aConv, text: "never covers Bob" });
    await waitFor(async () => (await lastOut(alice, aConv))?.state === "failed", "Not sent");
    expect(alice.engine.counters.get("stale_devices")).toBe(4);
    expect((await lastOut(alice, aConv))?.error).toBe("their devices could not be checked");
    await stop(alice, bob);
  });

  it("does not use a session with a device missing from the list", async () => {
    const m = mitm();
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await setUp(m.patch);
    await alice.api.sendMessage({ conversationId: aConv, text: "one" });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 1, "first");
    // a session with a device Bob's list does not name (as if left from a removed device)
    const row = (await alice.db.sessions.where("[ourAddress+theirAddress]").equals([aliceAddr, bobAddr]).toArray())[0];
    await alice.db.sessions.put({ ...row, key: `${aliceAddr}|${bobAddr}|ghost-device-01`, theirDevice: "ghost-device-01" });
    await alice.api.sendMessage({ conversationId: aConv, text: "two" });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 2, "second");
    expect(m.sends.flat().some((e) => e.toDevice === "ghost-device-01")).toBe(false);
    await stop(alice, bob);
  });

  it("takes no message from a sender whose list the relay withholds", async () => {
    const m = mitm({
      after: (event, reply) => {
        if (event !== EVENTS.lookup || !reply.ok) return reply;
        const { deviceList: _withheld, ...rest } = reply;
        return rest as Reply;
      },
    });
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await setUp(m.patch);
    await bob.api.startChat({ from: bobAddr as never, to: aliceAddr });
    await bob.api.sendMessage({ conversationId: bConv, text: "unlisted for Alice" });
    await waitFor(async () => alice.engine.counters.get("unlisted_device") === 1, "dropped");
    expect(await messagesOf(alice.db, aConv)).toHaveLength(0);
    await stop(alice, bob);
  });

  it("asks for an unlisted sender's list while the batch decrypts, not after its first message opens", async () => {
    let armed = false;
    const m = mitm({
      before: (event, payload) => {
        if (armed && event === EVENTS.lookup) order.push(`lookup ${String(payload.address)}`);
      },
    });
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await setUp(m.patch);
    armed = true;
    order.length = 0;
    await bob.api.startChat({ from: bobAddr as never, to: aliceAddr });
    await bob.api.sendMessage({ conversationId: bConv, text: "listed late" });
    await waitFor(async () => (await messagesOf(alice.db, aConv)).length === 1, "stored");
    const lookup = order.indexOf(`lookup ${bobAddr}`);
    expect(lookup).toBeGreaterThanOrEqual(0);
    expect(lookup).toBeLessThan(order.indexOf(`decrypted ${bobAddr} -> ${aliceAddr}`));
    expect(order.filter((e) => e === `lookup ${bobAddr}`)).toHaveLength(1);
    await stop(alice, bob);
  });

  it("keeps a message whose sender's list could not be fetched now (a relay error, rate limited): it is stored once the lookup works", async () => {
    let failures = 0;
    let armed = false;
    const m = mitm({
      after: (event, reply) => {
        if (event !== EVENTS.lookup || !armed || failures >= 2) return reply;
        failures += 1;
        const code = failures === 1 ? "internal" : "rate_limited";
        return { ok: false, error: { code, message: "not now" } };
      },
    });
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await setUp(m.patch);
    armed = true;
    await bob.api.startChat({ from: bobAddr as never, to: aliceAddr });
    await bob.api.sendMessage({ conversationId: bConv, text: "worth the wait" });
    await waitFor(async () => (await messagesOf(alice.db, aConv)).length === 1, "stored after the lookup works");
    expect(failures).toBe(2);
    expect((await messagesOf(alice.db, aConv))[0]?.text).toBe("worth the wait");
    expect(alice.engine.counters.get("unlisted_device")).toBe(0);
    expect(alice.engine.counters.get("receive_transient")).toBeGreaterThanOrEqual(2);
    await stop(alice, bob);
  });
});
