// The search index follows every write of a message in the same transaction: store, edit, delete for
// everyone, delete for me, expiry, a whole clear; and a database from before the index is backfilled.
import "fake-indexeddb/auto";
import Dexie from "dexie";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Address } from "../brands";
import { JunctionDB, conversationId, type MessageRow } from "./db";
import { deletedForEveryone, ensureConversation, putMessagesOnce } from "./conversations";
import { BACKFILL_KEY, backfillSearchIndex, entriesOf } from "./search";
import { searchLocal } from "../engine/search";
import { deleteMessageLocal, editMessageLocal } from "../engine/actions";
import { sweepExpired } from "../engine/disappearing";
import { Counters, silentLogger } from "../engine/log";
import type { EngineContext } from "../engine/context";

const ME: Address = "whatsapp:+15550000001";
const PEER: Address = "instagram:@dana";
const CONV = conversationId(ME, PEER);
const NOW = 1_800_000_000_000;

let db: JunctionDB;

beforeEach(async () => {
  db = new JunctionDB(`search-test-${Math.random().toString(36).slice(2)}`);
  await db.open();
  await ensureConversation(db, ME, PEER, 1);
});

afterEach(async () => {
  db.close();
  await db.delete();
});

function message(id: string, text: string, extra: Partial<MessageRow> = {}): MessageRow {
  return { id, conversationId: CONV, direction: "in", text, sentAt: NOW - 1000, receivedAt: NOW, state: "delivered", sentToRelayAt: null, deliveredAt: null, ...extra };
}

async function store(...rows: MessageRow[]): Promise<void> {
  await db.transaction("rw", [db.messages, db.conversations], () => putMessagesOnce(db, rows, () => NOW));
}

/** The ids of messages a query finds, newest first. */
async function found(query: string, now = NOW): Promise<string[]> {
  const res = await searchLocal(db, query, 50, now);
  return res.groups.flatMap((g) => g.hits.map((h) => h.messageId));
}

/** Every word the index holds for a message (none when it has no row). */
async function indexed(id: string): Promise<string[]> {
  return (await db.searchBlocks.toArray())
    .flatMap(entriesOf)
    .filter((e) => e.id === id)
    .flatMap((e) => e.tokens);
}

/** How many messages the index holds. */
async function indexedCount(): Promise<number> {
  return (await db.searchBlocks.toArray()).reduce((n, b) => n + b.ids.length, 0);
}

