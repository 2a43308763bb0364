// The SQLite adapter's durability barrier: one fsync shared by the commits before it, and no write
// answered before its barrier (acks and reads do not wait).
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { envelope, registration } from "../test/storeSuite";
import { FileSync } from "./fileSync";
import { KyselyRelayStore } from "./kyselyStore";
import { migrateToLatest } from "./migrations";
import type { RelayDatabase } from "./schema";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "junction-sync-"));
  dirs.push(dir);
  const file = join(dir, "f");
  writeFileSync(file, "x");
  return file;
}

const ROOMY = { perDeviceEnvelopes: 100, perDeviceBytes: 1 << 20 };

/** A barrier the test opens by hand. */
function gate() {
  let calls = 0;
  let open!: () => void;
  let opened = new Promise<void>((done) => (open = done));
  return {
    durable: () => {
      calls++;
      return opened;
    },
    calls: () => calls,
    open: () => {
      open();
      opened = new Promise<void>((done) => (open = done));
    },
  };
}

async function storeWith(durable: () => Promise<void>) {
  const db = new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
  await migrateToLatest(db, "sqlite");
  return KyselyRelayStore.open(db, "sqlite", async () => {}, durable);
}

const pending = Symbol("pending");
const settled = <T>(p: Promise<T>) => Promise.race([p, new Promise<typeof pending>((r) => setTimeout(() => r(pending), 50))]);

describe("FileSync", () => {
  it("runs one fsync for everyone who asks while it is due, and a fresh one for whoever asks during it", async () => {
    const sync = new FileSync([join(tmpdir(), "no-such-file-here"), tempFile()]);
    await Promise.all([sync.sync(), sync.sync(), sync.sync()]);
    // the first starts one; the other two arrive while it runs and share the one after it
    expect(sync.syncs).toBe(2);
    await sync.sync();
    expect(sync.syncs).toBe(3);
  });

  it("resolves without syncing when none of its files exists yet (no log written so far)", async () => {
    const sync = new FileSync([join(tmpdir(), "no-such-file-a"), join(tmpdir(), "no-such-file-b")]);
    await expect(sync.sync()).resolves.toBeUndefined();
  });
});

describe("the store answers a write only after its barrier", () => {
  it("holds registrations and sends until the log is synced; acks and reads do not wait", async () => {
    const g = gate();
    const store = await storeWith(g.durable);
    const alice = registration();
    const bob = registration();
    const reg = store.registerAccount(alice, "new_device", 1);
    expect(await settled(reg)).toBe(pending);
    g.open();
    expect(await reg).toBe("ok");
    const regBob = store.registerAccount(bob, "new_device", 1);
    expect(await settled(regBob)).toBe(pending);
    g.open();
    expect(await regBob).toBe("ok");

    const env = envelope(bob, alice);
    const sent = store.storeEnvelopes([env], ROOMY);
    expect(await settled(sent)).toBe(pending);
    const before = g.calls();
    g.open();
    expect(await sent).toMatchObject({ ok: true, stored: 1 });
    expect(before).toBeGreaterThan(0);

    // the ack's delete and a read answer without the barrier
    const callsBefore = g.calls();
    expect(await settled(store.deleteEnvelopes(env.toDevice, [{ to: env.to, id: env.id }]))).toBe(1);
    expect(await settled(store.keyStatus(alice.address, alice.deviceId))).not.toBe(pending);
    expect(g.calls()).toBe(callsBefore);
    await store.close();
  });
});
