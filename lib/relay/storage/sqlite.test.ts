// The SQLite adapter against the shared storage contract, its upgrade from older schemas, and what
// its files keep: the bytes on disk, read directly.
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Address } from "../../brands";
import { expectCounterGuard, expectLedgerGuard } from "../test/backstops";
import { storeSuite } from "../test/storeSuite";
import { tempDataDir } from "../test/relayProcess";
import { dayOf, ledgerHash } from "./kyselyStore";
import { migrateTo } from "./migrations";
import type { RelayDatabase } from "./schema";
import { openSqliteStore, SQLITE_FILE } from "./sqlite";
import type { AccountRegistration, EnvelopeRecord, MailboxQuotas, RelayStore } from "./types";

/** A second, read-only connection to a store's file, for looking at its tables. */
function inspect(dir: string): Kysely<RelayDatabase> {
  return new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: new Database(join(dir, SQLITE_FILE), { readonly: true }) }) });
}

storeSuite({
  name: "sqlite",
  async open() {
    const dir = tempDataDir();
    const store = await openSqliteStore(dir);
    return { store, reopen: () => openSqliteStore(dir), inspect: inspect(dir) };
  },
});

const ROOMY: MailboxQuotas = { perDeviceEnvelopes: 100, perDeviceBytes: 1 << 20 };

/** The database file and its WAL, as a thief with the disk would read them. */
function diskBytes(dir: string): Buffer {
  const wal = join(dir, `${SQLITE_FILE}-wal`);
  return Buffer.concat([readFileSync(join(dir, SQLITE_FILE)), existsSync(wal) ? readFileSync(wal) : Buffer.alloc(0)]);
}

function occurrences(haystack: Buffer, needle: string): number {
  const bytes = Buffer.from(needle, "utf8");
  let n = 0;
  for (let at = haystack.indexOf(bytes); at !== -1; at = haystack.indexOf(bytes, at + 1)) n++;
  return n;
}

function party(tag: string): AccountRegistration {
  const n = `${tag}${randomBytes(6).toString("hex")}`;
  return {
    address: `messenger:${n}` as Address,
    brand: "messenger",
    identityKey: `ik-${n}`,
    deviceId: `dev-${n}`,
    authKey: `ak-${n}`,
    signedPrekey: { id: 1, publicKey: "spk", signature: "sig" },
    kemPrekey: { id: 1, publicKey: "kem", signature: "kem-sig" },
    oneTimePrekeys: [],
    now: 1,
  };
}

describe("sqlite files keep no one's metadata longer than needed", () => {
  const closing: { close(): Promise<void> }[] = [];
  const destroying: Kysely<RelayDatabase>[] = [];
  afterEach(async () => {
    for (const d of destroying.splice(0)) await d.destroy();
    for (const c of closing.splice(0)) await c.close();
  });
  const openStore = async (dir: string): Promise<RelayStore> => {
    const store = await openSqliteStore(dir);
    closing.push(store);
    return store;
  };

  it("keeps only a 32-byte keyed hash and a day per ledger row, and after ack and scrub nothing of the envelope", async () => {
    const dir = tempDataDir();
    const store = await openStore(dir);
    const alice = party("alice");
    const bob = party("bob");
    await store.registerAccount(alice, "new_device", 1);
    await store.registerAccount(bob, "new_device", 1);
    await store.scrub();
    const needles = [alice.address, alice.deviceId, bob.address, bob.deviceId];
    // Accounts and devices are stored once each, so only their own rows may name them later.
    const baseline = needles.map((n) => occurrences(diskBytes(dir), n));
    const ts = 19_876 * 24 * 60 * 60 * 1000 + 12_345;
    const env: EnvelopeRecord = {
      id: `envelope-id-${randomBytes(8).toString("hex")}`,
      from: alice.address,
      fromDevice: alice.deviceId,
      to: bob.address,
      toDevice: bob.deviceId,
      body: Buffer.from(`ciphertext-${randomBytes(8).toString("hex")}`),
      ts,
    };
    expect(await store.storeEnvelopes([env], ROOMY)).toMatchObject({ ok: true, stored: 1 });
    // The measure sees a pair while it must exist: the pending envelope names its sender.
    expect(occurrences(diskBytes(dir), alice.deviceId)).toBeGreaterThan(baseline[1]!);

    const db = inspect(dir);
    destroying.push(db);
    const rows = await db.selectFrom("envelope_ledger").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0]!).sort()).toEqual(["day", "hash"]);
    expect(rows[0]!.day).toBe(19_876);
    expect(rows[0]!.hash).toHaveLength(32);
    for (const clear of [...needles, env.id]) expect(Buffer.from(rows[0]!.hash).includes(Buffer.from(clear))).toBe(false);

    expect(await store.deleteEnvelopes(bob.deviceId, [{ to: bob.address, id: env.id }])).toBe(1);
    await store.scrub();
    const disk = diskBytes(dir);
    expect(occurrences(disk, env.id)).toBe(0);
    expect(occurrences(disk, Buffer.from(env.body).toString("utf8"))).toBe(0);
    // No table pairs the two after the ack: each name occurs exactly as often as before the send.
    expect(needles.map((n) => occurrences(disk, n))).toEqual(baseline);
    // The ledger row is what is left, and it still does its job.
    expect(await store.storeEnvelopes([env], ROOMY)).toMatchObject({ ok: true, stored: 0 });
  });

  it("keeps a device's counter within its quota, and an envelope out whose ledger row is there, by the database's own guards", async () => {
    const dir = tempDataDir();
    await (await openSqliteStore(dir)).close();
    const db = new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: new Database(join(dir, SQLITE_FILE)) }) });
    destroying.push(db);
    await expectCounterGuard(db, false);
    await expectLedgerGuard(db, false);
  });

  it("creates one 32-byte ledger key on first open and keeps it across reopens", async () => {
    const dir = tempDataDir();
    await (await openStore(dir)).close();
    closing.splice(0);
    const db = inspect(dir);
    destroying.push(db);
    const first = await db.selectFrom("relay_secrets").selectAll().execute();
    expect(first.map((r) => [r.name, r.value.length])).toEqual([["ledger_key", 32]]);
    await openStore(dir);
    expect(await db.selectFrom("relay_secrets").selectAll().execute()).toEqual(first);
  });
});

