// Disappearing messages: the timer agreed through a content message, lines on both sides, messages gone
// from IndexedDB on both sides after it (also when the app was closed when they expired), and everything
// that kept their text with them.
import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import type { Address } from "../brands";
import { JunctionDB, conversationId, type MessageRow } from "../store/db";
import { newConversation } from "../store/conversations";
import { Counters, silentLogger } from "./log";
import { Mutex } from "./mutex";
import type { EngineContext } from "./context";
import { sweepExpired } from "./disappearing";
import { account, aliceAndBob, handles, makeBoot, messagesOf, waitFor } from "./testClients";
import { EVENTS, toB64 } from "./deps";
import { request } from "./relay";
import { envelopeId } from "./envelopes";
import { encodeDecryptionError } from "./recovery";

const boot = makeBoot(useRelayProcess());

describe("disappearing messages between two engines", () => {
  it("a timer set on one side is a line on both; messages sent under it go on both sides, also on a device that was closed", async () => {
    const h = handles();
    const alice = boot();
    let bob = boot();
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
    const aConv = (await alice.api.startChat({ from: aliceAddr as never, to: bobAddr })).conversationId;
    const bConv = `${bobAddr}|${aliceAddr}`;
    const { messageId: keep } = await alice.api.sendMessage({ conversationId: aConv, text: "this one stays" });
    await waitFor(() => bob.db.messages.get(keep), "first message");

    await alice.api.setDisappearing({ conversationId: aConv, expiresInMs: 1500 });
    await waitFor(async () => (await bob.db.conversations.get(bConv))?.expiresInMs === 1500, "timer agreed on bob's side");
    for (const c of [alice, bob]) {
      const lines = (await messagesOf(c.db, c === alice ? aConv : bConv)).filter((m) => m.kind === "timer");
      expect(lines.map((m) => m.timerMs)).toEqual([1500]);
    }
    const { messageId: secret } = await alice.api.sendMessage({ conversationId: aConv, text: "self-destructs" });
    const got = await waitFor(() => bob.db.messages.get(secret), "bob has it");
    expect(got.expiresAt).toBeGreaterThan(Date.now());
    expect((await bob.db.conversations.get(bConv))?.lastPreview).toBe("self-destructs");

    // Bob closes the app before it expires and opens it after
    await bob.engine.stop();
    await new Promise((r) => setTimeout(r, 1700));
    bob = boot(bob.db);
    await waitFor(async () => (await bob.db.messages.get(secret)) === undefined, "gone at start on bob's side");
    // Alice's engine stayed up: her timer took it
    await waitFor(async () => (await alice.db.messages.get(secret)) === undefined, "gone on alice's side");
    for (const [c, conv] of [[alice, aConv], [bob, bConv]] as const) {
      const row = await c.db.conversations.get(conv);
      expect(row?.lastPreview).not.toContain("self-destructs");
      expect(await c.db.messages.get(keep)).toBeDefined();
    }
    // off again: nothing sent after that disappears
    await bob.api.setDisappearing({ conversationId: bConv, expiresInMs: 0 });
    await waitFor(async () => (await alice.db.conversations.get(aConv))?.expiresInMs === 0, "off on alice's side");
    const { messageId: later } = await alice.api.sendMessage({ conversationId: aConv, text: "stays" });
    expect((await alice.db.messages.get(later))?.expiresAt).toBeUndefined();
    await alice.engine.stop();
    await bob.engine.stop();
  });
});

