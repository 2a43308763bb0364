// The receive pipeline (Engine.receiveRun): batch N+1 decrypts while batch N commits. Real engines
// (fake-indexeddb) through the real relay process with the real lib/crypto; a backlog large enough for
// several batches is written straight into the sender's session (as its outbox would, only faster) while
// the receiver's deliveries are held, then released at once.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import { randomId, sessionKey } from "../store/ids";
import { deserializeSession, encrypt, serializeSession } from "../crypto";
import { EVENTS, toB64, type Address, type schemas } from "./deps";
import { request } from "./relay";
import { CONTENT_VERSION, encodeContent } from "./content/envelope";
import { envelopeId } from "./envelopes";
import { MAX_DELIVERIES_IN_FLIGHT, MAX_ENVELOPES_PER_DELIVERY, MAX_ENVELOPES_PER_SEND } from "../protocol/limits";
import { account, handles, makeBoot, messagesOf, waitFor, holdDeliveries, type Client } from "./testClients";

const boot = makeBoot(useRelayProcess());

/** Makes `method` of a table reject `times` times (a full disk), then behave again. */
function failNext(table: unknown, method: string, times = 1) {
  const t = table as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = t[method].bind(table);
  let left = times;
  t[method] = (...args: unknown[]) => {
    if (left > 0) {
      left -= 1;
      return Promise.reject(new DOMException("the disk is full", "QuotaExceededError"));
    }
    return original(...args);
  };
}

const text = (i: number) => `backlog ${i}`;

/**
 * Alice → Bob: the first message through Alice's engine (it sets up the session), the rest encrypted
 * here in that session with the engine's own encoding and envelope ids, 100 per mailbox:send.
 */
async function sendBacklog(alice: Client, aliceAddr: string, bobAddr: string, conversationId: string, count: number) {
  await alice.api.sendMessage({ conversationId, text: text(0) });
  await waitFor(async () => (await alice.db.outbox.count()) === 0 && (await alice.db.sessions.count()) > 0, "the first message sent");
  await alice.engine.idle();
  // under Alice's session lock: a receipt her engine decrypted meanwhile would write back the state it read
  await alice.engine.withSessionLock(async () => {
    const [row] = await alice.db.sessions.where("[ourAddress+theirAddress]").equals([aliceAddr, bobAddr]).toArray();
    let state = deserializeSession(row.state);
    const socket = alice.sockets[alice.sockets.length - 1];
    let sentAt = Date.now();
    for (let i = 1; i < count; i += MAX_ENVELOPES_PER_SEND) {
      const envelopes: schemas.OutgoingEnvelope[] = [];
      for (let j = i; j < Math.min(count, i + MAX_ENVELOPES_PER_SEND); j++) {
        const id = randomId();
        sentAt += 1;
        const sealed = await encrypt(state, encodeContent({ v: CONTENT_VERSION, type: "text", id, sentAt, text: text(j), senderName: "Alice" }));
        state = sealed.state;
        envelopes.push({ id: envelopeId(id, bobAddr, row.theirDevice), to: bobAddr, toDevice: row.theirDevice, body: toB64(sealed.ciphertext) });
      }
      await request(socket, EVENTS.send, { from: aliceAddr as Address, envelopes });
    }
    // Alice's engine goes on from where this left her session
    await alice.db.sessions.put({ ...row, key: sessionKey(aliceAddr, bobAddr, row.theirDevice), state: serializeSession(state), updatedAt: Date.now() });
  });
}

async function setUp(count: number) {
  const h = handles();
  const hold = holdDeliveries();
  const alice = boot();
  const bob = boot(undefined, hold.patch);
  const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
  const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
  const aConv = (await alice.api.startChat({ from: aliceAddr as never, to: bobAddr })).conversationId;
  const bConv = `${bobAddr}|${aliceAddr}`;
  await sendBacklog(alice, aliceAddr, bobAddr, aConv, count);
  // the relay pushes the window it has (four pages) as soon as Bob is online; they wait in the patch
  await waitFor(async () => bob.online, "bob online");
  return { hold, alice, bob, aliceAddr, bobAddr, aConv, bConv };
}

