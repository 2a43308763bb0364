// The Postgres adapter against the shared storage contract, and what only concurrency across relay
// processes shows: each store below opens its own pool, as a separate relay process would. Every store
// works in a fresh schema, dropped at the end. Needs the Postgres server on this machine
// (TEST_DATABASE_URL); without one the file is reported skipped with the reason, unless CI is set.
import { Kysely, PostgresDialect, sql } from "kysely";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Address } from "../../brands";
import { dropSchemas, postgresUnavailable, TEST_DATABASE_URL } from "../test/services";
import { countersAndTruth, envelope, kemKeys, registration, storeSuite } from "../test/storeSuite";
import { expectCounterGuard, expectLedgerGuard } from "../test/backstops";
import { SWEEP_LOCK } from "./pgLocks";
import { openPostgresStore, type PostgresStoreOptions } from "./postgres";
import type { RelayDatabase } from "./schema";
import type { AccountRegistration, EnvelopeRecord, MailboxQuotas, RelayStore } from "./types";

const DATABASE_URL = TEST_DATABASE_URL;
const reason = await postgresUnavailable();
const describePg = reason === null ? describe : describe.skip;
const title = reason === null ? "postgres" : `postgres (skipped: no server at ${DATABASE_URL}: ${reason})`;

const schemas: string[] = [];

/** A new schema name, dropped after the file; the schema is created empty unless `create` is false. */
async function freshSchema(create = true): Promise<string> {
  const schema = `junction_test_${randomBytes(6).toString("hex")}`;
  schemas.push(schema);
  if (create) await admin((client) => client.query(`CREATE SCHEMA ${schema}`));
  return schema;
}

// Everything the store writes except the ledger key: emptied between the contract's tests, which each
// expect a store of their own (migrating a fresh schema per test would cost half a second each).
const DATA_TABLES = ["devices", "accounts", "account_devices", "one_time_prekeys", "kem_one_time_prekeys", "envelopes", "envelope_ledger", "device_mailbox"];

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A second handle on a schema, for looking at its tables. */
function inspect(schema: string): Kysely<RelayDatabase> {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2, options: `-c search_path=${schema}` });
  return new Kysely<RelayDatabase>({ dialect: new PostgresDialect({ pool }) });
}

afterAll(async () => {
  if (reason === null) await dropSchemas(schemas.splice(0));
});