describe("the search index", () => {
  it("indexes a stored message in the transaction that stores it, and a redelivery changes nothing", async () => {
    await store(message("a", "Lunch at the Café tomorrow?"), message("b", "私は東京に住んでいます", { sentAt: NOW - 500 }));
    expect(await found("cafe")).toEqual(["a"]);
    expect(await found("東京")).toEqual(["b"]);
    expect(await found("tom")).toEqual(["a"]);
    // the same id again with other words: refused as a duplicate, and the index keeps what is stored
    await store(message("a", "something else entirely"));
    expect(await found("cafe")).toEqual(["a"]);
    expect(await found("entirely")).toEqual([]);
  });

  it("reports the messages written to other threads' live queries, but not the index's words", async () => {
    const reported: string[] = [];
    const listen = (parts: Record<string, unknown>) => reported.push(...Object.keys(parts));
    Dexie.on("storagemutated", listen);
    try {
      await store(message("a", "alpha bravo charlie"), message("b", "delta echo foxtrot", { sentAt: NOW - 500 }));
    } finally {
      Dexie.on("storagemutated").unsubscribe(listen);
    }
    const mine = reported.filter((part) => part.startsWith(`idb://${db.name}/`));
    expect(mine).toContain(`idb://${db.name}/messages/`);
    expect(mine).toContain(`idb://${db.name}/messages/[conversationId+sentAt]`);
    expect(mine.filter((part) => part.includes("/searchBlocks/"))).toEqual([]);
    // and the words are indexed all the same, in the same transaction
    expect(await found("echo")).toEqual(["b"]);
  });

  it("a failed transaction leaves no index row behind", async () => {
    await expect(
      db.transaction("rw", [db.messages, db.conversations], async () => {
        await putMessagesOnce(db, [message("x", "phantom words")], () => NOW);
        throw new Error("crash before commit");
      }),
    ).rejects.toThrow("crash");
    expect(await indexedCount()).toBe(0);
  });

  it("follows an edit: the old words go, the new ones are found", async () => {
    const conv = await db.conversations.get(CONV);
    await db.messages.put(message("m", "see you at the station", { direction: "out", sentAt: NOW - 60_000, state: "sent" }));
    expect(conv).toBeDefined();
    expect(await found("station")).toEqual(["m"]);
    await editMessageLocal(db, { conversationId: CONV, messageId: "m", text: "see you at the airport" }, NOW);
    expect((await db.messages.get("m"))?.text).toBe("see you at the airport");
    expect(await found("station")).toEqual([]);
    expect(await found("airport")).toEqual(["m"]);
  });

  it("a change that keeps the words (a receipt, a reaction) does not rewrite the row", async () => {
    await store(message("r", "read me"));
    const before = await db.searchBlocks.toArray();
    await db.messages.update("r", { state: "read", readAt: NOW });
    expect(await db.searchBlocks.toArray()).toEqual(before);
    expect(await found("read")).toEqual(["r"]);
  });

  it("forgets a message deleted for everyone (the row stays, its words go)", async () => {
    await db.messages.put(message("d", "a secret plan", { direction: "out", sentAt: NOW - 60_000, state: "sent" }));
    expect(await found("secret")).toEqual(["d"]);
    await deleteMessageLocal(db, { conversationId: CONV, messageId: "d", forEveryone: true }, NOW);
    expect((await db.messages.get("d"))?.deletedAt).toBeDefined();
    expect(await indexed("d")).toEqual([]);
    expect(await found("secret")).toEqual([]);
    // a peer's delete reaches the row through the same put
    await store(message("p", "their secret"));
    await db.messages.put(deletedForEveryone((await db.messages.get("p")) as MessageRow, NOW));
    expect(await indexed("p")).toEqual([]);
  });

  it("forgets a message deleted for me", async () => {
    await store(message("f", "forget this one"));
    await deleteMessageLocal(db, { conversationId: CONV, messageId: "f", forEveryone: false }, NOW);
    expect(await db.messages.get("f")).toBeUndefined();
    expect(await indexedCount()).toBe(0);
  });

  it("a disappearing message leaves nothing: not found once expired, and gone from the index with its row", async () => {
    await store(message("e", "ephemeral words", { expiresAt: NOW + 5_000 }), message("k", "ephemeral but kept", { sentAt: NOW - 2_000 }));
    expect(await found("ephemeral")).toEqual(["e", "k"]);
    // expired but not swept yet: not found all the same
    expect(await found("ephemeral", NOW + 5_000)).toEqual(["k"]);
    const ctx = { db, now: () => NOW + 5_000, counters: new Counters(), log: silentLogger } as unknown as EngineContext;
    expect((await sweepExpired(ctx)).removed).toBe(1);
    expect(await indexed("e")).toEqual([]);
    expect(await indexedCount()).toBe(1);
  });

  it("a clear of the messages clears the index", async () => {
    await store(message("c1", "one"), message("c2", "two"));
    await db.messages.clear();
    expect(await indexedCount()).toBe(0);
  });

  it("indexes only text that is there: not placeholders, timer lines or unsupported content", async () => {
    await store(
      message("w", "", { kind: "waiting" }),
      message("t", "", { kind: "timer", timerMs: 1000 }),
      message("u", "", { kind: "unsupported", content: '{"type":"poll","text":"hidden"}' }),
    );
    expect(await indexedCount()).toBe(0);
  });

  it("finds conversations by the peer's name and address", async () => {
    await db.contacts.put({ address: PEER, displayName: "Dána Écija", updatedAt: 1 });
    const byName = await searchLocal(db, "dana", 10, NOW);
    expect(byName.names.map((n) => [n.conversationId, n.title])).toEqual([[CONV, "Dána Écija"]]);
    expect(byName.names[0]?.ranges).toEqual([[0, 4]]);
    expect((await searchLocal(db, "instagram", 10, NOW)).names).toHaveLength(1);
    expect((await searchLocal(db, "zed", 10, NOW)).names).toHaveLength(0);
  });

  it("finds people I have no conversation with, and names people by the name I gave them", async () => {
    const ADDED: Address = "messenger:frank.ocean";
    const KNOWN: Address = "whatsapp:+15550000077";
    await db.addressBook.put({ address: ADDED, addedAt: NOW, updatedAt: NOW });
    await db.contacts.put({ address: ADDED, displayName: "Frank Ocean", updatedAt: NOW });
    await db.addressBook.put({ address: PEER, nickname: "Dee from climbing", updatedAt: NOW });
    await db.contacts.put({ address: PEER, displayName: "Dana", updatedAt: NOW });
    await db.contacts.put({ address: KNOWN, displayName: "Frankie", updatedAt: NOW });
    const res = await searchLocal(db, "fran", 10, NOW);
    // no conversation with either: they come as contacts, by the name they gave themselves
    expect(res.contacts.map((c) => [c.address, c.title, c.brand])).toEqual([
      [ADDED, "Frank Ocean", "messenger"],
      [KNOWN, "Frankie", "whatsapp"],
    ]);
    expect(res.contacts[0]?.ranges).toEqual([[0, 4]]);
    expect(res.names).toEqual([]);
    // my nickname for someone I talk to finds the conversation and is its title; not twice as a contact
    const climbing = await searchLocal(db, "climbing", 10, NOW);
    expect(climbing.names.map((n) => [n.conversationId, n.title])).toEqual([[CONV, "Dee from climbing"]]);
    expect(climbing.contacts).toEqual([]);
  });

  it("names are read once and read again after any write to them (a new contact, a new conversation)", async () => {
    const ZARA: Address = "whatsapp:+15550000099";
    expect((await searchLocal(db, "zara", 10, NOW)).contacts).toEqual([]);
    await db.contacts.put({ address: ZARA, displayName: "Zara Lane", updatedAt: NOW });
    expect((await searchLocal(db, "zara", 10, NOW)).contacts.map((c) => c.address)).toEqual([ZARA]);
    await ensureConversation(db, ME, ZARA, NOW);
    const after = await searchLocal(db, "zara", 10, NOW);
    expect(after.contacts).toEqual([]);
    expect(after.names.map((n) => n.theirAddress)).toEqual([ZARA]);
  });

  it("finds a group by its name (not by its id) and titles its messages with it", async () => {
    const hex = "ab".repeat(32);
    const GROUP_CONV = `${ME}|group:${hex}`;
    await db.conversations.put({ ...(await db.conversations.get(CONV))!, id: GROUP_CONV, theirAddress: ME, groupId: hex, groupName: "Lighthouse weekend" });
    await db.groups.put({
      id: `${ME}|${hex}`,
      ourAddress: ME,
      groupId: hex,
      conversationId: GROUP_CONV,
      name: "Lighthouse weekend",
      members: [],
      timerMs: 0,
      addPolicy: "admins",
      version: 1,
      headHash: new Uint8Array(32),
      chain: [],
      keySentTo: [],
      updatedAt: NOW,
    });
    await store(message("g1", "lanterns for the lighthouse", { conversationId: GROUP_CONV }));
    const res = await searchLocal(db, "lighthouse", 10, NOW);
    expect(res.names.map((n) => [n.conversationId, n.title])).toEqual([[GROUP_CONV, "Lighthouse weekend"]]);
    expect(res.groups.map((g) => [g.conversationId, g.title])).toEqual([[GROUP_CONV, "Lighthouse weekend"]]);
    // the group's id is no name
    expect((await searchLocal(db, "group", 10, NOW)).names).toEqual([]);
  });

  it("groups hits by conversation, newest first, with a snippet marking the match", async () => {
    const OTHER: Address = "messenger:erin.smith";
    await ensureConversation(db, ME, OTHER, 1);
    await store(
      message("o1", "pizza tonight", { sentAt: NOW - 3000 }),
      message("o2", "more pizza", { sentAt: NOW - 1000, conversationId: conversationId(ME, OTHER) }),
      message("o3", "pizza again", { sentAt: NOW - 2000 }),
    );
    const res = await searchLocal(db, "Pizz", 10, NOW);
    expect(res.groups.map((g) => [g.conversationId, g.hits.map((h) => h.messageId)])).toEqual([
      [conversationId(ME, OTHER), ["o2"]],
      [CONV, ["o3", "o1"]],
    ]);
    const hit = res.groups[1]?.hits[0];
    expect(hit && hit.snippet.slice(...(hit.ranges[0] as [number, number]))).toBe("pizz");
  });

  it("keeps a commit's messages of one conversation in one block, and a change to one leaves the others", async () => {
    await store(message("b1", "orange juice", { sentAt: NOW - 3000, direction: "out", state: "sent" }), message("b2", "orange cake", { sentAt: NOW - 2000 }), message("b3", "apple pie", { sentAt: NOW - 1000 }));
    const blocks = await db.searchBlocks.toArray();
    expect(blocks).toHaveLength(1);
    expect(blocks[0]?.ids).toEqual(["b1", "b2", "b3"]);
    // one index entry per distinct word of the block: "orange" once for two messages
    expect(blocks[0]?.tokens.filter((t) => t === "orange")).toHaveLength(1);
    expect(await found("orange")).toEqual(["b2", "b1"]);
    expect(await found("orange cake")).toEqual(["b2"]);
    // every word must be in the same message, not just in the same block
    expect(await found("orange pie")).toEqual([]);
    await editMessageLocal(db, { conversationId: CONV, messageId: "b1", text: "lemon juice" }, NOW);
    expect(await found("orange")).toEqual(["b2"]);
    expect(await found("lemon")).toEqual(["b1"]);
    await deleteMessageLocal(db, { conversationId: CONV, messageId: "b2", forEveryone: false }, NOW);
    expect(await found("orange")).toEqual([]);
    expect(await found("apple")).toEqual(["b3"]);
    expect((await db.searchBlocks.toArray())[0]?.tokens).not.toContain("orange");
    await deleteMessageLocal(db, { conversationId: CONV, messageId: "b1", forEveryone: false }, NOW);
    await deleteMessageLocal(db, { conversationId: CONV, messageId: "b3", forEveryone: false }, NOW);
    // the last message out takes the block with it
    expect(await db.searchBlocks.count()).toBe(0);
  });

  it("a second write into a block (same conversation, same millisecond) adds to it and loses nothing", async () => {
    await store(message("s1", "first words"));
    await store(message("s2", "second words"));
    expect(await db.searchBlocks.count()).toBe(1);
    expect(await found("words")).toEqual(["s2", "s1"].sort().reverse());
    expect(await found("first")).toEqual(["s1"]);
    expect(await found("second")).toEqual(["s2"]);
  });

  it("reads further back when the newest blocks of the longest word do not match the other words", async () => {
    // 300 messages stored one by one (a block each) say "common"; only the oldest also says "rare"
    const rows = Array.from({ length: 300 }, (_, i) => message(`c${String(i).padStart(3, "0")}`, i === 0 ? "common and rare" : `common ${i}`, { sentAt: NOW - 1_000_000 + i, receivedAt: NOW - 1_000_000 + i }));
    await store(...rows);
    expect(await db.searchBlocks.count()).toBe(300);
    expect(await found("common rare")).toEqual(["c000"]);
    expect((await found("common")).slice(0, 2)).toEqual(["c299", "c298"]);
  });

  it("says whether a larger limit shows more: a first page, then the rest with nothing left", async () => {
    const rows = Array.from({ length: 25 }, (_, i) => message(`p${String(i).padStart(2, "0")}`, `paging line ${i}`, { sentAt: NOW - 1_000_000 + i, receivedAt: NOW - 1_000_000 + i }));
    await store(...rows);
    const first = await searchLocal(db, "paging", 20, NOW);
    const ids = (res: typeof first) => res.groups.flatMap((g) => g.hits.map((h) => h.messageId));
    expect(ids(first)).toEqual(rows.slice(5).reverse().map((r) => r.id));
    expect(first.more).toBe(true);
    const all = await searchLocal(db, "paging", 70, NOW);
    expect(ids(all)).toEqual(rows.map((r) => r.id).reverse());
    expect(all.more).toBe(false);
    // exactly as many as the limit: nothing more
    const exact = await searchLocal(db, "paging", 25, NOW);
    expect(ids(exact)).toHaveLength(25);
    expect(exact.more).toBe(false);
  });

  it("a prefix of several words finds the newest of all of them, not the newest of the last word alone", async () => {
    // the index's keys run word by word: 60 older "birthday" blocks come after the newer "bird" and "birch" ones
    const rows = Array.from({ length: 60 }, (_, i) => message(`h${String(i).padStart(2, "0")}`, `happy birthday ${i}`, { sentAt: NOW - 1_000_000 + i, receivedAt: NOW - 1_000_000 + i }));
    rows.push(message("bird", "a bird sang", { sentAt: NOW - 1000, receivedAt: NOW - 1000 }), message("birch", "under the birch", { sentAt: NOW - 2000, receivedAt: NOW - 2000 }));
    await store(...rows);
    const res = await searchLocal(db, "bir", 10, NOW);
    expect(res.groups.flatMap((g) => g.hits.map((h) => h.messageId))).toEqual(["bird", "birch", "h59", "h58", "h57", "h56", "h55", "h54", "h53", "h52"]);
  });

  it("finds a Chinese or Japanese character inside a word, not only at its start", async () => {
    await store(message("j", "私は東京に住んでいます"));
    expect(await found("東京")).toEqual(["j"]);
    expect(await found("京")).toEqual(["j"]);
    const res = await searchLocal(db, "京", 10, NOW);
    const hit = res.groups[0]?.hits[0];
    expect(hit && hit.snippet.slice(...(hit.ranges[0] as [number, number]))).toBe("京");
    // but a Latin word is found by its start only
    await store(message("l", "understanding"));
    expect(await found("standing")).toEqual([]);
  });

  it("refuses a query that is too long or a limit out of range, with bad_request", async () => {
    await expect(searchLocal(db, "x".repeat(501), 10, NOW)).rejects.toMatchObject({ code: "bad_request" });
    await expect(searchLocal(db, "x", 0, NOW)).rejects.toMatchObject({ code: "bad_request" });
    await expect(searchLocal(db, "x", 1.5, NOW)).rejects.toMatchObject({ code: "bad_request" });
  });
});

