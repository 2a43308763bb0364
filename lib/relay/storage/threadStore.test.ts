// The SQLite store on its own thread: the whole storage contract through the proxy (its calls and
// answers crossing the thread, group commit inside it), and what only the thread adds: the calls of
// one turn committed together, errors that keep their class, and a closed store refusing calls.
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { envelope, registration, storeSuite } from "../test/storeSuite";
import { tempDataDir } from "../test/relayProcess";
import type { RelayDatabase } from "./schema";
import { SQLITE_FILE } from "./sqlite";
import { openSqliteStoreThread } from "./threadStore";
import type { MailboxQuotas, RelayStore } from "./types";

const ROOMY: MailboxQuotas = { perDeviceEnvelopes: 5_000, perDeviceBytes: 1 << 24 };

storeSuite({
  name: "sqlite on its own thread, group commit",
  async open() {
    const dir = tempDataDir();
    const store = await openSqliteStoreThread(dir);
    const inspect = new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: new Database(join(dir, SQLITE_FILE), { readonly: true }) }) });
    return { store, reopen: () => openSqliteStoreThread(dir), inspect };
  },
});

describe("the SQLite store's thread", () => {
  const closing: RelayStore[] = [];
  afterEach(async () => {
    for (const s of closing.splice(0)) await s.close();
  });

  it("commits the sends of one turn together, each with its own outcome", async () => {
    const groups: { envelopes: number; calls: number }[] = [];
    const store = await openSqliteStoreThread(tempDataDir(), { onGroup: (envelopes, calls) => groups.push({ envelopes, calls }) });
    closing.push(store);
    const recipient = registration();
    const senders = Array.from({ length: 20 }, () => registration());
    for (const reg of [recipient, ...senders]) expect(await store.registerAccount(reg, "new_device", 8)).toBe("ok");
    const full: MailboxQuotas = { perDeviceEnvelopes: 0, perDeviceBytes: 0 };
    const outcomes = await Promise.all(senders.map((s, i) => store.storeEnvelopes([envelope(recipient, s), envelope(recipient, s)], i === 7 ? full : ROOMY)));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(19);
    expect(outcomes[7]).toEqual({ ok: false, reason: "quota_exceeded", to: recipient.address, toDevice: recipient.deviceId });
    // one message carried the twenty calls, and one transaction took them
    expect(groups).toEqual([{ envelopes: 40, calls: 20 }]);
    expect(await store.pendingEnvelopes(recipient.deviceId, 0, 100)).toHaveLength(38);
  });

  it("runs each call alone with GROUP_COMMIT off", async () => {
    const groups: number[] = [];
    const store = await openSqliteStoreThread(tempDataDir(), { groupCommit: false, onGroup: (n) => groups.push(n) });
    closing.push(store);
    const [a, b] = [registration(), registration()];
    for (const reg of [a, b]) await store.registerAccount(reg, "new_device", 8);
    await Promise.all([store.storeEnvelopes([envelope(a, b)], ROOMY), store.storeEnvelopes([envelope(a, b)], ROOMY)]);
    expect(groups).toEqual([]);
    expect(await store.pendingEnvelopes(a.deviceId, 0, 10)).toHaveLength(2);
  });

  it("hands a caller's bad argument back as the error class the store threw", async () => {
    const store = await openSqliteStoreThread(tempDataDir(), { groupCommit: false });
    closing.push(store);
    const [a, b] = [registration(), registration()];
    for (const reg of [a, b]) await store.registerAccount(reg, "new_device", 8);
    await expect(store.storeEnvelopes([envelope(a, b)], { perDeviceEnvelopes: -1, perDeviceBytes: 10 })).rejects.toThrow(RangeError);
    // an argument that cannot cross to the thread fails its call alone, not the process
    const uncloneable = { ...envelope(a, b), id: (() => "x") as unknown as string };
    await expect(store.storeEnvelopes([uncloneable], ROOMY)).rejects.toThrow(/could not be cloned/);
    // and the store goes on serving
    expect((await store.storeEnvelopes([envelope(a, b)], ROOMY)).ok).toBe(true);
  });

  it("answers the calls made before close, then refuses every call", async () => {
    const dir = tempDataDir();
    const store = await openSqliteStoreThread(dir);
    const [a, b] = [registration(), registration()];
    for (const reg of [a, b]) await store.registerAccount(reg, "new_device", 8);
    const sent = store.storeEnvelopes([envelope(a, b)], ROOMY);
    await store.close();
    expect((await sent).ok).toBe(true);
    await expect(store.getDevice(a.deviceId)).rejects.toThrow("store closed");
    const again = await openSqliteStoreThread(dir);
    closing.push(again);
    expect(await again.pendingEnvelopes(a.deviceId, 0, 10)).toHaveLength(1);
  });

  it("fails to open, with the thread's reason, where the database cannot be", async () => {
    // under a file, not a directory (Node's recursive mkdir never returns under /proc)
    await expect(openSqliteStoreThread("/dev/null/junction")).rejects.toThrow(/ENOTDIR/);
  });
});
