// The local RPC handlers (any tab serves them) against fake-indexeddb.
import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Address } from "../brands";
import { JunctionDB, conversationId, type ConversationRow, type IdentityRow, type MessageRow } from "../store/db";
import { newConversation } from "../store/conversations";
import { identityId } from "../store/ids";
import { EngineError } from "../worker/rpc";
import { localHandlers, type HandlerDeps } from "./api";
import { acceptIdentityLocal, markVerifiedLocal, retryMessageLocal } from "./local";

const ME: Address = "whatsapp:+15550000001";
const PEER: Address = "instagram:@dana";
const CONV = conversationId(ME, PEER);

let db: JunctionDB;

beforeEach(async () => {
  db = new JunctionDB(`local-test-${Math.random().toString(36).slice(2)}`);
  await db.open();
});

afterEach(async () => {
  db.close();
  await db.delete();
});

function message(id: string, patch: Partial<MessageRow> = {}): MessageRow {
  return {
    id,
    conversationId: CONV,
    direction: "out",
    text: `text of ${id}`,
    sentAt: 1_000,
    receivedAt: 1_000,
    state: "failed",
    sentToRelayAt: null,
    deliveredAt: null,
    ...patch,
  };
}

async function seed(messages: MessageRow[], last = messages[messages.length - 1]): Promise<ConversationRow> {
  const conv: ConversationRow = {
    ...newConversation(ME, PEER, 500),
    lastMessageId: last?.id ?? null,
    lastPreview: last?.text ?? "",
    lastDirection: last?.direction ?? null,
    lastState: last?.direction === "out" ? last.state : null,
    lastActivity: last?.sentAt ?? 500,
  };
  await db.conversations.put(conv);
  await db.messages.bulkPut(messages);
  return conv;
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    return (error as EngineError).code;
  }
  throw new Error("expected a refusal");
}

describe("retryMessage", () => {
  it("requeues my failed message: state queued, reason cleared, the conversation mirrors it, one outbox row", async () => {
    await seed([message("m1", { state: "failed", error: "their keys could not be verified" })]);
    await retryMessageLocal(db, { conversationId: CONV, messageId: "m1" }, 5_000);

    const msg = await db.messages.get("m1");
    expect(msg?.state).toBe("queued");
    expect(msg && "error" in msg).toBe(false);
    expect(msg?.sentAt).toBe(1_000);
    expect((await db.conversations.get(CONV))?.lastState).toBe("queued");
    const outbox = await db.outbox.toArray();
    expect(outbox).toEqual([{ seq: expect.any(Number), kind: "message", conversationId: CONV, messageId: "m1", createdAt: 5_000, attempts: 0 }]);
  });

  it("leaves the conversation's last state alone when the retried message is not the last one", async () => {
    const later = message("m2", { direction: "in", state: "delivered", sentAt: 2_000 });
    await seed([message("m1"), later], later);
    await retryMessageLocal(db, { conversationId: CONV, messageId: "m1" }, 5_000);
    const conv = await db.conversations.get(CONV);
    expect(conv?.lastMessageId).toBe("m2");
    expect(conv?.lastState).toBeNull();
  });

  it("refuses a message that is not failed, or not mine, and changes nothing", async () => {
    await seed([message("sent", { state: "sent" }), message("queued", { state: "queued", sentAt: 1_001 }), message("theirs", { direction: "in", state: "delivered", sentAt: 1_002 })]);
    for (const id of ["sent", "queued", "theirs"]) {
      expect(await codeOf(retryMessageLocal(db, { conversationId: CONV, messageId: id }, 5_000)), id).toBe("bad_request");
    }
    expect((await db.messages.get("sent"))?.state).toBe("sent");
    expect((await db.messages.get("queued"))?.state).toBe("queued");
    expect((await db.messages.get("theirs"))?.state).toBe("delivered");
    expect(await db.outbox.count()).toBe(0);
  });

  it("refuses an unknown message, or one from another conversation", async () => {
    await seed([message("m1")]);
    expect(await codeOf(retryMessageLocal(db, { conversationId: CONV, messageId: "nope" }, 5_000))).toBe("not_found");
    expect(await codeOf(retryMessageLocal(db, { conversationId: conversationId(ME, "messenger:someone.else"), messageId: "m1" }, 5_000))).toBe("not_found");
    expect((await db.messages.get("m1"))?.state).toBe("failed");
    expect(await db.outbox.count()).toBe(0);
  });

  it("is atomic: when the outbox write fails, the message stays failed", async () => {
    await seed([message("m1", { error: "refused" })]);
    // the last write of the transaction fails: the state change before it must not survive
    const original = db.outbox.add.bind(db.outbox);
    db.outbox.add = (() => Promise.reject(new Error("disk full"))) as unknown as typeof db.outbox.add;
    try {
      await expect(retryMessageLocal(db, { conversationId: CONV, messageId: "m1" }, 5_000)).rejects.toThrow("disk full");
    } finally {
      db.outbox.add = original;
    }
    const msg = await db.messages.get("m1");
    expect(msg?.state).toBe("failed");
    expect(msg?.error).toBe("refused");
    expect((await db.conversations.get(CONV))?.lastState).toBe("failed");
    expect(await db.outbox.count()).toBe(0);
  });

  it("never leaves two outbox rows for one message", async () => {
    await seed([message("m1")]);
    await db.outbox.add({ kind: "message", conversationId: CONV, messageId: "m1", createdAt: 900, attempts: 3 });
    await retryMessageLocal(db, { conversationId: CONV, messageId: "m1" }, 5_000);
    const rows = await db.outbox.where("messageId").equals("m1").toArray();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ createdAt: 5_000, attempts: 0 });
  });

  it("as an RPC handler, pokes the engine after queuing", async () => {
    await seed([message("m1")]);
    let pokes = 0;
    const deps: HandlerDeps = { db, now: () => 7_000, status: () => ({ online: true, leader: true }), poke: () => (pokes += 1) };
    await localHandlers(deps).retryMessage({ conversationId: CONV, messageId: "m1" });
    expect(pokes).toBe(1);
    expect((await db.outbox.toArray())[0]?.createdAt).toBe(7_000);
    await expect(localHandlers(deps).retryMessage({ conversationId: CONV, messageId: "m1" })).rejects.toMatchObject({ code: "bad_request" });
    expect(pokes).toBe(1);
  });
});

