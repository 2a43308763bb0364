// Sessions that heal and receiving that never loses: real engines (fake-indexeddb) through the real relay
// process with the real lib/crypto. Faults are injected the way they happen: deliveries held back, rows
// deleted or corrupted in the store, a storage error, a malformed envelope, a hostile retry request.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import { identityId } from "../store/ids";
import { generateIdentityKeyPair } from "../crypto";
import { EVENTS, toB64, type Address } from "./deps";
import { request, type RelaySocket } from "./relay";
import { encodeDecryptionError } from "./recovery";
import { envelopeId } from "./envelopes";
import { runMaintenance } from "./maintenance";
import { account, handles, holdDeliveries, makeBoot, messagesOf, sendByHand, stopAll, waitFor, type Client } from "./testClients";

const boot = makeBoot(useRelayProcess());

const texts = async (c: Client, conv: string) => (await messagesOf(c.db, conv)).map((m) => (m.kind && m.kind !== "text" ? `<${m.kind}>` : m.text));

async function pairUp() {
  const h = handles();
  const hold = holdDeliveries();
  const alice = boot();
  const bob = boot(undefined, hold.patch);
  const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
  const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
  const aConv = (await alice.api.startChat({ from: aliceAddr as never, to: bobAddr })).conversationId;
  const bConv = (await bob.api.startChat({ from: bobAddr as never, to: aliceAddr })).conversationId;
  return { h, hold, alice, bob, aliceAddr, bobAddr, aConv, bConv };
}