describe("a request to send a disappeared message again", () => {
  it("is answered 'unavailable', and the message is never sent again", async () => {
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await aliceAndBob(boot);
    await alice.api.setDisappearing({ conversationId: aConv, expiresInMs: 1000 });
    const { messageId } = await alice.api.sendMessage({ conversationId: aConv, text: "gone soon" });
    await waitFor(() => bob.db.messages.get(messageId), "delivered");
    await waitFor(async () => (await alice.db.messages.get(messageId)) === undefined, "expired on alice's side");
    // Bob's device says it could not open that envelope (and shows a placeholder for it)
    const bobDevice = (await bob.db.device.get(bobAddr as Address))!.deviceId;
    const aliceDevice = (await alice.db.device.get(aliceAddr as Address))!.deviceId;
    const env = envelopeId(messageId, bobAddr, bobDevice);
    await bob.db.messages.delete(messageId);
    await bob.db.messages.put({ id: `wait:${env}`, conversationId: bConv, direction: "in", kind: "waiting", text: "", sentAt: 1, receivedAt: 1, state: "read", sentToRelayAt: null, deliveredAt: null });
    await bob.db.waiting.put({ envelopeId: env, messageId: `wait:${env}`, conversationId: bConv, from: aliceAddr as Address, fromDevice: aliceDevice, createdAt: Date.now() });
    await request(bob.sockets.at(-1)!, EVENTS.send, { from: bobAddr, envelopes: [{ id: "askagain0001", to: aliceAddr, toDevice: aliceDevice, body: toB64(encodeDecryptionError([env])) }] });
    await waitFor(async () => (await bob.db.messages.get(`wait:${env}`))?.kind === "undecryptable", "told it is unavailable");
    expect(await bob.db.messages.get(messageId)).toBeUndefined();
    await alice.engine.stop();
    await bob.engine.stop();
  });
});

describe("the sweep", () => {
  const ME: Address = "whatsapp:+15550000001";
  const PEER: Address = "instagram:@dana";
  const CONV = conversationId(ME, PEER);
  let db: JunctionDB;
  let ctx: EngineContext;

  beforeEach(async () => {
    db = new JunctionDB(`sweep-${Math.random().toString(36).slice(2)}`);
    await db.open();
    ctx = { db, log: silentLogger, counters: new Counters(), sessions: new Mutex(), now: () => 10_000, socket: () => { throw new Error("offline"); }, connectedSocket: () => Promise.reject(new Error("offline")) };
  });
  afterEach(async () => {
    db.close();
    await db.delete();
  });

  const m = (id: string, patch: Partial<MessageRow>): MessageRow => ({
    id, conversationId: CONV, direction: "in", text: `text of ${id}`, sentAt: 1_000, receivedAt: 1_000, state: "delivered", sentToRelayAt: null, deliveredAt: null, ...patch,
  });

  it("removes expired rows with their preview, quotes, draft reply, outbox rows and unread count; keeps the rest", async () => {
    await db.conversations.put({ ...newConversation(ME, PEER, 0), lastMessageId: "expired00002", lastPreview: "text of expired00002", unread: 2, hasUnread: 1 });
    await db.messages.bulkPut([
      m("stays0000001", { sentAt: 500, state: "read" }),
      m("expired00001", { expiresAt: 9_000 }),
      m("expired00002", { sentAt: 2_000, expiresAt: 10_000 }),
      m("quotes000001", { sentAt: 600, direction: "out", state: "sent", replyTo: { id: "expired00001", author: PEER, text: "text of expired00001" } }),
      m("later0000001", { sentAt: 700, expiresAt: 50_000, state: "read" }),
    ]);
    await db.drafts.put({ conversationId: CONV, text: "about that", replyTo: "expired00001", updatedAt: 1 });
    await db.outbox.bulkAdd([
      { kind: "change", conversationId: CONV, messageId: "reaction0001", target: "expired00002", change: "{}", createdAt: 1, attempts: 0 },
      { kind: "message", conversationId: CONV, messageId: "expired00001", createdAt: 1, attempts: 0 },
    ]);
    await db.sentLog.put({ envelopeId: "envelope0001", messageId: "edit00000001", kind: "change", change: "{\"text\":\"secret\"}", target: "expired00002", conversationId: CONV, to: PEER, toDevice: "device000001", sentAt: 1 });

    expect(await sweepExpired(ctx)).toEqual({ removed: 2, next: 50_000 });
    expect((await db.messages.toArray()).map((r) => r.id).sort()).toEqual(["later0000001", "quotes000001", "stays0000001"]);
    const conv = await db.conversations.get(CONV);
    expect(conv).toMatchObject({ lastMessageId: "later0000001", lastPreview: "text of later0000001", unread: 0, hasUnread: 0 });
    expect((await db.messages.get("quotes000001"))?.replyTo).toEqual({ id: "expired00001", author: PEER, text: "", deleted: true });
    expect(await db.drafts.get(CONV)).toEqual({ conversationId: CONV, text: "about that", updatedAt: 1 });
    expect(await db.outbox.count()).toBe(0);
    expect(await db.sentLog.count()).toBe(0);
    // nothing left to do until the next one
    expect(await sweepExpired(ctx)).toEqual({ removed: 0, next: 50_000 });
  });
});
