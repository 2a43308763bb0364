// Applying syncs on one device (no relay): each item by its clock, whatever order they come in, once.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { JunctionDB, SYNC_PENDING_MAX, SYNC_PENDING_TTL_MS, type ConversationRow, type MessageRow } from "../../store/db";
import { newConversation, putMessagesOnce } from "../../store/conversations";
import { randomId } from "../../store/ids";
import { inTransaction } from "../../store/transactions";
import type { SyncContent } from "../content/kinds/sync";
import { parseContent } from "../content/envelope";
import { applyHeld, applySync, readOnArrival, syncApplyTables } from "./apply";
import { clockKey, localClock } from "./queue";
import { markReadLocal } from "../actions";
import { Counters } from "../log";
import { runMaintenance } from "../maintenance";

const our = "messenger:alice.smith" as const;
const bob = "whatsapp:+15551234567" as const;
const convId = `${our}|${bob}`;

async function fresh() {
  const db = new JunctionDB(`sync-${randomId()}`);
  await db.conversations.put(newConversation(our, bob, 1));
  return db;
}

const sync = (items: unknown[]) => ({ v: 1, type: "sync", id: randomId(), sentAt: 1, items }) as SyncContent;

function commitTables(db: JunctionDB) {
  return [db.conversations, db.messages, db.outbox, ...db.tables.filter((t) => ["media", "mediaChunks", "transfers", "attachmentKeys", "searchBlocks"].includes(t.name)), ...syncApplyTables(db)];
}

function apply(db: JunctionDB, content: SyncContent, now = 100, account: typeof our | typeof bob = our) {
  return inTransaction(db, commitTables(db), (tx) => applySync(tx, account, content, now));
}