describe("sessions that heal", () => {
  it("two people who write first at the same moment see both messages and keep talking both ways", async () => {
    const { hold, alice, bob, aConv, bConv } = await pairUp();
    // Bob hears nothing yet; both start a session from the other's bundle
    await alice.api.sendMessage({ conversationId: aConv, text: "hi Bob (first)" });
    await waitFor(async () => (await alice.db.messages.toArray()).some((m) => m.state === "sent"), "alice's first sent");
    await bob.api.sendMessage({ conversationId: bConv, text: "hi Alice (first)" });
    await waitFor(async () => (await texts(alice, aConv)).includes("hi Alice (first)"), "alice gets bob's first");
    // Alice now writes in the session Bob started, before Bob has seen hers
    await alice.api.sendMessage({ conversationId: aConv, text: "alice 2" });
    await alice.engine.idle();
    hold.release();
    await waitFor(async () => (await texts(bob, bConv)).length === 3, "bob gets both of alice's");
    expect((await texts(bob, bConv)).sort()).toEqual(["alice 2", "hi Alice (first)", "hi Bob (first)"]);
    // and they keep talking: bursts and alternating, every message arrives, nothing waits
    for (const [from, n] of [["bob", 2], ["alice", 3], ["bob", 1], ["alice", 1], ["bob", 3]] as const) {
      for (let i = 0; i < n; i++) {
        if (from === "bob") await bob.api.sendMessage({ conversationId: bConv, text: `bob ${n}.${i}` });
        else await alice.api.sendMessage({ conversationId: aConv, text: `alice ${n}.${i}` });
      }
    }
    await waitFor(async () => (await texts(bob, bConv)).length === 3 + 10, "bob has everything");
    await waitFor(async () => (await texts(alice, aConv)).length === 3 + 10, "alice has everything");
    expect((await texts(alice, aConv)).sort()).toEqual((await texts(bob, bConv)).sort());
    for (const c of [alice, bob]) {
      expect(await c.db.waiting.count()).toBe(0);
      expect(c.engine.counters.get("undecryptable")).toBe(0);
    }
    await stopAll(alice, bob);
  });

  it("a device that lost its session sees the message arrive in place of 'Waiting for this message…'", async () => {
    const { hold, alice, bob, aConv, bConv, aliceAddr, bobAddr } = await pairUp();
    hold.release();
    await alice.api.sendMessage({ conversationId: aConv, text: "one" });
    await waitFor(async () => (await texts(bob, bConv)).length === 1, "first");
    await bob.api.sendMessage({ conversationId: bConv, text: "two" });
    await waitFor(async () => (await texts(alice, aConv)).length === 2, "reply");
    // Alice's receipt for "two" is in and read before the rows go: one that came after would be the first
    // thing Bob cannot open, and the recovery below would start from it instead of from "three"
    await waitFor(async () => (await messagesOf(bob.db, bConv)).find((m) => m.text === "two")?.state === "delivered", "alice's receipt for two");
    await alice.engine.idle();
    await bob.engine.idle();
    // the session rows are gone (a restore, a reinstall, a cleared table)
    await bob.db.sessions.where("[ourAddress+theirAddress]").equals([bobAddr, aliceAddr]).delete();
    await bob.db.archivedSessions.clear();
    const seenWaiting = new Promise<boolean>((resolve) => {
      const timer = setInterval(async () => {
        if ((await bob.db.messages.where("kind").equals("waiting").count()) > 0) {
          clearInterval(timer);
          resolve(true);
        }
      }, 5);
      setTimeout(() => {
        clearInterval(timer);
        resolve(false);
      }, 15_000);
    });
    await alice.api.sendMessage({ conversationId: aConv, text: "three" });
    await waitFor(async () => bob.engine.counters.get("recovered") === 1, "recovered");
    await bob.engine.idle();
    expect(await seenWaiting).toBe(true);
    expect(await texts(bob, bConv)).toEqual(["one", "two", "three"]);
    expect(await bob.db.waiting.count()).toBe(0);
    // and the pair goes on both ways
    await bob.api.sendMessage({ conversationId: bConv, text: "four" });
    await waitFor(async () => (await texts(alice, aConv)).includes("four"), "alice gets four");
    await alice.api.sendMessage({ conversationId: aConv, text: "five" });
    await waitFor(async () => (await texts(bob, bConv)).includes("five"), "bob gets five");
    await stopAll(alice, bob);
  });

  it("a corrupt session row does not hold other senders' messages, and that sender recovers", async () => {
    const { hold, alice, bob, aConv, bConv, aliceAddr, bobAddr, h } = await pairUp();
    const carol = boot();
    const carolAddr = await account(carol, "instagram", h.carol, "Carol");
    const cConv = (await carol.api.startChat({ from: carolAddr as never, to: bobAddr })).conversationId;
    hold.release();
    await alice.api.sendMessage({ conversationId: aConv, text: "from alice" });
    await carol.api.sendMessage({ conversationId: cConv, text: "from carol" });
    await waitFor(async () => (await bob.db.messages.count()) === 2, "both first messages");
    await bob.engine.idle();
    const row = (await bob.db.sessions.where("[ourAddress+theirAddress]").equals([bobAddr, aliceAddr]).first())!;
    await bob.db.sessions.put({ ...row, state: new Uint8Array([2, 0, 1, 2, 3]) });
    await alice.api.sendMessage({ conversationId: aConv, text: "alice again" });
    await carol.api.sendMessage({ conversationId: cConv, text: "carol again" });
    await waitFor(async () => (await texts(bob, `${bobAddr}|${carolAddr}`)).includes("carol again"), "carol's second");
    await waitFor(async () => (await texts(bob, bConv)).includes("alice again"), "alice's second, recovered");
    expect(bob.engine.counters.get("corrupt_session")).toBeGreaterThanOrEqual(1);
    expect(await bob.db.waiting.count()).toBe(0);
    await stopAll(alice, bob, carol);
  });

  it("a storage error while receiving loses nothing: the batch is not acked and is stored on the retry", async () => {
    const { hold, alice, bob, aConv, bConv } = await pairUp();
    const table = bob.db.messages as unknown as { bulkAdd: (...args: unknown[]) => Promise<unknown> };
    const bulkAdd = table.bulkAdd.bind(table);
    let failures = 1;
    table.bulkAdd = (...args: unknown[]) => {
      if (failures > 0) {
        failures -= 1;
        return Promise.reject(new DOMException("the disk is full", "QuotaExceededError"));
      }
      return bulkAdd(...args);
    };
    hold.release();
    await alice.api.sendMessage({ conversationId: aConv, text: "kept through a full disk" });
    await waitFor(async () => (await texts(bob, bConv)).length === 1, "stored after the retry");
    await bob.engine.idle();
    expect(bob.engine.counters.get("receive_transient")).toBe(1);
    expect(await texts(bob, bConv)).toEqual(["kept through a full disk"]);
    expect(await bob.db.pendingAcks.count()).toBe(0);
    expect(bob.engine.counters.get("undecryptable")).toBe(0);
    await stopAll(alice, bob);
  });

  it("one malformed envelope does not drop the others of its page", async () => {
    const h = handles();
    const alice = boot();
    const bob = boot(undefined, (socket) => {
      const on = socket.on.bind(socket) as (event: string, fn: (payload: unknown) => void) => RelaySocket;
      (socket as unknown as { on: typeof on }).on = (event, fn) =>
        on(event, event === "mailbox:deliver" ? (p) => fn({ envelopes: [{ id: "not valid!", body: 7 }, ...(p as { envelopes: unknown[] }).envelopes] }) : fn);
    });
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
    const { conversationId } = await alice.api.startChat({ from: aliceAddr as never, to: bobAddr });
    await alice.api.sendMessage({ conversationId, text: "next to garbage" });
    await waitFor(async () => (await texts(bob, `${bobAddr}|${aliceAddr}`)).length === 1, "the good envelope");
    expect(bob.engine.counters.get("bad_envelope")).toBeGreaterThanOrEqual(1);
    await stopAll(alice, bob);
  });

  it("content of an unknown kind is stored as 'needs a newer version', and read again once understood", async () => {
    const { hold, alice, bob, aConv, bConv, aliceAddr, bobAddr } = await pairUp();
    hold.release();
    await alice.api.sendMessage({ conversationId: aConv, text: "hello" });
    await waitFor(async () => (await texts(bob, bConv)).length === 1, "first");
    await alice.engine.idle();
    // a newer client sends a kind this build has never heard of, through the real session and relay
    const bobDevice = (await bob.db.device.get(bobAddr as Address))!.deviceId;
    const poll = { v: 1, type: "poll", id: "pollpollpoll01", sentAt: Date.now(), question: "lunch?", options: ["yes", "no"] };
    await sendByHand(alice, aliceAddr, bobAddr, bobDevice, poll, { envelopeId: "pollenvelope01" });
    await waitFor(async () => (await texts(bob, bConv)).includes("<unsupported>"), "stored as unsupported");
    const stored = (await bob.db.messages.get("pollpollpoll01"))!;
    expect(JSON.parse(stored.content!)).toEqual(poll);
    expect((await bob.db.conversations.get(bConv))?.lastPreview).toBe("This message needs a newer version of Junction");
    // the session moved on, so the next ordinary message opens
    await alice.api.sendMessage({ conversationId: aConv, text: "after the poll" });
    await waitFor(async () => (await texts(bob, bConv)).includes("after the poll"), "after");
    // a build that understands the stored content renders it in place (here: content that is text)
    await bob.db.messages.put({ ...stored, id: "laterlater0001", content: JSON.stringify({ v: 1, type: "text", id: "laterlater0001", sentAt: 1, text: "now readable" }) });
    await bob.engine.idle();
    await runMaintenance({ db: bob.db, log: { warn() {}, info() {} }, counters: bob.engine.counters, now: () => Date.now() } as never);
    expect((await bob.db.messages.get("laterlater0001"))?.text).toBe("now readable");
    expect((await bob.db.messages.get("laterlater0001"))?.kind).toBeUndefined();
    await stopAll(alice, bob);
  });

  it("a verified contact's new key holds only their conversation until I accept it", async () => {
    const { hold, alice, bob, aConv, bConv, aliceAddr, bobAddr, h } = await pairUp();
    const carol = boot();
    const carolAddr = await account(carol, "instagram", h.carol, "Carol");
    const acConv = (await alice.api.startChat({ from: aliceAddr as never, to: carolAddr })).conversationId;
    hold.release();
    await alice.api.sendMessage({ conversationId: aConv, text: "verified soon" });
    await waitFor(async () => (await texts(bob, bConv)).length === 1, "first");
    await alice.api.markVerified({ conversationId: aConv, verified: true });
    // what Alice verified is not what the directory now serves (a relay swapping keys, or a reinstall)
    const id = identityId(aliceAddr, bobAddr);
    await alice.db.identities.update(id, { identityKey: generateIdentityKeyPair().publicKey, verified: true });
    await alice.api.sendMessage({ conversationId: aConv, text: "held for Bob" });
    await alice.api.sendMessage({ conversationId: acConv, text: "not held for Carol" });
    await waitFor(async () => (await texts(carol, `${carolAddr}|${aliceAddr}`)).includes("not held for Carol"), "carol's message");
    await alice.engine.idle();
    const identity = (await alice.db.identities.get(id))!;
    expect(identity.awaitingAcceptance).toBe(true);
    expect(identity.verified).toBe(false);
    expect((await alice.db.messages.where("conversationId").equals(aConv).toArray()).find((m) => m.text === "held for Bob")?.state).toBe("queued");
    expect(await texts(bob, bConv)).toEqual(["verified soon"]);
    await alice.api.acceptIdentity({ conversationId: aConv });
    await waitFor(async () => (await texts(bob, bConv)).includes("held for Bob"), "released after accepting");
    await stopAll(alice, bob, carol);
  });

  it("a retry request for a message sent to someone else resends nothing", async () => {
    const { hold, alice, bob, aConv, bConv, aliceAddr, bobAddr, h } = await pairUp();
    const mallory = boot();
    const malloryAddr = await account(mallory, "instagram", h.carol, "Mallory");
    hold.release();
    const { messageId } = await alice.api.sendMessage({ conversationId: aConv, text: "for Bob only" });
    await waitFor(async () => (await texts(bob, bConv)).length === 1, "delivered");
    const bobDevice = (await bob.db.device.get(bobAddr as Address))!.deviceId;
    const aliceDevice = (await alice.db.device.get(aliceAddr as Address))!.deviceId;
    // Mallory names the envelope Alice sent Bob's device
    const stolen = envelopeId(messageId, bobAddr, bobDevice);
    expect(await alice.db.sentLog.get(stolen)).toBeDefined();
    await request(mallory.sockets.at(-1)!, EVENTS.send, {
      from: malloryAddr,
      envelopes: [{ id: "mallorysask01", to: aliceAddr, toDevice: aliceDevice, body: toB64(encodeDecryptionError([stolen])) }],
    });
    await waitFor(async () => alice.engine.counters.get("retry_request_received") === 1, "request seen");
    await alice.engine.idle();
    expect(alice.engine.counters.get("resend_queued")).toBe(0);
    expect(await mallory.db.messages.count()).toBe(0);
    await stopAll(alice, bob, mallory);
  });
});