describe("ledger hash", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const env = { fromDevice: "dev-a", to: "messenger:bob" as Address, toDevice: "dev-b", id: "id-1" };

  it("is HMAC-SHA256 over length-prefixed UTF-8 fields, behind a version tag", () => {
    // A reference encoding written out by hand, independent of the loop in the store.
    const field = (s: string) => {
      const b = Buffer.from(s, "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    };
    const input = Buffer.concat(["junction relay ledger v1", env.fromDevice, env.to, env.toDevice, env.id].map(field));
    expect(Buffer.from(ledgerHash(key, env)).toString("hex")).toBe(createHmac("sha256", key).update(input).digest("hex"));
  });

  it("tells apart tuples whose concatenations are equal", () => {
    const hash = (over: Partial<typeof env>) => Buffer.from(ledgerHash(key, { ...env, ...over })).toString("hex");
    expect(hash({ fromDevice: "ab", to: "messenger:c" as Address })).not.toBe(hash({ fromDevice: "a", to: "bmessenger:c" as Address }));
    expect(hash({ toDevice: "dev-b", id: "id-1" })).not.toBe(hash({ toDevice: "dev-bi", id: "d-1" }));
  });

  it("depends on the key and on the sender device", () => {
    const other = Uint8Array.from(key, (b) => b ^ 1);
    expect(Buffer.from(ledgerHash(other, env))).not.toEqual(Buffer.from(ledgerHash(key, env)));
    expect(Buffer.from(ledgerHash(key, { ...env, fromDevice: "dev-c" }))).not.toEqual(Buffer.from(ledgerHash(key, env)));
  });

  it("rejects a key of the wrong length", () => {
    expect(() => ledgerHash(new Uint8Array(31), env)).toThrow("invalid ledger key");
  });

  it("counts whole UTC days", () => {
    expect([dayOf(0), dayOf(86_399_999), dayOf(86_400_000)]).toEqual([0, 0, 1]);
  });
});

describe("sqlite migrations", () => {
  it("0003 drops the clear ledger, keeps pending envelopes with their seq, counts them, and lets another sender reuse an id", async () => {
    const dir = tempDataDir();
    const raw = new Database(join(dir, SQLITE_FILE));
    raw.pragma("secure_delete = ON"); // as the relay that wrote it ran
    const old = new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: raw }) });
    await migrateTo(old, "sqlite", "0002_kem_one_time_prekeys");
    const bob = party("bob");
    await old.insertInto("devices").values({ device_id: bob.deviceId, auth_key: "ak", created_at: 1 }).execute();
    await old.insertInto("accounts").values({ address: bob.address, brand: "messenger", identity_key: "ik", created_at: 1 }).execute();
    await old
      .insertInto("account_devices")
      .values({ address: bob.address, device_id: bob.deviceId, spk_id: 1, spk_public: "s", spk_signature: "s", kem_id: 1, kem_public: "k", kem_signature: "k", created_at: 1 })
      .execute();
    const insertEnvelope = raw.prepare(
      "INSERT INTO envelopes (id, to_address, to_device, from_address, from_device, body, ts) VALUES (?, ?, ?, 'messenger:alice', 'dev-alice', ?, 5)",
    );
    const remember = raw.prepare("INSERT INTO envelope_ids (to_address, to_device, id, ts) VALUES (?, ?, ?, 5)");
    const ackedId = `acked-before-upgrade-${randomBytes(6).toString("hex")}`;
    insertEnvelope.run(ackedId, bob.address, bob.deviceId, Buffer.alloc(4));
    remember.run(bob.address, bob.deviceId, ackedId);
    raw.prepare("DELETE FROM envelopes WHERE id = ?").run(ackedId);
    const pendingId = "pending-before-upgrade";
    insertEnvelope.run(pendingId, bob.address, bob.deviceId, Buffer.alloc(9));
    remember.run(bob.address, bob.deviceId, pendingId);
    const highest = (raw.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'envelopes'").get() as { seq: number }).seq;
    await old.destroy();

    const store = await openSqliteStore(dir);
    try {
      await store.scrub();
      expect(occurrences(diskBytes(dir), ackedId)).toBe(0);
      const pending = await store.pendingEnvelopes(bob.deviceId, 0, 10);
      expect(pending.map((p) => [p.id, p.seq])).toEqual([[pendingId, highest]]);
      expect(await store.mailboxStats()).toEqual({ devices: 1, envelopes: 1, bytes: 9, largestDeviceBytes: 9 });
      const resend: EnvelopeRecord = {
        id: pendingId,
        from: "messenger:alice" as Address,
        fromDevice: "dev-alice",
        to: bob.address,
        toDevice: bob.deviceId,
        body: new Uint8Array(9),
        ts: 6,
      };
      // Still pending, so stored once although the ledger never saw it; another sender's id is new.
      expect(await store.storeEnvelopes([resend], ROOMY)).toMatchObject({ ok: true, stored: 0 });
      expect(await store.storeEnvelopes([{ ...resend, fromDevice: "dev-carol" }], ROOMY)).toMatchObject({ ok: true, stored: 1 });
      const after = await store.pendingEnvelopes(bob.deviceId, 0, 10);
      // Seqs keep rising past the acked envelope's: a seq once handed out is never reused.
      expect(after[1]?.seq).toBeGreaterThan(highest);
      expect(await store.mailboxStats()).toMatchObject({ envelopes: 2, bytes: 18 });
    } finally {
      await store.close();
    }
  });


  it("upgrades a database from before one-time KEM prekeys, keeping its accounts usable", async () => {
    const dir = tempDataDir();
    const old = new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: new Database(join(dir, SQLITE_FILE)) }) });
    await migrateTo(old, "sqlite", "0001_initial");
    const address = "messenger:legacy.user" as Address;
    const deviceId = "legacy-device";
    // As a relay that did not yet require a KEM prekey left it: no last-resort KEM prekey.
    await old.insertInto("devices").values({ device_id: deviceId, auth_key: "ak", created_at: 1 }).execute();
    await old.insertInto("accounts").values({ address, brand: "messenger", identity_key: "ik", created_at: 1 }).execute();
    await old
      .insertInto("account_devices")
      .values({ address, device_id: deviceId, spk_id: 1, spk_public: "spk", spk_signature: "sig", kem_id: null, kem_public: null, kem_signature: null, created_at: 1 })
      .execute();
    await old.insertInto("one_time_prekeys").values({ address, device_id: deviceId, prekey_id: 1, public_key: "otk" }).execute();
    await old.destroy();

    const store = await openSqliteStore(dir);
    try {
      expect(await store.keyStatus(address, deviceId)).toEqual({ oneTimePrekeys: 1, signedPrekeyId: 1, kemOneTimePrekeys: 0 });
      expect((await store.claimBundles(address))?.bundles).toEqual([
        { deviceId, signedPrekey: { id: 1, publicKey: "spk", signature: "sig" }, oneTimePrekey: { id: 1, publicKey: "otk" } },
      ]);
      // The device's next keys:upload brings it up to PQXDH.
      const kem = { id: 1, publicKey: "kem", signature: "kem-sig" };
      const kemOneTime = { id: 2, publicKey: "kotk", signature: "kotk-sig" };
      expect(await store.updateKeys(address, deviceId, { kemPrekey: kem, kemOneTimePrekeys: [kemOneTime] }, { oneTime: 10, kemOneTime: 10 })).toBe("ok");
      expect(await store.keyStatus(address, deviceId)).toEqual({ oneTimePrekeys: 0, signedPrekeyId: 1, kemOneTimePrekeys: 1, kemPrekeyId: 1 });
      expect((await store.claimBundles(address))?.bundles[0]).toMatchObject({ kemPrekey: kem, kemOneTimePrekey: kemOneTime });
    } finally {
      await store.close();
    }
  });

  it("0005 drops the ledger's day index and keeps its rows, which the sweep still finds by day", async () => {
    const dir = tempDataDir();
    const raw = new Database(join(dir, SQLITE_FILE));
    const old = new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: raw }) });
    await migrateTo(old, "sqlite", "0004_device_lists");
    const ledgerIndexes = (db: Database.Database) => db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'envelope_ledger' AND sql IS NOT NULL").all();
    expect(ledgerIndexes(raw)).toEqual([{ name: "envelope_ledger_day" }]);
    const row = raw.prepare("INSERT INTO envelope_ledger (hash, day) VALUES (?, ?)");
    row.run(randomBytes(32), 0);
    row.run(randomBytes(32), 2);
    await old.destroy();

    const store = await openSqliteStore(dir);
    try {
      const after = new Database(join(dir, SQLITE_FILE), { readonly: true });
      try {
        expect(ledgerIndexes(after)).toEqual([]);
      } finally {
        after.close();
      }
      expect(await store.deleteExpired({ envelopesBefore: 0, ledgerBefore: 24 * 60 * 60 * 1000 })).toEqual({ envelopes: 0, ledgerRows: 1 });
    } finally {
      await store.close();
    }
  });
});