/**
 * As setUp, but Bob answers Alice's first message before the backlog: her session is no longer pending, so the
 * backlog's messages are normal ones (no prekey part), small enough for the relay's first window to push all
 * `count` (at most the window's envelopes) at once. They are held, then handed over in one go.
 */
async function setUpAnswered(count: number) {
  const h = handles();
  const hold = holdDeliveries();
  const alice = boot();
  const bob = boot(undefined, hold.patch);
  hold.release();
  const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
  const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
  const aConv = (await alice.api.startChat({ from: aliceAddr as never, to: bobAddr })).conversationId;
  const bConv = `${bobAddr}|${aliceAddr}`;
  await alice.api.sendMessage({ conversationId: aConv, text: "hello" });
  await waitFor(async () => (await texts(bob, bConv)).includes("hello"), "bob gets hello");
  await bob.api.sendMessage({ conversationId: bConv, text: "hi" });
  await waitFor(async () => (await texts(alice, aConv)).includes("hi"), "alice gets hi");
  await waitFor(async () => (await bob.db.outbox.count()) === 0 && (await alice.db.outbox.count()) === 0, "both outboxes empty");
  await alice.engine.idle();
  await bob.engine.idle();
  hold.hold();
  await sendBacklog(alice, aliceAddr, bobAddr, aConv, count);
  await waitFor(async () => hold.envelopes() === count, `the relay pushed all ${count} at once`, 60_000);
  return { hold, alice, bob, aConv, bConv };
}

const texts = async (c: Client, conv: string) => (await messagesOf(c.db, conv)).map((m) => m.text);
const expected = (count: number) => Array.from({ length: count }, (_, i) => text(i));

/** Both ways still open after the backlog: the ratchet states Bob stored are the ones that opened it. */
async function stillTalking(alice: Client, bob: Client, aConv: string, bConv: string, before: number) {
  await bob.api.sendMessage({ conversationId: bConv, text: "bob after the backlog" });
  await waitFor(async () => (await texts(alice, aConv)).includes("bob after the backlog"), "alice gets bob's reply", 30_000);
  await alice.api.sendMessage({ conversationId: aConv, text: "alice after the reply" });
  await waitFor(async () => (await texts(bob, bConv)).length === before + 2, "bob gets alice's next", 30_000);
  expect((await texts(bob, bConv)).slice(-2)).toEqual(["bob after the backlog", "alice after the reply"]);
}