/** What a receive commit does with messages that reach this device: stores them once, then applies what was held for them. */
function arrive(db: JunctionDB, rows: MessageRow[], conversations: string[] = []) {
  return inTransaction(db, commitTables(db), async (tx) => {
    const fresh = await putMessagesOnce(tx, rows, (m) => m.sentAt);
    return applyHeld(tx, fresh, [...new Set([...fresh.map((m) => m.conversationId), ...conversations])]);
  });
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

  it("a delete for me that comes before its message: the message never shows, nor when it is sent again", async () => {
    const db = await fresh();
    expect(await apply(db, sync([{ t: "deleteForMe", c: bob, ids: ["message-cc01"] }]))).toMatchObject({ held: 1, applied: 0 });
    // the same delete again (from another of my devices): held once, counted once
    expect(await apply(db, sync([{ t: "deleteForMe", c: bob, ids: ["message-cc01"] }]))).toMatchObject({ held: 0, stale: 1 });
    expect(await db.syncPending.count()).toBe(1);
    const unseen = incoming("message-cc01", 10);
    expect(await arrive(db, [unseen, incoming("message-cc02", 20)])).toBe(1);
    expect(await db.messages.get("message-cc01")).toBeUndefined();
    const conv = await db.conversations.get(convId);
    expect(conv).toMatchObject({ unread: 1, lastMessageId: "message-cc02" });
    // the sender resends it (a session that healed): it goes again
    expect(await arrive(db, [unseen])).toBe(1);
    expect(await db.messages.get("message-cc01")).toBeUndefined();
    expect((await db.conversations.get(convId))?.unread).toBe(1);
  });

  it("a message that came by another way (a history import) is removed by the next housekeeping", async () => {
    const db = await fresh();
    await apply(db, sync([{ t: "deleteForMe", c: bob, ids: ["message-gg01"] }]));
    await inTransaction(db, [db.conversations, db.messages], (tx) => putMessagesOnce(tx, [incoming("message-gg01", 10)], (m) => m.sentAt));
    const counters = new Counters();
    await runMaintenance({ db, log: { warn() {}, info() {} }, counters, now: () => 200 } as never);
    expect(await db.messages.get("message-gg01")).toBeUndefined();
    expect(await db.conversations.get(convId)).toMatchObject({ unread: 0, lastMessageId: null });
    expect(counters.get("sync_released")).toBe(1);
  });

  it("a held delete removes no message of another conversation", async () => {
    const db = await fresh();
    await apply(db, sync([{ t: "deleteForMe", c: bob, ids: ["message-dd01"] }]));
    const elsewhere: MessageRow = { ...incoming("message-dd01", 10), conversationId: `${our}|instagram:@carol` };
    await db.conversations.put(newConversation(our, "instagram:@carol", 1));
    expect(await arrive(db, [elsewhere])).toBe(0);
    expect(await db.messages.get("message-dd01")).toBeDefined();
  });

  it("a pin of a group that is not here yet: the group is pinned when it appears, unless changed here since", async () => {
    const db = await fresh();
    const group = `group:${"ab".repeat(32)}`;
    const groupConv: ConversationRow = { ...newConversation(our, bob, 1), id: `${our}|${group}`, groupId: "ab".repeat(32) };
    const items = [
      { t: "conv", c: group, field: "pinned", on: true, at: 300 },
      { t: "conv", c: group, field: "muted", on: true, at: 300 },
    ];
    expect(await apply(db, sync(items))).toMatchObject({ held: 2 });
    // an older pin arriving late changes nothing, held or not
    expect(await apply(db, sync([{ t: "conv", c: group, field: "pinned", on: false, at: 200 }]))).toMatchObject({ stale: 1 });
    // muted off here after the mute (a newer clock): the held mute does not undo it
    await inTransaction(db, [db.syncClock], (tx) => localClock(tx, clockKey.conv(groupConv.id, "muted"), 400));
    await db.conversations.put(groupConv);
    expect(await arrive(db, [], [groupConv.id])).toBe(1);
    expect((await db.conversations.get(groupConv.id))?.pinnedAt).toBe(300);
    expect((await db.conversations.get(groupConv.id))?.muted).toBeFalsy();
    expect(await db.syncPending.count()).toBe(0);
  });

  it("held items are bounded per account, the oldest delete going first, and expire after 30 days", async () => {
    const db = await fresh();
    const group = `group:${"cd".repeat(32)}`;
    await apply(db, sync([{ t: "conv", c: group, field: "pinned", on: true, at: 50 }]), 50);
    await apply(db, sync([{ t: "deleteForMe", c: bob, ids: ["message-ee00"] }]), 100);
    await apply(db, sync([{ t: "deleteForMe", c: our, ids: ["message-ee01"] }]), 100, bob);
    // a flood from one account: 5,500 ids
    const flood = Array.from({ length: 11 }, (_, k) => ({ t: "deleteForMe", c: bob, ids: Array.from({ length: 500 }, (_, i) => `message-f${String(k * 500 + i).padStart(5, "0")}`) }));
    await apply(db, sync(flood), 200);
    expect(await db.syncPending.where("[ourAddress+receivedAt]").between([our, 0], [our, Infinity]).count()).toBe(SYNC_PENDING_MAX);
    expect(await db.syncPending.get("deleteForMe|message-ee00")).toBeUndefined();
    // the group's held pin, older than every delete, is not pushed out by them
    expect(await db.syncPending.where("target").equals(`${our}|${group}`).count()).toBe(1);
    // another account's are its own
    expect(await db.syncPending.get("deleteForMe|message-ee01")).toBeDefined();
    // 30 days on, what came at 100 is gone; what came at 200 is still held
    const ctx = { db, log: { warn() {}, info() {} }, counters: new Counters(), now: () => 100 + SYNC_PENDING_TTL_MS + 1 };
    await runMaintenance(ctx as never);
    expect(await db.syncPending.get("deleteForMe|message-ee01")).toBeUndefined();
    // and the pin, held since 50: the flood's 4,999 deletes are left
    expect(await db.syncPending.count()).toBe(SYNC_PENDING_MAX - 1);
  });

  it("a contact or person item about one of my own accounts changes nothing", async () => {
    const db = await fresh();
    await db.accounts.put({ address: our, brand: "messenger", handle: "alice.smith", displayName: "Alice", identityKey: new Uint8Array(33), createdAt: 1 });
    expect(await apply(db, sync([{ t: "contact", address: our, nickname: "me", added: true, at: 5 }, { t: "person", address: bob, to: our, at: 5 }]))).toMatchObject({ stale: 1, refused: 1 });
    expect(await db.addressBook.count()).toBe(0);
  });
});
