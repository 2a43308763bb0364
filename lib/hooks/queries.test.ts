import "fake-indexeddb/auto";
import { describe, expect, it, beforeEach } from "vitest";
import type { Address } from "../brands";
import { conversationId, type ConversationRow } from "../store/db";
import { conversation, freshDb, message } from "./testRows";
import { queryInbox, queryMessageWindow, queryUnreadTotal } from "./queries";

const t = freshDb("hooks-test");

const MY_WA: Address = "whatsapp:+15550000001";
const MY_IG: Address = "instagram:@carol";

describe("queryInbox", () => {
  beforeEach(async () => {
    await t.db.conversations.bulkPut([
      conversation(MY_WA, "messenger:dave.smith", 300, 2),
      conversation(MY_IG, "whatsapp:+15550000009", 500),
      conversation(MY_WA, "instagram:@erin", 100),
      conversation(MY_IG, "messenger:frank.m", 400, 1),
    ]);
    await t.db.contacts.put({ address: "messenger:dave.smith", displayName: "Dave", updatedAt: 1 });
  });

  it("lists every conversation of every account, newest activity first", async () => {
    const { rows, truncated } = await queryInbox(t.db, "all", Infinity);
    expect(rows.map((r) => r.theirAddress)).toEqual(["whatsapp:+15550000009", "messenger:frank.m", "messenger:dave.smith", "instagram:@erin"]);
    expect(truncated).toBe(false);
  });

  it("filters a brand by the account of mine that holds the conversation, not by the peer's brand", async () => {
    const whatsapp = await queryInbox(t.db, "whatsapp", Infinity);
    expect(whatsapp.rows.map((r) => r.theirAddress)).toEqual(["messenger:dave.smith", "instagram:@erin"]);
    const messenger = await queryInbox(t.db, "messenger", Infinity);
    expect(messenger.rows).toEqual([]);
  });

  it("shows only conversations with unread messages under Unread", async () => {
    const { rows } = await queryInbox(t.db, "unread", Infinity);
    expect(rows.map((r) => r.theirAddress)).toEqual(["messenger:frank.m", "messenger:dave.smith"]);
  });

  it("stops at the limit and says more exist", async () => {
    const { rows, truncated, total } = await queryInbox(t.db, "all", 2);
    expect(rows).toHaveLength(2);
    expect(truncated).toBe(true);
    expect(total).toBe(4);
    expect((await queryInbox(t.db, "unread", 1)).total).toBe(2);
    expect((await queryInbox(t.db, "all", 4)).truncated).toBe(false);
  });

  it("names peers as they named themselves, and only those who did", async () => {
    const { names } = await queryInbox(t.db, "all", Infinity);
    expect(names.get("messenger:dave.smith")).toBe("Dave");
    expect(names.has("instagram:@erin")).toBe(false);
  });

  it("totals unread counts across accounts", async () => {
    expect(await queryUnreadTotal(t.db)).toBe(3);
  });

  it("puts pinned conversations first, newest pin first", async () => {
    await t.db.conversations.update(conversationId(MY_WA, "instagram:@erin"), { pinnedAt: 10 });
    await t.db.conversations.update(conversationId(MY_WA, "messenger:dave.smith"), { pinnedAt: 20 });
    const { rows } = await queryInbox(t.db, "all", Infinity);
    expect(rows.map((r) => r.theirAddress)).toEqual(["messenger:dave.smith", "instagram:@erin", "whatsapp:+15550000009", "messenger:frank.m"]);
  });

  it("puts a pinned conversation first even when it is older than the first page, and counts rows once", async () => {
    // erin's is the oldest: a first page of 2 ordered by activity alone would not reach it
    await t.db.conversations.update(conversationId(MY_WA, "instagram:@erin"), { pinnedAt: 10 });
    const page = await queryInbox(t.db, "all", 2);
    expect(page.rows.map((r) => r.theirAddress)).toEqual(["instagram:@erin", "whatsapp:+15550000009"]);
    expect(page).toMatchObject({ truncated: true, total: 4 });
    // a pin of another brand's account stays out of this brand's view
    expect((await queryInbox(t.db, "instagram", 5)).rows.map((r) => r.theirAddress)).toEqual(["whatsapp:+15550000009", "messenger:frank.m"]);
    expect((await queryInbox(t.db, "whatsapp", 1)).rows.map((r) => r.theirAddress)).toEqual(["instagram:@erin"]);
    expect((await queryInbox(t.db, "whatsapp", 1)).total).toBe(2);
  });

  it("counts and pages without the archived rows of a view", async () => {
    await t.db.conversations.update(conversationId(MY_IG, "whatsapp:+15550000009"), { archived: 1 });
    const page = await queryInbox(t.db, "all", 2);
    expect(page.rows.map((r) => r.theirAddress)).toEqual(["messenger:frank.m", "messenger:dave.smith"]);
    expect(page).toMatchObject({ truncated: true, total: 3 });
    expect((await queryInbox(t.db, "archived", 1)).total).toBe(1);
  });

  it("keeps archived conversations out of every view but Archived", async () => {
    await t.db.conversations.update(conversationId(MY_IG, "messenger:frank.m"), { archived: 1 });
    expect((await queryInbox(t.db, "all", Infinity)).rows.map((r) => r.theirAddress)).not.toContain("messenger:frank.m");
    expect((await queryInbox(t.db, "unread", Infinity)).rows.map((r) => r.theirAddress)).toEqual(["messenger:dave.smith"]);
    expect((await queryInbox(t.db, "archived", Infinity)).rows.map((r) => r.theirAddress)).toEqual(["messenger:frank.m"]);
    expect((await queryInbox(t.db, "all", 2)).rows).toHaveLength(2);
  });

  it("leaves muted conversations out of the badge total", async () => {
    await t.db.conversations.update(conversationId(MY_WA, "messenger:dave.smith"), { muted: true });
    expect(await queryUnreadTotal(t.db)).toBe(1);
  });
});