describe("a database from before the index", () => {
  it("is indexed in the background, batch by batch, and says so until done", async () => {
    const name = `search-upgrade-${Math.random().toString(36).slice(2)}`;
    // version 5 of the schema, as a build before search wrote it
    const old = new Dexie(name);
    old.version(5).stores({
      accounts: "address, brand",
      contacts: "address",
      identities: "id, ourAddress, theirAddress",
      conversations: "id, lastActivity, [ourBrand+lastActivity], [hasUnread+lastActivity], ourAddress, theirAddress, archived, pinnedAt",
      messages: "id, [conversationId+sentAt], conversationId, kind, expiresAt",
      outbox: "++seq, conversationId, messageId",
      meta: "key",
    });
    await old.open();
    const conv = { ...(await db.conversations.get(CONV)) };
    await old.table("conversations").put(conv);
    await old.table("messages").bulkPut(Array.from({ length: 25 }, (_, i) => message(`old${String(i).padStart(2, "0")}`, `archived note ${i}`, { sentAt: NOW - 10_000 + i })));
    old.close();

    const upgraded = new JunctionDB(name);
    await upgraded.open();
    try {
      expect((await upgraded.meta.get(BACKFILL_KEY))?.value).toBe("");
      expect((await searchLocal(upgraded, "archived", 50, NOW)).indexing).toBe(true);
      let batches = 0;
      while (await backfillSearchIndex(upgraded, 10)) batches += 1;
      expect(batches).toBe(2);
      expect(await upgraded.meta.get(BACKFILL_KEY)).toBeUndefined();
      const res = await searchLocal(upgraded, "archived", 50, NOW);
      expect(res.indexing).toBe(false);
      expect(res.groups[0]?.hits).toHaveLength(25);
      expect(res.groups[0]?.hits[0]?.messageId).toBe("old24");
    } finally {
      upgraded.close();
      await upgraded.delete();
    }
  });

  it("a database with the per-message index of version 8 drops it and is indexed again in blocks", async () => {
    const name = `search-v8-${Math.random().toString(36).slice(2)}`;
    const old = new Dexie(name);
    old.version(8).stores({
      conversations: "id, lastActivity, [ourBrand+lastActivity], [hasUnread+lastActivity], ourAddress, theirAddress, archived, pinnedAt",
      messages: "id, [conversationId+sentAt], conversationId, kind, expiresAt",
      meta: "key",
      searchIndex: "[sentAt+id], *tokens",
    });
    await old.open();
    await old.table("conversations").put({ ...(await db.conversations.get(CONV)) });
    await old.table("messages").bulkPut([message("v1", "kept through the upgrade"), message("v2", "also kept", { sentAt: NOW - 10 })]);
    await old.table("searchIndex").bulkPut([{ sentAt: NOW - 1000, id: "v1", tokens: ["kept", "through", "the", "upgrade"] }]);
    old.close();

    const upgraded = new JunctionDB(name);
    await upgraded.open();
    try {
      expect(upgraded.tables.map((t) => t.name)).not.toContain("searchIndex");
      expect((await upgraded.meta.get(BACKFILL_KEY))?.value).toBe("");
      // a message stored before the backfill reaches the old ones, in the block they go to (same receivedAt)
      await upgraded.transaction("rw", [upgraded.messages, upgraded.conversations], () => putMessagesOnce(upgraded, [message("v3", "kept live", { sentAt: NOW - 5 })], () => NOW));
      while (await backfillSearchIndex(upgraded)) {
        // batch by batch
      }
      const res = await searchLocal(upgraded, "kept", 50, NOW);
      expect(res.groups[0]?.hits.map((h) => h.messageId)).toEqual(["v3", "v2", "v1"]);
      expect(await upgraded.searchBlocks.count()).toBe(1);
      // and the messages are still found by conversation without their own conversationId index
      expect(await upgraded.messages.where("conversationId").equals(CONV).count()).toBe(3);
    } finally {
      upgraded.close();
      await upgraded.delete();
    }
  });
});
