import "fake-indexeddb/auto";
import { afterAll, describe, expect, it } from "vitest";
import { getDb, type AccountRow, type ConversationRow } from "../store/db";

const ACCOUNT: AccountRow = { address: "whatsapp:+15550001", brand: "whatsapp", handle: "+15550001", displayName: "Alice", identityKey: new Uint8Array(33), createdAt: 1 };
const conv = (n: number): ConversationRow => ({
  id: `whatsapp:+15550001|instagram:peer${n}`,
  ourAddress: "whatsapp:+15550001",
  theirAddress: `instagram:peer${n}`,
  ourBrand: "whatsapp",
  theirBrand: "instagram",
  lastActivity: 1_000 + n,
  lastMessageId: null,
  lastPreview: `hello ${n}`,
  lastDirection: "in",
  lastState: null,
  unread: 0,
  hasUnread: 0,
  createdAt: 1_000 + n,
});

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(ok()).toBe(true);
};

describe("the first screen's early reads", () => {
  afterAll(async () => {
    getDb().close();
    await getDb().delete();
  });

  it("reads accounts and the first screenful before any hook asks, and forgets them at the first change", async () => {
    const db = getDb();
    await db.accounts.put(ACCOUNT);
    await db.conversations.bulkPut(Array.from({ length: 40 }, (_, i) => conv(i)));
    // as in a page: the module is evaluated with a window
    (globalThis as { window?: unknown }).window = globalThis;
    try {
      const startup = await import("./startup");
      expect(startup.earlyAccounts()).toBeUndefined();
      startup.startEarlyReads();
      await until(() => startup.earlyAccounts() !== undefined && startup.earlyInbox("all", startup.FIRST_SCREENFUL) !== undefined);
      expect(startup.earlyAccounts()?.map((a) => a.address)).toEqual([ACCOUNT.address]);
      const inbox = startup.earlyInbox("all", startup.FIRST_SCREENFUL);
      expect(inbox?.rows).toHaveLength(startup.FIRST_SCREENFUL);
      expect(inbox?.rows[0].id).toBe(conv(39).id);
      // only the view it read: another filter or the full list asks the database itself
      expect(startup.earlyInbox("unread", startup.FIRST_SCREENFUL)).toBeUndefined();
      expect(startup.earlyInbox("all", Number.POSITIVE_INFINITY)).toBeUndefined();

      // a message arrives: what was read at start is no longer the truth, and is never shown again
      await db.conversations.put({ ...conv(5), lastActivity: 9_999 });
      await until(() => startup.earlyInbox("all", startup.FIRST_SCREENFUL) === undefined);
      expect(startup.earlyAccounts()).toBeUndefined();
    } finally {
      delete (globalThis as { window?: unknown }).window;
    }
  });
});