describe("acceptIdentity", () => {
  function identity(patch: Partial<IdentityRow> = {}): IdentityRow {
    return {
      id: identityId(ME, PEER),
      ourAddress: ME,
      theirAddress: PEER,
      identityKey: new Uint8Array([5, 1, 2, 3]),
      verified: false,
      changedAt: 4_000,
      firstSeenAt: 100,
      awaitingAcceptance: true,
      ...patch,
    };
  }

  it("clears the hold and the change warning, and keeps the contact unverified", async () => {
    await seed([]);
    await db.identities.put(identity());
    await acceptIdentityLocal(db, { conversationId: CONV });
    const row = await db.identities.get(identityId(ME, PEER));
    expect(row).toMatchObject({ awaitingAcceptance: false, changedAt: null, verified: false });
    expect(row?.identityKey).toEqual(new Uint8Array([5, 1, 2, 3]));
  });

  it("as an RPC handler, pokes the engine so the held messages go", async () => {
    await seed([]);
    await db.identities.put(identity());
    let pokes = 0;
    const deps: HandlerDeps = { db, now: () => 7_000, status: () => ({ online: true, leader: true }), poke: () => (pokes += 1) };
    await localHandlers(deps).acceptIdentity({ conversationId: CONV });
    expect(pokes).toBe(1);
    expect((await db.identities.get(identityId(ME, PEER)))?.awaitingAcceptance).toBe(false);
  });

  it("verifying the new key releases the hold too; clearing verification does not", async () => {
    await seed([]);
    await db.identities.put(identity());
    await markVerifiedLocal(db, { conversationId: CONV, verified: false });
    expect(await db.identities.get(identityId(ME, PEER))).toMatchObject({ awaitingAcceptance: true, changedAt: null, verified: false });
    await markVerifiedLocal(db, { conversationId: CONV, verified: true });
    expect(await db.identities.get(identityId(ME, PEER))).toMatchObject({ awaitingAcceptance: false, verified: true });
  });

  it("refuses an unknown conversation or a peer whose key is not known yet", async () => {
    expect(await codeOf(acceptIdentityLocal(db, { conversationId: CONV }))).toBe("not_found");
    await seed([]);
    expect(await codeOf(acceptIdentityLocal(db, { conversationId: CONV }))).toBe("not_found");
  });
});
