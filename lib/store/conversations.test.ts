// putMessagesOnce: exactly once by message id, through a bulk add that refuses the ids already held.
import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Address } from "../brands";
import { JunctionDB, conversationId, type MessageRow } from "./db";
import { ensureConversation, markIncomingRead, putMessagesOnce } from "./conversations";

const ME: Address = "whatsapp:+15550000001";
const PEER: Address = "instagram:@dana";
const CONV = conversationId(ME, PEER);

let db: JunctionDB;

beforeEach(async () => {
  db = new JunctionDB(`conversations-test-${Math.random().toString(36).slice(2)}`);
  await db.open();
  await ensureConversation(db, ME, PEER, 1);
});

afterEach(async () => {
  db.close();
  await db.delete();
});

function incoming(id: string, sentAt: number, text = `text of ${id}`): MessageRow {
  return { id, conversationId: CONV, direction: "in", text, sentAt, receivedAt: 5, state: "delivered", sentToRelayAt: null, deliveredAt: null };
}

describe("putMessagesOnce", () => {
  it("stores each id once: a repeat is neither stored again, nor changed, nor counted", async () => {
    expect((await putMessagesOnce(db, [incoming("a", 10), incoming("b", 20), incoming("a", 10)], () => 100)).map((m) => m.id)).toEqual(["a", "b"]);
    const fresh = await putMessagesOnce(db, [incoming("b", 20, "changed"), incoming("c", 30), incoming("a", 10, "changed")], () => 200);
    expect(fresh.map((m) => m.id)).toEqual(["c"]);
    expect((await db.messages.toArray()).map((m) => [m.id, m.text])).toEqual([
      ["a", "text of a"],
      ["b", "text of b"],
      ["c", "text of c"],
    ]);
    const conv = await db.conversations.get(CONV);
    expect(conv?.unread).toBe(3);
    expect(conv?.lastMessageId).toBe("c");
    expect(await putMessagesOnce(db, [incoming("c", 30)], () => 300)).toEqual([]);
    expect((await db.conversations.get(CONV))?.lastActivity).toBe(200);
  });

  it("with the conversations known (as a commit passes them), it folds the same way, an older message not becoming the last", async () => {
    await putMessagesOnce(db, [incoming("a", 10), incoming("b", 50)], () => 100);
    await db.transaction("rw", [db.messages, db.conversations], async () => {
      const known = new Map([[CONV, (await db.conversations.get(CONV))!]]);
      const fresh = await putMessagesOnce(db, [incoming("b", 50, "changed"), incoming("c", 30), incoming("d", 40)], () => 200, known);
      expect(fresh.map((m) => m.id)).toEqual(["c", "d"]);
    });
    const conv = await db.conversations.get(CONV);
    expect(conv?.lastMessageId).toBe("b");
    expect(conv?.lastPreview).toBe("text of b");
    expect(conv?.unread).toBe(4);
    expect(conv?.lastActivity).toBe(200);
  });

  it("inside a transaction, a refused repeat does not abort the other writes", async () => {
    await putMessagesOnce(db, [incoming("a", 10)], () => 100);
    await db.transaction("rw", [db.messages, db.conversations, db.pendingAcks], async () => {
      expect((await putMessagesOnce(db, [incoming("a", 10), incoming("b", 20)], () => 200)).map((m) => m.id)).toEqual(["b"]);
      await db.pendingAcks.put({ key: "batch:x", envelopes: [] });
    });
    expect(await db.messages.count()).toBe(2);
    expect(await db.pendingAcks.count()).toBe(1);
    expect((await db.conversations.get(CONV))?.unread).toBe(2);
  });

  it("any other failure is thrown and aborts the transaction", async () => {
    const bad = { ...incoming("x", 10), id: undefined } as unknown as MessageRow;
    await expect(
      db.transaction("rw", [db.messages, db.conversations], async () => {
        await putMessagesOnce(db, [incoming("y", 10), bad], () => 100);
      }),
    ).rejects.toThrow();
    expect(await db.messages.count()).toBe(0);
  });
});

describe("markIncomingRead", () => {
  it("lowers unread by exactly the unread incoming messages named, once, never below zero", async () => {
    await putMessagesOnce(db, [incoming("a", 10), incoming("b", 20), incoming("c", 30)], () => 100);
    await db.messages.put({ ...incoming("mine", 40), direction: "out", state: "sent" });
    expect((await markIncomingRead(db, CONV, ["a", "b", "mine", "nothere"], 500)).map((m) => m.id)).toEqual(["a", "b"]);
    expect(await db.conversations.get(CONV)).toMatchObject({ unread: 1, hasUnread: 1 });
    expect(await markIncomingRead(db, CONV, ["a", "b"], 600)).toEqual([]);
    expect((await db.conversations.get(CONV))?.unread).toBe(1);
    expect(await db.messages.get("a")).toMatchObject({ state: "read", readAt: 500 });
    expect((await db.messages.get("mine"))?.readAt).toBeUndefined();
    // a count that was already lower (read elsewhere) does not go negative
    await db.conversations.update(CONV, { unread: 0, hasUnread: 0 });
    await markIncomingRead(db, CONV, ["c"], 700);
    expect(await db.conversations.get(CONV)).toMatchObject({ unread: 0, hasUnread: 0 });
  });

  it("without ids: every unread incoming message, and unread goes to zero", async () => {
    await putMessagesOnce(db, [incoming("a", 10), incoming("b", 20)], () => 100);
    expect((await markIncomingRead(db, CONV, undefined, 500)).length).toBe(2);
    expect(await db.conversations.get(CONV)).toMatchObject({ unread: 0, hasUnread: 0 });
  });
});
