// The store's guards of last resort, behind the decisions made in memory on exact reads: a mailbox counter
// that would pass its quota, and an envelope whose ledger row is already there, change nothing and say so,
// whatever the caller decided. The same assertions for each SQL backend, on a writable handle to a migrated
// database.
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { expect } from "vitest";
import type { Address } from "../../brands";
import { addToCounters, HotStatements, insertEnvelopes, type Candidate } from "../storage/kyselyStore";
import type { RelayDatabase } from "../storage/schema";

export async function expectCounterGuard(db: Kysely<RelayDatabase>, pg: boolean): Promise<void> {
  const device = "guarded-device";
  const quotas = { perDeviceEnvelopes: 10, perDeviceBytes: 1_000 };
  await db.insertInto("device_mailbox").values({ device_id: device, envelopes: 9, bytes: 900 }).execute();
  const hot = new HotStatements(pg);
  const add = (envelopes: number, bytes: number) =>
    addToCounters(db, hot, new Map([[device, { to: "whatsapp:guarded" as Address, envelopes, bytes }]]), new Map([[device, quotas]]));
  const counter = async () => {
    const row = await db.selectFrom("device_mailbox").select(["envelopes", "bytes"]).where("device_id", "=", device).executeTakeFirstOrThrow();
    return { envelopes: Number(row.envelopes), bytes: Number(row.bytes) };
  };
  // one envelope too many, or one byte: refused, the counter as it was
  expect(await add(2, 10)).toBe(false);
  expect(await add(1, 101)).toBe(false);
  expect(await counter()).toEqual({ envelopes: 9, bytes: 900 });
  // up to the quota exactly: taken
  expect(await add(1, 100)).toBe(true);
  expect(await counter()).toEqual({ envelopes: 10, bytes: 1_000 });
  // full: nothing more, not even an empty envelope
  expect(await add(1, 0)).toBe(false);
  expect(await counter()).toEqual({ envelopes: 10, bytes: 1_000 });
}

export async function expectLedgerGuard(db: Kysely<RelayDatabase>, pg: boolean): Promise<void> {
  const candidate = (id: string): Candidate => {
    const hash = new Uint8Array(randomBytes(32));
    const env = { id, to: "whatsapp:ledgered" as Address, toDevice: "ledgered-device", from: "messenger:sender" as Address, fromDevice: "sender-device", body: new Uint8Array([1, 2, 3]), ts: 1_000 };
    return { env, hash, key: Buffer.from(hash).toString("hex") };
  };
  const seen = candidate("seen-before");
  const fresh = candidate("new-one");
  // the ledger already has the first (sent before, its envelope acked and gone): the caller thinks it new
  await db.insertInto("envelope_ledger").values({ hash: seen.hash, day: 0 }).execute();
  const stored = await insertEnvelopes(db, new HotStatements(pg), [seen, fresh]);
  expect(stored.map((e) => e.id)).toEqual(["new-one"]);
  const rows = await db.selectFrom("envelopes").select("id").where("to_device", "=", "ledgered-device").execute();
  expect(rows.map((r) => r.id)).toEqual(["new-one"]);
  expect(Number((await db.selectFrom("envelope_ledger").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n)).toBe(2);
}