describe("queryMessageWindow", () => {
  const conv = conversationId(MY_WA, "messenger:dave.smith");

  it("returns the newest messages oldest first, and whether older ones exist", async () => {
    await t.db.messages.bulkPut(Array.from({ length: 10 }, (_, i) => message(conv, `m${i}`, 1000 + i)));
    await t.db.messages.put(message(conversationId(MY_IG, "messenger:frank.m"), "other", 1005));
    const window = await queryMessageWindow(t.db, conv, 4);
    expect(window.messages.map((m) => m.id)).toEqual(["m6", "m7", "m8", "m9"]);
    expect(window.hasOlder).toBe(true);
    const all = await queryMessageWindow(t.db, conv, 10);
    expect(all.messages).toHaveLength(10);
    expect(all.hasOlder).toBe(false);
  });

  it("orders by the sender's clock, then by arrival", async () => {
    await t.db.messages.bulkPut([message(conv, "late", 2000, 5), message(conv, "b", 1000, 9), message(conv, "a", 1000, 3)]);
    const { messages } = await queryMessageWindow(t.db, conv, 10);
    expect(messages.map((m) => m.id)).toEqual(["a", "b", "late"]);
  });
});

describe("queryInbox: the Groups chip", () => {
  it("shows group conversations only, newest first, and not archived ones", async () => {
    const group = (gid: string, at: number, archived = false): ConversationRow => ({
      ...conversation(MY_IG, MY_IG, at),
      id: `${MY_IG}|group:${gid}`,
      groupId: gid,
      groupName: `Group ${gid}`,
      groupBrands: ["instagram", "whatsapp"],
      ...(archived ? { archived: 1 as const } : {}),
    });
    const rows = [group("a".repeat(64), 100), group("b".repeat(64), 300), group("c".repeat(64), 200, true)];
    await t.db.conversations.bulkPut([...rows, conversation(MY_WA, "messenger:dave.smith", 400)]);
    await t.db.groups.bulkPut(
      rows.map((r) => ({
        id: `${MY_IG}|${r.groupId}`,
        ourAddress: MY_IG,
        groupId: r.groupId!,
        conversationId: r.id,
        name: r.groupName!,
        members: [],
        timerMs: 0,
        addPolicy: "admins" as const,
        version: 1,
        headHash: new Uint8Array(32),
        chain: [],
        keySentTo: [],
        updatedAt: 0,
      })),
    );
    const inbox = await queryInbox(t.db, "groups", 50);
    expect(inbox.rows.map((r) => r.groupName)).toEqual([`Group ${"b".repeat(64)}`, `Group ${"a".repeat(64)}`]);
    expect(inbox.total).toBe(2);
    const all = await queryInbox(t.db, "all", 50);
    expect(all.rows).toHaveLength(3);
  });
});
