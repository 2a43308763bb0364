// Applying syncs on one device (no relay): each item by its clock, whatever order they come in, once.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { JunctionDB, type MessageRow } from "../../store/db";
import { newConversation } from "../../store/conversations";
import { randomId } from "../../store/ids";
import { inTransaction } from "../../store/transactions";
import type { SyncContent } from "../content/kinds/sync";
import { parseContent } from "../content/envelope";
import { applySync, readOnArrival, syncApplyTables } from "./apply";
import { markReadLocal } from "../actions";

const our = "messenger:alice.smith" as const;
const bob = "whatsapp:+15551234567" as const;
const convId = `${our}|${bob}`;

async function fresh() {
  const db = new JunctionDB(`sync-${randomId()}`);
  await db.conversations.put(newConversation(our, bob, 1));
  return db;
}

const sync = (items: unknown[]) => ({ v: 1, type: "sync", id: randomId(), sentAt: 1, items }) as SyncContent;

function apply(db: JunctionDB, content: SyncContent) {
  return inTransaction(db, [db.conversations, db.messages, db.outbox, ...db.tables.filter((t) => ["media", "mediaChunks", "transfers", "attachmentKeys", "searchBlocks"].includes(t.name)), ...syncApplyTables(db)], (tx) => applySync(tx, our, content, 100));
}

function incoming(id: string, sentAt: number): MessageRow {
  return { id, conversationId: convId, direction: "in", text: id, sentAt, receivedAt: sentAt, state: "delivered", sentToRelayAt: null, deliveredAt: null };
}

describe("applying a sync", () => {
  it("keeps the newest change of each item, in whatever order they come", async () => {
    const db = await fresh();
    const pin = (on: boolean, at: number) => sync([{ t: "conv", c: bob, field: "pinned", on, at }]);
    expect(await apply(db, pin(false, 300))).toMatchObject({ applied: 1 });
    // older, arriving late: nothing changes
    expect(await apply(db, pin(true, 200))).toMatchObject({ applied: 0, stale: 1 });
    expect((await db.conversations.get(convId))?.pinnedAt).toBeUndefined();
    // a copy of the newest, applied twice: still once
    expect(await apply(db, pin(false, 300))).toMatchObject({ stale: 1 });
    expect(await apply(db, pin(true, 400))).toMatchObject({ applied: 1 });
    expect((await db.conversations.get(convId))?.pinnedAt).toBe(400);
    // fields are separate items: an old mute still applies after a newer pin
    expect(await apply(db, sync([{ t: "conv", c: bob, field: "muted", on: true, at: 50 }]))).toMatchObject({ applied: 1 });
  });

  it("a read position only moves forward, and a message that comes later under it is stored read", async () => {
    const db = await fresh();
    await db.messages.bulkPut([incoming("message-aa01", 10), incoming("message-aa02", 20), incoming("message-aa03", 30)]);
    await db.conversations.update(convId, { unread: 3, hasUnread: 1 });
    expect(await apply(db, sync([{ t: "read", c: bob, upTo: 20 }]))).toMatchObject({ applied: 1 });
    expect((await db.conversations.get(convId))?.unread).toBe(1);
    expect(await apply(db, sync([{ t: "read", c: bob, upTo: 15 }]))).toMatchObject({ stale: 1 });
    // a message read on the other device reaches this one only now
    const late = incoming("message-aa00", 5);
    await db.messages.put(late);
    await db.conversations.update(convId, { unread: 2 });
    await inTransaction(db, [db.conversations, db.messages, db.syncClock], (tx) => readOnArrival(tx, [late], 100));
    expect((await db.messages.get("message-aa00"))?.state).toBe("read");
    expect((await db.conversations.get(convId))?.unread).toBe(1);
  });

  it("what I read on this device is no position: a message from a peer whose clock runs behind still comes unread", async () => {
    const db = await fresh();
    await db.messages.put(incoming("message-bb02", 20));
    await db.conversations.update(convId, { unread: 1, hasUnread: 1 });
    await markReadLocal(db, { conversationId: convId }, 50);
    const behind = incoming("message-bb01", 10);
    await db.messages.put(behind);
    await inTransaction(db, [db.conversations, db.messages, db.syncClock], (tx) => readOnArrival(tx, [behind], 100));
    expect((await db.messages.get("message-bb01"))?.state).toBe("delivered");
  });

  it("skips items it does not know (or cannot read) and applies the rest", async () => {
    const db = await fresh();
    const items = [{ t: "future", x: 1 }, { t: "conv", c: "nobody", field: "pinned", on: true, at: 5 }, { t: "conv", c: bob, field: "archived", on: true, at: 5 }];
    const content = parseContent(JSON.stringify(sync(items)));
    expect(content.type).toBe("sync");
    expect(await apply(db, content as SyncContent)).toMatchObject({ applied: 1, skipped: 2 });
    expect((await db.conversations.get(convId))?.pinnedAt).toBeUndefined();
    expect((await db.conversations.get(convId))?.archived).toBe(1);
  });

  it("a contact or person item about one of my own accounts changes nothing", async () => {
    const db = await fresh();
    await db.accounts.put({ address: our, brand: "messenger", handle: "alice.smith", displayName: "Alice", identityKey: new Uint8Array(33), createdAt: 1 });
    expect(await apply(db, sync([{ t: "contact", address: our, nickname: "me", added: true, at: 5 }, { t: "person", address: bob, to: our, at: 5 }]))).toMatchObject({ stale: 1, refused: 1 });
    expect(await db.addressBook.count()).toBe(0);
  });
});