describePg(title, () => {
  let suiteSchema: string | undefined;
  storeSuite({
    name: "postgres",
    async open() {
      let schema = suiteSchema;
      if (schema === undefined) {
        schema = suiteSchema = await freshSchema();
      } else {
        const tables = DATA_TABLES.map((t) => `${schema}.${t}`).join(", ");
        await admin((client) => client.query(`TRUNCATE ${tables}`));
      }
      const store = await openPostgresStore(DATABASE_URL, { schema });
      return { store, reopen: () => openPostgresStore(DATABASE_URL, { schema }), inspect: inspect(schema) };
    },
  });

  describe("postgres: concurrency across relay processes", () => {
    const closing: { close(): Promise<void> }[] = [];
    const destroying: Kysely<RelayDatabase>[] = [];
    afterEach(async () => {
      for (const d of destroying.splice(0)) await d.destroy();
      for (const c of closing.splice(0)) await c.close();
    });

    /** `n` stores ("processes"), each with its own pool, on one new schema, and a handle to inspect it. */
    const processes = async (n: number, opts: PostgresStoreOptions = {}) => {
      const schema = await freshSchema();
      const stores: RelayStore[] = [];
      for (let i = 0; i < n; i++) {
        const store = await openPostgresStore(DATABASE_URL, { schema, poolSize: 6, ...opts });
        closing.push(store);
        stores.push(store);
      }
      const db = inspect(schema);
      destroying.push(db);
      return { schema, stores, db };
    };

    it("keeps a device's counter within its quota, and an envelope out whose ledger row is there, by the database's own guards", async () => {
      const { db } = await processes(1);
      await expectCounterGuard(db, true);
      await expectLedgerGuard(db, true);
    });

    const register = async (store: RelayStore, n = 1, over: Partial<AccountRegistration> = {}) => {
      const regs = Array.from({ length: n }, () => registration(over));
      for (const reg of regs) expect(await store.registerAccount(reg, "new_device", 8)).toBe("ok");
      return regs;
    };

    const expectCountersTrue = async (db: Kysely<RelayDatabase>) => {
      const { kept, truth } = await countersAndTruth(db);
      expect(kept).toEqual(truth);
    };

    it("hands out each of 200 one-time prekeys of either kind exactly once to claims racing from two processes", async () => {
      const { stores: [a, b] } = await processes(2);
      for (let round = 0; round < 3; round++) {
        const reg = registration({ oneTimePrekeys: Array.from({ length: 200 }, (_, i) => ({ id: i, publicKey: `k${i}` })), kemOneTimePrekeys: kemKeys(200, 1_000) });
        expect(await a!.registerAccount(reg, "new_device", 8)).toBe("ok");
        // More claims than keys: with SKIP LOCKED no claim comes back empty while a free key remains,
        // so all 200 go, each once.
        const claims = await Promise.all(Array.from({ length: 260 }, (_, i) => (i % 2 ? a! : b!).claimBundles(reg.address)));
        const bundles = claims.flatMap((c) => c?.bundles ?? []);
        const ids = bundles.flatMap((x) => (x.oneTimePrekey ? [x.oneTimePrekey.id] : []));
        const kemIds = bundles.flatMap((x) => (x.kemOneTimePrekey ? [x.kemOneTimePrekey.id] : []));
        expect(ids).toHaveLength(200);
        expect(new Set(ids).size).toBe(200);
        expect(kemIds).toHaveLength(200);
        expect(new Set(kemIds).size).toBe(200);
        expect(await b!.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 0, signedPrekeyId: 1, kemOneTimePrekeys: 0, kemPrekeyId: 1 });
      }
    });

    it("migrates a new or empty schema once when four processes start at the same moment, and all of them work", async () => {
      for (let round = 0; round < 4; round++) {
        // Rounds 0 and 2: the schema exists, empty; 1 and 3: the processes create it too.
        const schema = await freshSchema(round % 2 === 0);
        const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(DATABASE_URL, { schema, poolSize: 3 })));
        closing.push(...stores);
        const db = inspect(schema);
        destroying.push(db);
        const ran = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
        expect(ran.rows.map((r) => r.name)).toEqual(["0001_initial", "0002_kem_one_time_prekeys", "0003_keyed_ledger_mailbox_counters", "0004_device_lists", "0005_ledger_without_day_index"]);
        // One ledger key, shared: each process recognises an envelope another one stored.
        expect(await db.selectFrom("relay_secrets").select("name").execute()).toEqual([{ name: "ledger_key" }]);
        const [alice, bob] = await register(stores[0]!, 2);
        const e = envelope(bob!, alice!);
        expect(await stores[1]!.storeEnvelopes([e], { perDeviceEnvelopes: 10, perDeviceBytes: 100 })).toMatchObject({ ok: true, stored: 1 });
        expect(await stores[2]!.storeEnvelopes([e], { perDeviceEnvelopes: 10, perDeviceBytes: 100 })).toMatchObject({ ok: true, stored: 0 });
        expect((await stores[3]!.pendingEnvelopes(bob!.deviceId, 0, 10)).map((p) => p.id)).toEqual([e.id]);
      }
    });

    it("delivers every envelope exactly once to a reader paging by cursor while two processes send to it", async () => {
      const { stores: [a, b, reader], db } = await processes(3);
      const roomy: MailboxQuotas = { perDeviceEnvelopes: 10_000, perDeviceBytes: 1 << 24 };
      for (let round = 0; round < 6; round++) {
        const [s1, s2, r] = await register(a!, 3);
        const sent: string[] = [];
        // Small batches, many in flight from both processes: their commits land in any order.
        const sendFrom = (store: RelayStore, from: AccountRegistration) =>
          Promise.all(
            Array.from({ length: 20 }, async (_, i) => {
              const batch = Array.from({ length: 1 + (i % 3) }, () => envelope(r!, from));
              sent.push(...batch.map((e) => e.id));
              expect(await store.storeEnvelopes(batch, roomy)).toMatchObject({ ok: true, stored: batch.length });
            }),
          );
        let sending = true;
        const sends = Promise.all([sendFrom(a!, s1!), sendFrom(b!, s2!)]).finally(() => {
          sending = false;
        });
        const seen: string[] = [];
        let cursor = 0;
        for (;;) {
          const last = !sending;
          const page = await reader!.pendingEnvelopes(r!.deviceId, cursor, 4);
          for (const env of page) {
            seen.push(env.id);
            // As the connection does: the cursor moves to the highest seq pushed.
            cursor = Math.max(cursor, env.seq);
          }
          // Acked as it goes, so acks race the sends' counter updates too.
          if (page.length) await reader!.deleteEnvelopes(r!.deviceId, page.map((env) => ({ to: env.to, id: env.id, fromDevice: env.fromDevice })));
          if (page.length === 0 && last) break;
        }
        await sends;
        expect(seen.length).toBe(sent.length);
        expect(new Set(seen).size).toBe(seen.length);
        expect([...seen].sort()).toEqual([...sent].sort());
        expect(await reader!.pendingEnvelopes(r!.deviceId, 0, 10)).toEqual([]);
      }
      await expectCountersTrue(db);
    });

    it("answers registrations of one handle racing from two processes with one ok and handle_taken for the rest", async () => {
      const { stores: [a, b] } = await processes(2);
      for (let round = 0; round < 15; round++) {
        const address = `messenger:race.${round}.${randomBytes(4).toString("hex")}` as Address;
        const regs = Array.from({ length: 3 }, () => registration({ address }));
        const outcomes = await Promise.all(regs.map((reg, i) => (i % 2 ? a! : b!).registerAccount(reg, "new_device", 8)));
        expect([...outcomes].sort()).toEqual(["handle_taken", "handle_taken", "ok"]);
        const winner = regs[outcomes.indexOf("ok")]!;
        expect(await a!.getAccount(address)).toEqual({ address, identityKey: winner.identityKey, deviceIds: [winner.deviceId] });
        // The losers left nothing behind, not even their device.
        for (const reg of regs) if (reg !== winner) expect(await b!.getDevice(reg.deviceId)).toBeNull();
      }
    });

    it("answers a registration racing its own retry ok twice, and keeps a device's brand rule and cap against racing additions", async () => {
      const { stores: [a, b] } = await processes(2);
      const tag = () => randomBytes(4).toString("hex");
      for (let round = 0; round < 10; round++) {
        const reg = registration();
        expect(await Promise.all([a!.registerAccount(reg, "new_device", 2), b!.registerAccount(reg, "new_device", 2)])).toEqual(["ok", "ok"]);
        // Two accounts on one brand at once: no key guards the rule, the device row lock does.
        const same = { deviceId: reg.deviceId, authKey: reg.authKey };
        const twoInstagram = [
          registration({ ...same, brand: "instagram", address: `instagram:@a_${tag()}` as Address }),
          registration({ ...same, brand: "instagram", address: `instagram:@b_${tag()}` as Address }),
        ];
        const brandRace = await Promise.all([a!.registerAccount(twoInstagram[0]!, "existing_device", 3), b!.registerAccount(twoInstagram[1]!, "existing_device", 3)]);
        expect([...brandRace].sort()).toEqual(["brand_taken", "ok"]);
        // The cap: a device holding 1 of 2 gets only one of two other brands added at once.
        const other = registration();
        expect(await a!.registerAccount(other, "new_device", 2)).toBe("ok");
        const more = { deviceId: other.deviceId, authKey: other.authKey };
        const capRace = await Promise.all([
          a!.registerAccount(registration({ ...more, brand: "instagram", address: `instagram:@c_${tag()}` as Address }), "existing_device", 2),
          b!.registerAccount(registration({ ...more, brand: "whatsapp", address: `whatsapp:+1555${Date.now() % 10_000_000}${round}` as Address }), "existing_device", 2),
        ]);
        expect([...capRace].sort()).toEqual(["ok", "too_many_accounts"]);
        expect(await a!.accountsOfDevice(reg.deviceId)).toHaveLength(2);
        expect(await b!.accountsOfDevice(other.deviceId)).toHaveLength(2);
      }
    });

    it("keeps the one-time prekey cap against uploads racing from two processes", async () => {
      const { stores: [a, b] } = await processes(2);
      const caps = { oneTime: 10, kemOneTime: 10 };
      for (let round = 0; round < 10; round++) {
        const [reg] = await register(a!, 1, { oneTimePrekeys: [], kemOneTimePrekeys: [] });
        const upload = (first: number) => ({ oneTimePrekeys: Array.from({ length: 6 }, (_, i) => ({ id: first + i, publicKey: `u${first + i}` })) });
        const outcomes = await Promise.all([a!.updateKeys(reg!.address, reg!.deviceId, upload(100), caps), b!.updateKeys(reg!.address, reg!.deviceId, upload(200), caps)]);
        expect([...outcomes].sort()).toEqual(["ok", "too_many"]);
        expect(await b!.keyStatus(reg!.address, reg!.deviceId)).toMatchObject({ oneTimePrekeys: 6 });
      }
    });

    it("never exceeds a device's quotas under sends racing from two processes", async () => {
      const { stores: [a, b], db } = await processes(2);
      for (const quotas of [
        { perDeviceEnvelopes: 10, perDeviceBytes: 1 << 20 },
        { perDeviceEnvelopes: 1_000, perDeviceBytes: 100 },
      ] satisfies MailboxQuotas[]) {
        for (let round = 0; round < 4; round++) {
          const [s, r] = await register(a!, 2);
          const outcomes = await Promise.all(
            Array.from({ length: 40 }, (_, i) => (i % 2 ? a! : b!).storeEnvelopes([envelope(r!, s!, { body: new Uint8Array(7 + (i % 7)) })], quotas)),
          );
          const stored = outcomes.filter((o) => o.ok);
          const refused = outcomes.filter((o) => !o.ok);
          expect(stored.length + refused.length).toBe(40);
          for (const o of refused) expect(o).toEqual({ ok: false, reason: "quota_exceeded", to: r!.address, toDevice: r!.deviceId });
          const pending = await b!.pendingEnvelopes(r!.deviceId, 0, 100);
          expect(pending).toHaveLength(stored.length);
          expect(pending.length).toBeLessThanOrEqual(quotas.perDeviceEnvelopes);
          expect(pending.reduce((n, p) => n + p.body.length, 0)).toBeLessThanOrEqual(quotas.perDeviceBytes);
          // Full, not merely raced: the next envelope that fits nowhere is refused too.
          if (quotas.perDeviceEnvelopes === 10) expect(pending).toHaveLength(10);
        }
      }
      await expectCountersTrue(db);
    });

    it("stores batches to the same devices in opposite orders from two processes without a deadlock", async () => {
      const { stores: [a, b], db } = await processes(2);
      const [s, r1, r2, r3] = await register(a!, 4);
      const roomy: MailboxQuotas = { perDeviceEnvelopes: 10_000, perDeviceBytes: 1 << 24 };
      const batch = (order: AccountRegistration[]): EnvelopeRecord[] => order.flatMap((r) => [envelope(r, s!), envelope(r, s!)]);
      const outcomes = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 ? a! : b!).storeEnvelopes(batch(i % 2 ? [r1!, r2!, r3!] : [r3!, r2!, r1!]), roomy)),
      );
      for (const o of outcomes) expect(o).toMatchObject({ ok: true, stored: 6 });
      expect(await a!.mailboxStats()).toMatchObject({ devices: 3, envelopes: 360 });
      await expectCountersTrue(db);
    });

    it("sweeps on one node at a time: a node that finds another sweeping skips, and racing sweeps and acks keep the counters", async () => {
      const { stores: [a, b], db } = await processes(2);
      const [s, r] = await register(a!, 2);
      const roomy: MailboxQuotas = { perDeviceEnvelopes: 10_000, perDeviceBytes: 1 << 24 };
      const old = Array.from({ length: 2_400 }, () => envelope(r!, s!, { ts: 100 }));
      for (let i = 0; i < old.length; i += 400) expect(await a!.storeEnvelopes(old.slice(i, i + 400), roomy)).toMatchObject({ ok: true, stored: 400 });
      const cutoffs = { envelopesBefore: 200, ledgerBefore: 0 };

      // Another node holds the sweep lock: this one deletes nothing and says so.
      const holder = new pg.Client({ connectionString: DATABASE_URL });
      await holder.connect();
      try {
        await holder.query("SELECT pg_advisory_lock($1::bigint)", [SWEEP_LOCK.toString()]);
        expect(await a!.deleteExpired(cutoffs)).toEqual({ envelopes: 0, ledgerRows: 0, skipped: true });
        await holder.query("SELECT pg_advisory_unlock($1::bigint)", [SWEEP_LOCK.toString()]);
      } finally {
        await holder.end();
      }

      // Two nodes sweep while the device acks some of the same envelopes: each goes exactly once.
      const acked = old.slice(0, 600);
      const [swept1, swept2, ackedCount] = await Promise.all([
        a!.deleteExpired(cutoffs),
        b!.deleteExpired(cutoffs),
        (async () => {
          let n = 0;
          for (let i = 0; i < acked.length; i += 50) {
            n += await b!.deleteEnvelopes(r!.deviceId, acked.slice(i, i + 50).map((e) => ({ to: r!.address, id: e.id, fromDevice: s!.deviceId })));
          }
          return n;
        })(),
      ]);
      // A sweep skipped while the other ran, or both ran one after the other; never both at once.
      expect(swept1.envelopes + swept2.envelopes + ackedCount).toBeLessThanOrEqual(old.length);
      const left = await a!.deleteExpired(cutoffs);
      expect(swept1.envelopes + swept2.envelopes + ackedCount + left.envelopes).toBe(old.length);
      expect(await a!.pendingEnvelopes(r!.deviceId, 0, 10)).toEqual([]);
      await expectCountersTrue(db);
      expect(await b!.mailboxStats()).toEqual({ devices: 0, envelopes: 0, bytes: 0, largestDeviceBytes: 0 });
    });
  });
});