describe("receive pipeline", () => {
  it("commits batches of hundreds in one transaction each, never retried (no premature commit)", async () => {
    const count = 450;
    const { hold, alice, bob, aConv, bConv } = await setUp(count);
    hold.release();
    await waitFor(async () => (await bob.db.messages.where("conversationId").equals(bConv).count()) === count, "backlog stored", 60_000);
    await bob.engine.idle();
    expect(await texts(bob, bConv)).toEqual(expected(count));
    // a transaction that lost Dexie's zone would have committed early and been retried
    expect(bob.engine.counters.get("receive_transient")).toBe(0);
    expect(bob.engine.counters.get("duplicate")).toBe(0);
    expect(await bob.db.pendingAcks.count()).toBe(0);
    expect((await bob.db.conversations.get(bConv))?.unread).toBe(count);
    await stillTalking(alice, bob, aConv, bConv, count);
    await alice.engine.stop();
    await bob.engine.stop();
  }, 120_000);

  it("a commit that fails while the next batch is already decrypted loses nothing, stores nothing twice and keeps the states in step", async () => {
    const count = 900;
    const { hold, alice, bob, aConv, bConv } = await setUp(count);
    // the first batch's commit fails at its very end (the acks it owes), after its session and message writes
    failNext(bob.db.pendingAcks, "put");
    hold.release();
    await waitFor(async () => (await bob.db.messages.where("conversationId").equals(bConv).count()) === count, "backlog stored after the retry", 90_000);
    await bob.engine.idle();
    expect(bob.engine.counters.get("receive_transient")).toBe(1);
    // the batch decrypted behind the failed commit was dropped and decrypted again, not stored from stale states
    expect(bob.engine.counters.get("receive_redone")).toBeGreaterThan(0);
    expect(bob.engine.counters.get("duplicate")).toBe(0);
    expect(bob.engine.counters.get("undecryptable")).toBe(0);
    expect(await texts(bob, bConv)).toEqual(expected(count));
    expect((await bob.db.conversations.get(bConv))?.unread).toBe(count);
    expect(await bob.db.waiting.count()).toBe(0);
    expect(await bob.db.pendingAcks.count()).toBe(0);
    await stillTalking(alice, bob, aConv, bConv, count);
    // and the relay holds nothing more for Bob: everything was acked exactly once it was stored
    await bob.engine.stop();
    const again = boot(bob.db);
    await waitFor(async () => again.online, "bob back");
    await again.engine.idle();
    expect(again.engine.counters.get("duplicate")).toBe(0);
    expect((await texts(again, bConv)).length).toBe(count + 2);
    await alice.engine.stop();
    await again.engine.stop();
  }, 180_000);

  it("stores a backlog's first messages in a small batch of their own; an engine stopped between batches loses nothing and stores nothing twice", async () => {
    const count = 500;
    const { hold, alice, bob, aConv, bConv } = await setUp(count);
    // the message rows each transaction adds, in the order the transactions began
    const perTransaction = new Map<object, number>();
    bob.db.messages.hook("creating", (_key, _row, transaction) => {
      perTransaction.set(transaction, (perTransaction.get(transaction) ?? 0) + 1);
    });
    const stored = () => bob.db.messages.where("conversationId").equals(bConv).count();
    hold.release();
    await waitFor(async () => (await stored()) > 0, "the first batch stored", 60_000);
    // the first commit holds a quarter of a delivery page, not the whole page or two
    expect([...perTransaction.values()][0]).toBeLessThanOrEqual(50);
    // then the disk fails: the batches after the first never commit, and the engine goes down like that (a
    // crash between batches, later ones decrypted and not stored); acked before they were stored, they would
    // be gone from the relay
    const table = bob.db.pendingAcks as unknown as Record<string, unknown>;
    const put = table.put;
    table.put = () => Promise.reject(new DOMException("the disk is full", "QuotaExceededError"));
    await waitFor(async () => (bob.engine.counters.get("receive_transient") ?? 0) > 0, "a commit failed", 60_000);
    await bob.engine.stop();
    table.put = put;
    const storedAtStop = await stored();
    expect(storedAtStop).toBeLessThan(count);
    const again = boot(bob.db);
    await waitFor(async () => (await stored()) === count, "the rest stored after the restart", 90_000);
    await again.engine.idle();
    // what was stored and not yet acked when it stopped comes again and is recognised, nothing else
    expect(again.engine.counters.get("duplicate") ?? 0).toBeLessThanOrEqual(storedAtStop);
    expect(again.engine.counters.get("undecryptable")).toBe(0);
    expect(await texts(again, bConv)).toEqual(expected(count));
    expect((await bob.db.conversations.get(bConv))?.unread).toBe(count);
    expect(await bob.db.pendingAcks.count()).toBe(0);
    await stillTalking(alice, again, aConv, bConv, count);
    await alice.engine.stop();
    await again.engine.stop();
  }, 180_000);

  it("sends that wait for the session lock get in between batches, and both sides' states stay in step", async () => {
    // long enough that sends (a few reads, each behind the commit in flight, then the lock) land mid-backlog
    const count = 3000;
    const { hold, alice, bob, aConv, bConv } = await setUp(count);
    const backlogStored = () => bob.db.messages.where("conversationId").equals(bConv).count();
    // how much of the backlog Bob had stored when his own message left his outbox, sent
    let storedWhenSent: number | null = null;
    bob.db.outbox.hook("deleting", (_key, row) => {
      if (row.kind === "message") storedWhenSent = bob.engine.counters.get("stored");
    });
    hold.release();
    // a message of Bob's own (and the receipts, whenever the inbox runs dry between the relay's windows) go out
    // between the backlog's batches: each advances the sending chain of the very session the batches decrypt in
    await waitFor(async () => (await backlogStored()) > 0, "receiving started", 60_000);
    await bob.api.sendMessage({ conversationId: bConv, text: "bob during the backlog" });
    await waitFor(async () => (await backlogStored()) === count + 1, "backlog stored", 90_000);
    // (had the person's send waited for the whole backlog, this would test nothing)
    expect(storedWhenSent).not.toBeNull();
    expect(storedWhenSent).toBeLessThan(count);
    expect(bob.engine.counters.get("receive_yielded")).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await texts(alice, aConv)).includes("bob during the backlog"), "alice gets bob's message", 30_000);
    // every receipt opened at Alice's: had a commit put back Bob's sending chain as it was before a send,
    // the next send would reuse a message key and Alice would drop it as a replay
    await waitFor(async () => (await bob.db.outbox.count()) === 0, "bob's receipts all sent", 60_000);
    await waitFor(async () => (await alice.db.messages.where("conversationId").equals(aConv).filter((m) => m.text === text(0) && m.state === "delivered").count()) === 1, "the backlog's first message delivered at alice's", 30_000);
    await bob.engine.idle();
    await alice.engine.idle();
    expect(alice.engine.counters.get("duplicate")).toBe(0);
    expect(bob.engine.counters.get("receive_transient")).toBe(0);
    expect(bob.engine.counters.get("duplicate")).toBe(0);
    expect((await texts(bob, bConv)).filter((t) => t.startsWith("backlog "))).toEqual(expected(count));
    await stillTalking(alice, bob, aConv, bConv, count + 1);
    expect(alice.engine.counters.get("duplicate")).toBe(0);
    expect(alice.engine.counters.get("undecryptable")).toBe(0);
    expect(bob.engine.counters.get("undecryptable")).toBe(0);
    await alice.engine.stop();
    await bob.engine.stop();
  }, 180_000);

  it("a backlog's receipts wait for its end: a drain running beside it does not cut the pipeline into runs", async () => {
    const count = MAX_ENVELOPES_PER_DELIVERY * MAX_DELIVERIES_IN_FLIGHT;
    const { hold, alice, bob, aConv, bConv } = await setUpAnswered(count);
    // how much Bob had stored (all told) each time a receipt left his outbox, sent
    const storedWhenSent: number[] = [];
    bob.db.outbox.hook("deleting", (_key, row) => {
      if (row.kind === "receipt") storedWhenSent.push(bob.engine.counters.get("stored"));
    });
    const storedBefore = bob.engine.counters.get("stored");
    const backlogStored = () => bob.db.messages.where("conversationId").equals(bConv).filter((m) => m.text.startsWith("backlog ")).count();
    // the drain runs beside the backlog from its first message on (the page, a follower tab or the engine itself
    // pokes it whenever something is queued) and finds the receipts of the batches stored so far
    let poked = 0;
    bob.db.messages.hook("creating", () => {
      poked += 1;
      bob.engine.poke();
    });
    hold.release();
    await waitFor(async () => (await backlogStored()) === count, "backlog stored", 90_000);
    await waitFor(async () => (await bob.db.outbox.count()) === 0, "bob's receipts sent", 30_000);
    await bob.engine.idle();
    expect(poked).toBe(count);
    // not one receipt went before the whole backlog was stored, and the pipeline ran through without a break
    expect(storedWhenSent.length).toBeGreaterThan(0);
    expect(Math.min(...storedWhenSent)).toBe(storedBefore + count);
    expect(bob.engine.counters.get("receive_yielded")).toBe(0);
    // and they went: the backlog's first message (the one Alice's engine stored; the rest were written straight
    // into her session) shows delivered at Alice's
    await waitFor(async () => (await alice.db.messages.where("conversationId").equals(aConv).filter((m) => m.text === text(0) && m.state === "delivered").count()) === 1, "the backlog's first message delivered at alice's", 30_000);
    expect(storedWhenSent.length).toBeGreaterThanOrEqual(Math.ceil(count / (2 * MAX_ENVELOPES_PER_DELIVERY)));
    expect(await texts(bob, bConv)).toEqual(["hello", "hi", ...expected(count)]);
    await alice.engine.stop();
    await bob.engine.stop();
  }, 180_000);
});
