// The RelayStore over kysely: the SQL is written once in kysely's builder, so the SQLite and Postgres
// adapters share this file and differ in the dialect, pragmas and `scrub`, and in what concurrency
// needs on Postgres only. SQLite runs one writer at a time, so every transaction here is serial there;
// Postgres at READ COMMITTED runs them side by side, across relay processes. Where that matters a
// `this.pg` branch adds a lock (row, advisory) or a retry, and SQLite's SQL stays as it was:
// - prekey claims: FOR UPDATE SKIP LOCKED, so racing claims take different keys, none goes empty;
// - envelope inserts: a per-recipient-device advisory lock, so seq order is commit order per device
//   (the delivery cursor relies on it, see `storeEnvelopes`);
// - registration and key uploads: a row lock on what the checks read, and unique violations retried
//   into the answer the committed state gives (`handle_taken`, `device_exists`, `ok`);
// - deadlocks and serialization failures between row locks: the transaction is retried;
// - expiry sweeps: one node at a time (a session advisory lock, tried, not waited for).
import { CompiledQuery, type Kysely, type Selectable, sql, type Transaction } from "kysely";
import { createHmac, randomBytes } from "node:crypto";
import { type Address, brandOf } from "../../brands";
import { MAX_ENVELOPE_BYTES } from "../../protocol";
import type { SqlDialect } from "./migrations";
import {
  deviceLockKey,
  ENVELOPE_INSERTS_LOCK,
  PG_DEADLOCK_DETECTED,
  PG_SERIALIZATION_FAILURE,
  PG_UNIQUE_VIOLATION,
  pgConstraint,
  pgErrorCode,
  SWEEP_LOCK,
} from "./pgLocks";
import type { RelayDatabase } from "./schema";
import type {
  AccountRecord,
  AccountRegistration,
  AddCompanionOutcome,
  ClaimedBundle,
  DeviceRecord,
  EnvelopeRecord,
  EnvelopeRef,
  ExpiryCutoffs,
  ExpiryOutcome,
  KeyStatus,
  KeysUpdate,
  MailboxQuotas,
  MailboxStats,
  PendingEnvelope,
  PrekeyCaps,
  PutDeviceListOutcome,
  RegisterMode,
  RegisterOutcome,
  StoredOneTimePrekey,
  StoredSignedPrekey,
  StoreEnvelopesCall,
  StoreEnvelopesOutcome,
  DeleteEnvelopesCall,
  GroupableStore,
  UpdateKeysOutcome,
} from "./types";

type Db = Kysely<RelayDatabase> | Transaction<RelayDatabase>;

// Pending rows read with their bodies in the first statement of a delivery page (see pendingEnvelopes).
const FIRST_READ_ROWS = 32;

// Keeps each multi-row insert well under every dialect's bound-parameter limit.
const CHUNK = 100;

/**
 * The hot statements of sends, deliveries and acks as SQL text made once per shape (statement and row
 * count; at most CHUNK rows, so a bounded set) and run with their parameters as they are: building
 * and compiling them with kysely's builder for every group took about as much CPU per envelope as
 * SQLite's own execution of them. The text is the same plain SQL on both dialects but for the
 * placeholders, which `place` numbers for Postgres.
 */
export class HotStatements {
  private readonly texts = new Map<string, string>();

  constructor(private readonly pg: boolean) {}

  /** The text of shape `key`, from `build` the first time. */
  text(key: string, build: (place: () => string) => string): string {
    let text = this.texts.get(key);
    if (text === undefined) {
      let n = 0;
      text = build(this.pg ? () => `$${++n}` : () => "?");
      this.texts.set(key, text);
    }
    return text;
  }
}

/** An upsert's update of a device's counters by the row it tried to insert. */
const COUNTER_SUMS = `"envelopes" = "device_mailbox"."envelopes" + "excluded"."envelopes", "bytes" = "device_mailbox"."bytes" + "excluded"."bytes"`;

/** `n` placeholders separated by commas. */
function placeholders(place: () => string, n: number): string {
  return Array.from({ length: n }, place).join(", ");
}

/** `rows` parenthesised tuples of `columns` placeholders each, for a multi-row VALUES. */
function tuples(place: () => string, rows: number, columns: number): string {
  return Array.from({ length: rows }, () => `(${placeholders(place, columns)})`).join(", ");
}

async function runRaw<R>(db: Db, text: string, parameters: unknown[]): Promise<R[]> {
  return (await db.executeQuery<R>(CompiledQuery.raw(text, parameters))).rows;
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/**
 * The last key of each id: an upload naming an id twice means its newest key, and Postgres refuses an
 * ON CONFLICT DO UPDATE that would touch one row twice in a statement.
 */
function lastOfEachId<T extends { id: number }>(keys: readonly T[]): T[] {
  return [...new Map(keys.map((k) => [k.id, k] as const)).values()];
}

async function putPrekeys(db: Db, address: string, deviceId: string, prekeys: readonly StoredOneTimePrekey[]): Promise<void> {
  for (const part of chunks(lastOfEachId(prekeys))) {
    await db
      .insertInto("one_time_prekeys")
      .values(part.map((k) => ({ address, device_id: deviceId, prekey_id: k.id, public_key: k.publicKey })))
      // A re-upload of an id replaces its key: the device holds only the newest private half.
      .onConflict((oc) => oc.columns(["address", "device_id", "prekey_id"]).doUpdateSet((eb) => ({ public_key: eb.ref("excluded.public_key") })))
      .execute();
  }
}

async function putKemPrekeys(db: Db, address: string, deviceId: string, prekeys: readonly StoredSignedPrekey[]): Promise<void> {
  for (const part of chunks(lastOfEachId(prekeys))) {
    await db
      .insertInto("kem_one_time_prekeys")
      .values(part.map((k) => ({ address, device_id: deviceId, prekey_id: k.id, public_key: k.publicKey, signature: k.signature })))
      .onConflict((oc) =>
        oc.columns(["address", "device_id", "prekey_id"]).doUpdateSet((eb) => ({ public_key: eb.ref("excluded.public_key"), signature: eb.ref("excluded.signature") })))
      .execute();
  }
}

/** The (account, device) row with its signed prekeys, and its one-time prekeys. */
async function insertAccountDevice(db: Db, reg: AccountRegistration): Promise<void> {
  await db
    .insertInto("account_devices")
    .values({
      address: reg.address,
      device_id: reg.deviceId,
      spk_id: reg.signedPrekey.id,
      spk_public: reg.signedPrekey.publicKey,
      spk_signature: reg.signedPrekey.signature,
      kem_id: reg.kemPrekey.id,
      kem_public: reg.kemPrekey.publicKey,
      kem_signature: reg.kemPrekey.signature,
      created_at: reg.now,
    })
    .execute();
  await putPrekeys(db, reg.address, reg.deviceId, reg.oneTimePrekeys);
  await putKemPrekeys(db, reg.address, reg.deviceId, reg.kemOneTimePrekeys ?? []);
}

// Each claim is one statement that picks and removes the lowest free id, so two claims can never
// return the same key. SQLite serialises the transactions. On Postgres (`skipLocked`) the pick locks
// its row and passes over rows other claims hold: without SKIP LOCKED, racing claims would all pick
// the same lowest id, one would delete it, and the others would re-check, find it gone and hand out
// no key at all while keys remain. The DELETE's own WHERE re-checks the locked row, so a key is still
// deleted, and returned, by exactly one claim.
async function claimPrekey(db: Db, address: string, deviceId: string, skipLocked: boolean): Promise<StoredOneTimePrekey | undefined> {
  const row = await db
    .deleteFrom("one_time_prekeys")
    .where("address", "=", address)
    .where("device_id", "=", deviceId)
    .where("prekey_id", "=", (eb) =>
      eb
        .selectFrom("one_time_prekeys")
        .select("prekey_id")
        .where("address", "=", address)
        .where("device_id", "=", deviceId)
        .orderBy("prekey_id")
        .limit(1)
        .$if(skipLocked, (qb) => qb.forUpdate().skipLocked()))
    .returning(["prekey_id", "public_key"])
    .executeTakeFirst();
  return row ? { id: row.prekey_id, publicKey: row.public_key } : undefined;
}

async function claimKemPrekey(db: Db, address: string, deviceId: string, skipLocked: boolean): Promise<StoredSignedPrekey | undefined> {
  const row = await db
    .deleteFrom("kem_one_time_prekeys")
    .where("address", "=", address)
    .where("device_id", "=", deviceId)
    .where("prekey_id", "=", (eb) =>
      eb
        .selectFrom("kem_one_time_prekeys")
        .select("prekey_id")
        .where("address", "=", address)
        .where("device_id", "=", deviceId)
        .orderBy("prekey_id")
        .limit(1)
        .$if(skipLocked, (qb) => qb.forUpdate().skipLocked()))
    .returning(["prekey_id", "public_key", "signature"])
    .executeTakeFirst();
  return row ? { id: row.prekey_id, publicKey: row.public_key, signature: row.signature } : undefined;
}

async function countPrekeys(db: Db, table: "one_time_prekeys" | "kem_one_time_prekeys", address: string, deviceId: string): Promise<number> {
  const { n } = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("address", "=", address)
    .where("device_id", "=", deviceId)
    .executeTakeFirstOrThrow();
  return Number(n);
}

function kemOf(row: { kem_id: number | null; kem_public: string | null; kem_signature: string | null }): StoredSignedPrekey | undefined {
  if (row.kem_id === null || row.kem_public === null || row.kem_signature === null) return undefined;
  return { id: row.kem_id, publicKey: row.kem_public, signature: row.kem_signature };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whole days since the epoch: all the ledger keeps of when. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

const LEDGER_KEY = "ledger_key";
const LEDGER_KEY_BYTES = 32;
// The first field: a later change of what is hashed gets a new tag, so old and new rows never meet.
const LEDGER_TAG = "junction relay ledger v1";

/**
 * The ledger row of an envelope: HMAC-SHA256 (RFC 2104) under the relay's ledger key over the tag,
 * sender device, recipient address, recipient device and envelope id, each as a 4-byte big-endian
 * byte length and its UTF-8 bytes, so no two different tuples encode to the same input.
 */
export function ledgerHash(key: Uint8Array, env: Pick<EnvelopeRecord, "fromDevice" | "to" | "toDevice" | "id">): Uint8Array {
  if (key.length !== LEDGER_KEY_BYTES) throw new RangeError("invalid ledger key");
  // The whole input in one buffer and one update: this runs for every envelope stored.
  const fields = [LEDGER_TAG, env.fromDevice, env.to, env.toDevice, env.id];
  let size = 0;
  for (const field of fields) size += 4 + Buffer.byteLength(field, "utf8");
  const input = Buffer.allocUnsafe(size);
  let at = 0;
  for (const field of fields) {
    const written = input.write(field, at + 4, "utf8");
    input.writeUInt32BE(written, at);
    at += 4 + written;
  }
  return new Uint8Array(createHmac("sha256", key).update(input).digest());
}

/**
 * The ledger key, created on first open. Insert-if-absent then read: relays starting together on one
 * Postgres database all end up with whichever key was written first.
 */
async function loadLedgerKey(db: Kysely<RelayDatabase>): Promise<Uint8Array> {
  const candidate = randomBytes(LEDGER_KEY_BYTES);
  try {
    await db.insertInto("relay_secrets").values({ name: LEDGER_KEY, value: candidate }).onConflict((oc) => oc.column("name").doNothing()).execute();
  } finally {
    candidate.fill(0);
  }
  const row = await db.selectFrom("relay_secrets").select("value").where("name", "=", LEDGER_KEY).executeTakeFirstOrThrow();
  const key = Uint8Array.from(row.value);
  row.value.fill(0);
  if (key.length !== LEDGER_KEY_BYTES) throw new RangeError("invalid ledger key");
  return key;
}

function checkQuotas(quotas: MailboxQuotas): void {
  for (const limit of [quotas.perDeviceEnvelopes, quotas.perDeviceBytes]) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError("invalid quota");
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

export interface Candidate {
  env: EnvelopeRecord;
  hash: Uint8Array;
  /** `hash` in hex, made once: the group's sets and maps are keyed by it. */
  key: string;
}

/** What a batch adds to one device's mailbox; `to` is the first address it came to, for a refusal. */
export interface MailboxDelta {
  to: Address;
  envelopes: number;
  bytes: number;
}

function deltas(items: readonly EnvelopeRecord[]): Map<string, MailboxDelta> {
  const out = new Map<string, MailboxDelta>();
  for (const env of items) {
    const delta = out.get(env.toDevice);
    if (delta) {
      delta.envelopes++;
      delta.bytes += env.body.byteLength;
    } else {
      out.set(env.toDevice, { to: env.to, envelopes: 1, bytes: env.body.byteLength });
    }
  }
  return out;
}

/**
 * Postgres: takes, until commit, the insert lock of every recipient device of a batch, in one fixed
 * order (so two batches cannot deadlock on them), before anything of the batch is read or written.
 *
 * Why: delivery pages by cursor (`pendingEnvelopes(deviceId, afterSeq)`, and the connection moves its
 * cursor to the highest seq it pushed). A seq is drawn from the sequence when the row is inserted, but
 * becomes visible at commit, and at READ COMMITTED concurrent inserts commit in any order: seq 11 could
 * be read, and the cursor moved past 10, before 10 commits, which would then never be delivered on that
 * connection. Under this lock the inserts for one device take turns, from before the seq is drawn until
 * after commit (Postgres makes a commit visible before it releases the transaction's locks), so per
 * device seq order is commit order and any seq a reader sees has every lower one of that device
 * already visible. The cursor contract holds unchanged on both dialects.
 *
 * Alternatives weighed: reading only below the oldest running transaction (pg_snapshot_xmin plus an
 * xid column) needs a migration and lets one slow transaction anywhere hold back every device's
 * delivery. This lock costs little: sends to one device already take turns on its counter row
 * (device_mailbox, locked from the counter update to commit); the lock starts each turn at the top of
 * the transaction instead, which also makes the ledger, duplicate and quota reads below exact.
 */
async function lockRecipientDevices(trx: Transaction<RelayDatabase>, deviceIds: readonly string[]): Promise<void> {
  const keys = [...new Set(deviceIds.map(deviceLockKey))].sort((a, b) => a - b);
  for (const key of keys) await sql`SELECT pg_advisory_xact_lock(${ENVELOPE_INSERTS_LOCK}::int4, ${key}::int4)`.execute(trx);
}

/**
 * Writes the envelopes and their ledger rows; returns those that went in. The reads before are exact
 * (SQLite runs one writer at a time, and on Postgres every batch to these devices waits on their
 * insert locks); DO NOTHING stays as the guard of last resort, and RETURNING says which rows went in.
 * Multi-row statements, not one per envelope: thousands of envelopes are a few dozen statements.
 */
export async function insertEnvelopes(trx: Db, hot: HotStatements, fresh: readonly Candidate[]): Promise<EnvelopeRecord[]> {
  const stored: EnvelopeRecord[] = [];
  for (const part of chunks(fresh)) {
    const ledgerRows: unknown[] = [];
    for (const { env, hash } of part) ledgerRows.push(hash, dayOf(env.ts));
    const firsts = await runRaw<{ hash: Uint8Array }>(
      trx,
      hot.text(`ledger insert ${part.length}`, (p) => `insert into "envelope_ledger" ("hash", "day") values ${tuples(p, part.length, 2)} on conflict ("hash") do nothing returning "hash"`),
      ledgerRows,
    );
    // As many rows back as went in means all of them did (the usual case): no set to build.
    const firstSeen = firsts.length === part.length ? null : new Set(firsts.map((r) => hex(r.hash)));
    const envs = (firstSeen ? part.filter((c) => firstSeen.has(c.key)) : part).map((c) => c.env);
    if (envs.length === 0) continue;
    const rows: unknown[] = [];
    for (const env of envs) rows.push(env.id, env.to, env.toDevice, env.from, env.fromDevice, env.body, env.ts);
    const put = await runRaw<{ id: string; to_address: string; to_device: string; from_device: string }>(
      trx,
      hot.text(
        `envelopes insert ${envs.length}`,
        (p) =>
          `insert into "envelopes" ("id", "to_address", "to_device", "from_address", "from_device", "body", "ts") values ${tuples(p, envs.length, 7)}` +
          ` on conflict ("to_device", "to_address", "id", "from_device") do nothing returning "id", "to_address", "to_device", "from_device"`,
      ),
      rows,
    );
    if (put.length === envs.length) {
      stored.push(...envs);
      continue;
    }
    const key = (id: string, to: string, toDevice: string, fromDevice: string) => JSON.stringify([id, to, toDevice, fromDevice]);
    const went = new Set(put.map((r) => key(r.id, r.to_address, r.to_device, r.from_device)));
    for (const env of envs) if (went.has(key(env.id, env.to, env.toDevice, env.fromDevice))) stored.push(env);
  }
  return stored;
}

/**
 * Adds `delta` to the device's counter if it stays within `quotas`; false (nothing changed) if not.
 * Check and add in one statement, under the row lock, against the committed count: the decision that
 * counts. The reads before already saw every committed send to the device (the insert lock); acks
 * and sweeps only lower the count meanwhile. This holds on its own too: at READ COMMITTED, ON
 * CONFLICT DO UPDATE waits for a concurrent writer of the row and evaluates its WHERE on the newest
 * version, so a quota is never exceeded.
 */
function addToCounter(trx: Db, hot: HotStatements, deviceId: string, delta: MailboxDelta, quotas: MailboxQuotas): Promise<boolean> {
  return addToCounters(trx, hot, new Map([[deviceId, delta]]), new Map([[deviceId, quotas]]));
}

/**
 * `addToCounter` for many devices in few statements: one multi-row upsert per quota (a group's calls
 * normally share one), rows in lock order. True if every device's row took its delta; false if any
 * guard refused (then some may have: the caller rolls back).
 */
export async function addToCounters(trx: Db, hot: HotStatements, added: ReadonlyMap<string, MailboxDelta>, quotaOf: ReadonlyMap<string, MailboxQuotas>): Promise<boolean> {
  const byQuota = new Map<string, { quotas: MailboxQuotas; deviceIds: string[] }>();
  for (const deviceId of lockOrder(added)) {
    const quotas = quotaOf.get(deviceId)!;
    const delta = added.get(deviceId)!;
    if (delta.envelopes > quotas.perDeviceEnvelopes || delta.bytes > quotas.perDeviceBytes) return false;
    const key = `${quotas.perDeviceEnvelopes}/${quotas.perDeviceBytes}`;
    const same = byQuota.get(key) ?? { quotas, deviceIds: [] };
    same.deviceIds.push(deviceId);
    byQuota.set(key, same);
  }
  for (const { quotas, deviceIds } of byQuota.values()) {
    for (const part of chunks(deviceIds)) {
      const parameters: unknown[] = [];
      for (const deviceId of part) parameters.push(deviceId, added.get(deviceId)!.envelopes, added.get(deviceId)!.bytes);
      parameters.push(quotas.perDeviceEnvelopes, quotas.perDeviceBytes);
      const counted = await runRaw<{ device_id: string }>(
        trx,
        hot.text(
          `counters add ${part.length}`,
          (p) =>
            `insert into "device_mailbox" ("device_id", "envelopes", "bytes") values ${tuples(p, part.length, 3)} on conflict ("device_id") do update set ${COUNTER_SUMS}` +
            ` where ("device_mailbox"."envelopes" + "excluded"."envelopes" <= ${p()} and "device_mailbox"."bytes" + "excluded"."bytes" <= ${p()}) returning "device_id"`,
        ),
        parameters,
      );
      if (counted.length !== part.length) return false;
    }
  }
  return true;
}

/** The candidates not in `taken`, each once, and their hex hashes. */
function unknownOnes(candidates: readonly Candidate[], taken: ReadonlySet<string>): { mine: Set<string>; fresh: Candidate[] } {
  const mine = new Set<string>();
  const fresh: Candidate[] = [];
  for (const c of candidates) {
    const h = c.key;
    if (taken.has(h) || mine.has(h)) continue;
    mine.add(h);
    fresh.push(c);
  }
  return { mine, fresh };
}

/** The first device `wanted` would take past `quotas`, counting what it `held` already; null if none. */
function overQuota(wanted: ReadonlyMap<string, MailboxDelta>, held: ReadonlyMap<string, { envelopes: number; bytes: number }>, quotas: MailboxQuotas): string | null {
  for (const [deviceId, delta] of wanted) {
    const now = held.get(deviceId) ?? { envelopes: 0, bytes: 0 };
    if (now.envelopes + delta.envelopes > quotas.perDeviceEnvelopes || now.bytes + delta.bytes > quotas.perDeviceBytes) return deviceId;
  }
  return null;
}

/** The group's fast path wrote something other than it decided: re-run the group call by call. */
class GroupMismatch extends Error {
  constructor() {
    super("group write disagrees with its reads");
    this.name = "GroupMismatch";
  }
}

/** Thrown inside a transaction to roll it back and answer with `outcome`. */
class Refusal extends Error {
  constructor(readonly outcome: StoreEnvelopesOutcome) {
    super("refused");
    this.name = "Refusal";
  }
}

/** The keys of a map in one fixed order: row locks taken in it cannot deadlock with each other. */
function lockOrder<V>(map: ReadonlyMap<string, V>): string[] {
  return [...map.keys()].sort();
}

/**
 * Deletes the acked envelopes of `deviceId` and returns what went (device, body bytes). One statement
 * per recipient address and sender (an ack names one or a few), not one per envelope: a backlog's acks
 * cost a handful of index probes each.
 */
async function deleteFrom(db: Db, hot: HotStatements, deviceId: string, refs: readonly EnvelopeRef[]): Promise<{ to_device: string; bytes: number }[]> {
  const groups = new Map<string, { to: Address; fromDevice?: string; ids: string[] }>();
  for (const ref of refs) {
    const key = JSON.stringify([ref.to, ref.fromDevice ?? null]);
    const group = groups.get(key);
    if (group) group.ids.push(ref.id);
    else groups.set(key, { to: ref.to, fromDevice: ref.fromDevice, ids: [ref.id] });
  }
  const gone: { to_device: string; bytes: number }[] = [];
  for (const { to, fromDevice, ids } of groups.values()) {
    for (const chunk of chunks(ids)) {
      const bySender = fromDevice !== undefined;
      const text = hot.text(
        `ack delete ${bySender} ${chunk.length}`,
        (p) =>
          `delete from "envelopes" where "to_device" = ${p()} and "to_address" = ${p()} and "id" in (${placeholders(p, chunk.length)})` +
          `${bySender ? ` and "from_device" = ${p()}` : ""} returning "to_device", length("body") as "bytes"`,
      );
      const parameters: unknown[] = [deviceId, to, ...chunk];
      if (bySender) parameters.push(fromDevice);
      gone.push(...(await runRaw<{ to_device: string; bytes: number }>(db, text, parameters)));
    }
  }
  return gone;
}

/** Takes deleted envelopes (device, body bytes) off the device counters; drops rows left empty. */
async function subtractFromMailboxes(db: Db, hot: HotStatements, gone: readonly { to_device: string; bytes: number | string | bigint }[]): Promise<void> {
  const byDevice = new Map<string, { envelopes: number; bytes: number }>();
  for (const row of gone) {
    const delta = byDevice.get(row.to_device) ?? { envelopes: 0, bytes: 0 };
    delta.envelopes++;
    delta.bytes += Number(row.bytes);
    byDevice.set(row.to_device, delta);
  }
  const deviceIds = lockOrder(byDevice);
  // One multi-row upsert of the negated deltas instead of an UPDATE per device (a round trip each on
  // Postgres), rows in lock order as before. A device whose row is missing (none should be: its
  // envelopes were counted) gets a row below zero, which the delete below drops at once.
  for (const part of chunks(deviceIds)) {
    const parameters: unknown[] = [];
    for (const deviceId of part) parameters.push(deviceId, -byDevice.get(deviceId)!.envelopes, -byDevice.get(deviceId)!.bytes);
    await runRaw(
      db,
      hot.text(
        `counters subtract ${part.length}`,
        (p) => `insert into "device_mailbox" ("device_id", "envelopes", "bytes") values ${tuples(p, part.length, 3)} on conflict ("device_id") do update set ${COUNTER_SUMS}`,
      ),
      parameters,
    );
  }
  // No row for a device with nothing pending: the table lists only who has mail waiting now.
  for (const part of chunks(deviceIds)) {
    await runRaw(db, hot.text(`counters drop ${part.length}`, (p) => `delete from "device_mailbox" where "device_id" in (${placeholders(p, part.length)}) and "envelopes" <= 0`), part);
  }
}

// Rows per expiry transaction: a large sweep never holds the (SQLite: only) writer for long.
const SWEEP_BATCH = 1000;

// Attempts of one Postgres transaction that lost a race (deadlock, serialization failure, or for
// registration a unique violation). Each retry re-reads what the winner committed, so a second
// attempt settles every race seen so far; the third is headroom.
const ATTEMPTS = 3;

interface TransactOptions {
  /** Postgres: snapshot isolation for a multi-read answer (READ COMMITTED re-snapshots per statement). */
  repeatableRead?: boolean;
  /**
   * false: the answer need not wait until the commit is on disk (reads, and deletes: an ack or an expiry
   * lost to a power cut only brings an envelope back, which clients dedupe). Default true.
   */
  durable?: boolean;
  /** Postgres: also retry on a unique violation, which the re-run turns into an answer. */
  retryUnique?: boolean;
}

export class KyselyRelayStore implements GroupableStore {
  private readonly pg: boolean;
  private readonly hot: HotStatements;

  private constructor(
    private readonly db: Kysely<RelayDatabase>,
    dialect: SqlDialect,
    private readonly ledgerKey: Uint8Array,
    private readonly onScrub: (db: Kysely<RelayDatabase>) => Promise<void>,
    private readonly durable: () => Promise<void>,
  ) {
    this.pg = dialect === "postgres";
    this.hot = new HotStatements(this.pg);
  }

  /** Over a migrated database: loads (on first open, creates) the ledger key. */
  static async open(
    db: Kysely<RelayDatabase>,
    dialect: SqlDialect,
    onScrub: (db: Kysely<RelayDatabase>) => Promise<void> = async () => {},
    /**
     * Resolves once every transaction committed before the call is on disk; awaited before a write is
     * answered. The default is for a database whose commit itself is durable (Postgres; SQLite with
     * synchronous = FULL). The SQLite adapter commits without fsync and passes a shared, coalesced
     * fsync of its write-ahead log here, so one fsync covers every commit that came before it.
     */
    durable: () => Promise<void> = async () => {},
  ): Promise<KyselyRelayStore> {
    return new KyselyRelayStore(db, dialect, await loadLedgerKey(db), onScrub, durable);
  }

  /**
   * One transaction on `db`; on Postgres retried when it lost a race that a re-run resolves. Nothing of
   * a failed attempt is kept (it rolled back), so every method here may be re-run whole.
   */
  private async transact<T>(work: (trx: Transaction<RelayDatabase>) => Promise<T>, opts: TransactOptions = {}, db: Kysely<RelayDatabase> = this.db): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const builder = db.transaction();
        const result = await (this.pg && opts.repeatableRead ? builder.setIsolationLevel("repeatable read") : builder).execute(work);
        if (opts.durable !== false) await this.durable();
        return result;
      } catch (err) {
        const code = pgErrorCode(err);
        const retryable = code === PG_DEADLOCK_DETECTED || code === PG_SERIALIZATION_FAILURE || (opts.retryUnique === true && code === PG_UNIQUE_VIOLATION);
        if (!this.pg || !retryable || attempt >= ATTEMPTS) throw err;
      }
    }
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | null> {
    const row = await this.db.selectFrom("devices").select(["device_id", "auth_key"]).where("device_id", "=", deviceId).executeTakeFirst();
    return row ? { deviceId: row.device_id, authKey: row.auth_key } : null;
  }

  async registerAccount(reg: AccountRegistration, mode: RegisterMode, maxAccountsPerDevice: number): Promise<RegisterOutcome> {
    try {
      return await this.transact((trx) => this.register(trx, reg, mode, maxAccountsPerDevice), { retryUnique: true });
    } catch (err) {
      // Only after ATTEMPTS lost races in a row: the winner's row names the answer.
      if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) {
        const constraint = pgConstraint(err);
        if (constraint === "accounts_pkey") return "handle_taken";
        if (constraint === "devices_pkey") return "device_exists";
      }
      throw err;
    }
  }

  /**
   * The checks read, then the inserts write. On Postgres two registrations can pass the same checks at
   * once: of a handle (or a new device id) the second insert then hits the primary key, a unique
   * violation that `registerAccount` answers by running this again, which reads the winner's rows and
   * says `handle_taken`, `device_exists` or (a retry racing its original) `ok`. What no key guards,
   * one brand per device and the account cap, is kept by locking the device row (FOR NO KEY UPDATE:
   * enough to make such lockers take turns, while foreign-key checks on the row still pass) before
   * reading its accounts, so registrations onto one existing device run one after another.
   */
  private async register(trx: Transaction<RelayDatabase>, reg: AccountRegistration, mode: RegisterMode, maxAccountsPerDevice: number): Promise<RegisterOutcome> {
    const device = await trx
      .selectFrom("devices")
      .select("auth_key")
      .where("device_id", "=", reg.deviceId)
      .$if(this.pg, (qb) => qb.forNoKeyUpdate())
      .executeTakeFirst();
    // A retry of a registration whose ack was lost: already done, and nothing is replaced.
    if (device && device.auth_key === reg.authKey && (await this.holds(trx, reg))) return "ok";
    if (mode === "new_device") {
      if (device) return "device_exists";
    } else {
      if (!device) return "unknown_device";
      if (device.auth_key !== reg.authKey) return "auth_key_mismatch";
      const held = await trx.selectFrom("account_devices").select("address").where("device_id", "=", reg.deviceId).execute();
      if (held.some((row) => brandOf(row.address) === reg.brand)) return "brand_taken";
      if (held.length >= maxAccountsPerDevice) return "too_many_accounts";
    }
    const taken = await trx.selectFrom("accounts").select("address").where("address", "=", reg.address).executeTakeFirst();
    // Taken by the very registration racing this one, if it committed between the device read and this one
    // (each statement sees what was committed before it began): then this is its retry, and done.
    if (taken) return (await this.isOwnRetry(trx, reg)) ? "ok" : "handle_taken";
    if (!device) {
      await trx.insertInto("devices").values({ device_id: reg.deviceId, auth_key: reg.authKey, created_at: reg.now }).execute();
    }
    await trx.insertInto("accounts").values({ address: reg.address, brand: reg.brand, identity_key: reg.identityKey, created_at: reg.now }).execute();
    await insertAccountDevice(trx, reg);
    return "ok";
  }

  /** The account is registered to this device with this identity key. */
  private async holds(trx: Transaction<RelayDatabase>, reg: AccountRegistration): Promise<boolean> {
    const held = await trx
      .selectFrom("account_devices")
      .innerJoin("accounts", "accounts.address", "account_devices.address")
      .select("accounts.identity_key")
      .where("account_devices.address", "=", reg.address)
      .where("account_devices.device_id", "=", reg.deviceId)
      .executeTakeFirst();
    return held?.identity_key === reg.identityKey;
  }

  /** The device (with this auth key) and its account as `reg` would make them are there already. */
  private async isOwnRetry(trx: Transaction<RelayDatabase>, reg: AccountRegistration): Promise<boolean> {
    const device = await trx.selectFrom("devices").select("auth_key").where("device_id", "=", reg.deviceId).executeTakeFirst();
    return device?.auth_key === reg.authKey && (await this.holds(trx, reg));
  }

  addCompanion(reg: AccountRegistration, list: { version: number; signed: string }, maxDevices: number): Promise<AddCompanionOutcome> {
    return this.transact(async (trx): Promise<AddCompanionOutcome> => {
      // the account row locked first: two companions joining at once take turns (their lists race)
      const account = await trx
        .selectFrom("accounts")
        .select(["identity_key", "device_list_version"])
        .where("address", "=", reg.address)
        .$if(this.pg, (qb) => qb.forUpdate())
        .executeTakeFirst();
      if (!account) return "not_found";
      if (account.identity_key !== reg.identityKey) return "key_mismatch";
      const device = await trx.selectFrom("devices").select("auth_key").where("device_id", "=", reg.deviceId).executeTakeFirst();
      if (device) {
        const held = await trx.selectFrom("account_devices").select("device_id").where("address", "=", reg.address).where("device_id", "=", reg.deviceId).executeTakeFirst();
        // a repeat of a registration whose answer was lost
        return held && device.auth_key === reg.authKey ? "ok" : "device_exists";
      }
      if (account.device_list_version !== null && Number(account.device_list_version) >= list.version) return "stale";
      const count = await trx.selectFrom("account_devices").select((eb) => eb.fn.countAll().as("n")).where("address", "=", reg.address).executeTakeFirst();
      if (Number(count?.n ?? 0) >= maxDevices) return "too_many_devices";
      await trx.insertInto("devices").values({ device_id: reg.deviceId, auth_key: reg.authKey, created_at: reg.now }).execute();
      await insertAccountDevice(trx, reg);
      await trx.updateTable("accounts").set({ device_list: list.signed, device_list_version: list.version }).where("address", "=", reg.address).execute();
      return "ok";
    });
  }

  removeDevices(address: Address, keep: readonly string[]): Promise<string[]> {
    return this.transact(async (trx) => {
      const rows = await trx.selectFrom("account_devices").select("device_id").where("address", "=", address).execute();
      const gone = rows.map((r) => r.device_id).filter((d) => !keep.includes(d));
      if (gone.length === 0) return [];
      for (const table of ["one_time_prekeys", "kem_one_time_prekeys", "account_devices"] as const) {
        await trx.deleteFrom(table).where("address", "=", address).where("device_id", "in", gone).execute();
      }
      await trx.deleteFrom("envelopes").where("to_address", "=", address).where("to_device", "in", gone).execute();
      for (const deviceId of gone) {
        const other = await trx.selectFrom("account_devices").select("address").where("device_id", "=", deviceId).executeTakeFirst();
        if (other) continue;
        // its mail is gone with it (every account is its own device), and so is its login
        await trx.deleteFrom("envelopes").where("to_device", "=", deviceId).execute();
        await trx.deleteFrom("device_mailbox").where("device_id", "=", deviceId).execute();
        await trx.deleteFrom("devices").where("device_id", "=", deviceId).execute();
      }
      return gone;
    });
  }

  async accountsOfDevice(deviceId: string): Promise<Address[]> {
    const rows = await this.db.selectFrom("account_devices").select("address").where("device_id", "=", deviceId).orderBy("created_at").orderBy("address").execute();
    return rows.map((row) => row.address as Address);
  }

  async getAccount(address: Address): Promise<AccountRecord | null> {
    const account = await this.db
      .selectFrom("accounts")
      .select(["identity_key", "device_list", "device_list_version"])
      .where("address", "=", address)
      .executeTakeFirst();
    if (!account) return null;
    const devices = await this.db.selectFrom("account_devices").select("device_id").where("address", "=", address).orderBy("created_at").orderBy("device_id").execute();
    const record: AccountRecord = { address, identityKey: account.identity_key, deviceIds: devices.map((d) => d.device_id) };
    if (account.device_list !== null && account.device_list_version !== null) record.deviceList = { version: Number(account.device_list_version), signed: account.device_list };
    return record;
  }

  async putDeviceList(address: Address, version: number, signed: string): Promise<PutDeviceListOutcome> {
    // one conditional update: of two lists racing on two nodes, the higher version stays
    const updated = await this.db
      .updateTable("accounts")
      .set({ device_list: signed, device_list_version: version })
      .where("address", "=", address)
      .where((eb) => eb.or([eb("device_list_version", "is", null), eb("device_list_version", "<", version)]))
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) > 0) return "stored";
    const row = await this.db.selectFrom("accounts").select(["device_list", "device_list_version"]).where("address", "=", address).executeTakeFirst();
    if (!row) return "not_found";
    return Number(row.device_list_version) === version && row.device_list === signed ? "unchanged" : "stale";
  }

  claimBundles(address: Address, deviceIds?: string[], opts: { oneTime?: boolean } = {}) {
    const oneTimeToo = opts.oneTime ?? true;
    return this.transact(async (trx) => {
      const account = await trx.selectFrom("accounts").select("identity_key").where("address", "=", address).executeTakeFirst();
      if (!account) return null;
      if (deviceIds && deviceIds.length === 0) return { identityKey: account.identity_key, bundles: [], missing: [] };
      let query = trx.selectFrom("account_devices").selectAll().where("address", "=", address);
      if (deviceIds) query = query.where("device_id", "in", deviceIds);
      const rows = await query.orderBy("created_at").orderBy("device_id").execute();
      const missing = (deviceIds ?? []).filter((id) => !rows.some((row) => row.device_id === id));
      const bundles: ClaimedBundle[] = [];
      for (const row of rows) {
        const bundle: ClaimedBundle = {
          deviceId: row.device_id,
          signedPrekey: { id: row.spk_id, publicKey: row.spk_public, signature: row.spk_signature },
        };
        // The last-resort KEM prekey goes with every bundle, also next to a one-time one: clients
        // refuse any bundle without it, whatever else it carries.
        const kem = kemOf(row);
        if (kem) bundle.kemPrekey = kem;
        if (oneTimeToo) {
          const oneTime = await claimPrekey(trx, address, row.device_id, this.pg);
          if (oneTime) bundle.oneTimePrekey = oneTime;
          const kemOneTime = await claimKemPrekey(trx, address, row.device_id, this.pg);
          if (kemOneTime) bundle.kemOneTimePrekey = kemOneTime;
        }
        bundles.push(bundle);
      }
      return { identityKey: account.identity_key, bundles, missing };
    });
  }

  updateKeys(address: Address, deviceId: string, update: KeysUpdate, caps: PrekeyCaps): Promise<UpdateKeysOutcome> {
    return this.transact(async (trx): Promise<UpdateKeysOutcome> => {
      // Postgres: the row lock makes concurrent uploads for one (account, device) take turns, so the
      // cap checks below count what the previous upload committed. Claims only ever lower the counts.
      const row = await trx
        .selectFrom("account_devices")
        .select("device_id")
        .where("address", "=", address)
        .where("device_id", "=", deviceId)
        .$if(this.pg, (qb) => qb.forNoKeyUpdate())
        .executeTakeFirst();
      if (!row) return "not_found";
      // Both caps are checked before anything is written, so a refused upload changes nothing. A
      // re-uploaded id is counted as new: the check errs on the side of refusing.
      const fresh = lastOfEachId(update.oneTimePrekeys ?? []);
      if (fresh.length && (await countPrekeys(trx, "one_time_prekeys", address, deviceId)) + fresh.length > caps.oneTime) return "too_many";
      const freshKem = lastOfEachId(update.kemOneTimePrekeys ?? []);
      if (freshKem.length && (await countPrekeys(trx, "kem_one_time_prekeys", address, deviceId)) + freshKem.length > caps.kemOneTime) {
        return "too_many_kem";
      }
      const set: Partial<RelayDatabase["account_devices"]> = {};
      if (update.signedPrekey) Object.assign(set, { spk_id: update.signedPrekey.id, spk_public: update.signedPrekey.publicKey, spk_signature: update.signedPrekey.signature });
      if (update.kemPrekey) Object.assign(set, { kem_id: update.kemPrekey.id, kem_public: update.kemPrekey.publicKey, kem_signature: update.kemPrekey.signature });
      if (Object.keys(set).length) {
        await trx.updateTable("account_devices").set(set).where("address", "=", address).where("device_id", "=", deviceId).execute();
      }
      await putPrekeys(trx, address, deviceId, fresh);
      await putKemPrekeys(trx, address, deviceId, freshKem);
      return "ok";
    });
  }

  keyStatus(address: Address, deviceId: string): Promise<KeyStatus | null> {
    // One transaction, so the counts and ids are one consistent snapshot (on Postgres that takes
    // REPEATABLE READ: at READ COMMITTED each statement would see its own).
    return this.transact(async (trx) => {
      const row = await trx.selectFrom("account_devices").select(["spk_id", "kem_id"]).where("address", "=", address).where("device_id", "=", deviceId).executeTakeFirst();
      if (!row) return null;
      const status: KeyStatus = {
        oneTimePrekeys: await countPrekeys(trx, "one_time_prekeys", address, deviceId),
        signedPrekeyId: row.spk_id,
        kemOneTimePrekeys: await countPrekeys(trx, "kem_one_time_prekeys", address, deviceId),
      };
      if (row.kem_id !== null) status.kemPrekeyId = row.kem_id;
      return status;
    }, { repeatableRead: true, durable: false });
  }

  async storeEnvelopes(envelopes: EnvelopeRecord[], quotas: MailboxQuotas): Promise<StoreEnvelopesOutcome> {
    checkQuotas(quotas);
    const candidates = this.candidates(envelopes);
    try {
      return await this.transact(async (trx) => {
        if (this.pg) await lockRecipientDevices(trx, candidates.map((c) => c.env.toDevice));
        return await this.storeInto(trx, candidates, quotas);
      });
    } catch (err) {
      if (err instanceof Refusal) return err.outcome;
      throw err;
    }
  }

  /**
   * Many `storeEnvelopes` calls in one transaction, one commit (group commit, see groupCommit.ts), each
   * with its own outcome, exactly as if they ran one after another in this order: a refused call
   * writes nothing and the calls around it are untouched. Any error fails the group: the transaction
   * rolls back and this rejects, so every call rejects and none stored anything.
   *
   * How: pre-validate and partition. The group's reads are made once for all its calls (recipient
   * devices, ledger, pending envelopes, mailbox counters), the calls are decided in order in memory on
   * them (each sees what the accepted calls before it add), and the accepted envelopes are written in a
   * few multi-row statements: a group's cost grows with its envelopes, hardly with its calls. The
   * reads are exact for the same reason as in `storeInto` (one writer on SQLite; on Postgres the insert
   * locks of every recipient device of the group, taken first in one sorted order, so seq order stays
   * commit order per device and two groups cannot deadlock on them; a deadlock or serialization
   * failure re-runs the group). If a write still disagrees with a decision (a counter's guard, a
   * conflicting insert: not expected), the group is re-run call by call, each inside a SAVEPOINT.
   */
  async storeEnvelopesGroup(calls: readonly StoreEnvelopesCall[]): Promise<StoreEnvelopesOutcome[]> {
    for (const call of calls) checkQuotas(call.quotas);
    const each = calls.map((call) => ({ candidates: this.candidates(call.envelopes), quotas: call.quotas }));
    const lock = async (trx: Transaction<RelayDatabase>) => {
      if (this.pg) await lockRecipientDevices(trx, each.flatMap((c) => c.candidates.map((x) => x.env.toDevice)));
    };
    try {
      return await this.transact(async (trx) => {
        await lock(trx);
        return await this.storeGroupInto(trx, each);
      });
    } catch (err) {
      if (!(err instanceof GroupMismatch)) throw err;
    }
    return this.transact(async (trx) => {
      await lock(trx);
      const outcomes: StoreEnvelopesOutcome[] = [];
      for (const { candidates, quotas } of each) {
        // One name, used one call at a time: each savepoint is released or rolled back (and then
        // released) before the next call opens its own.
        await sql`SAVEPOINT group_call`.execute(trx);
        let outcome: StoreEnvelopesOutcome;
        try {
          outcome = await this.storeInto(trx, candidates, quotas);
        } catch (err) {
          if (!(err instanceof Refusal)) throw err;
          outcome = err.outcome;
        }
        if (!outcome.ok) await sql`ROLLBACK TO SAVEPOINT group_call`.execute(trx);
        await sql`RELEASE SAVEPOINT group_call`.execute(trx);
        outcomes.push(outcome);
      }
      return outcomes;
    });
  }

  /** The fast path of `storeEnvelopesGroup`: reads once, decides each call in memory, writes once. */
  private async storeGroupInto(trx: Transaction<RelayDatabase>, each: readonly { candidates: Candidate[]; quotas: MailboxQuotas }[]): Promise<StoreEnvelopesOutcome[]> {
    const all = each.flatMap((c) => c.candidates);
    const mailboxKey = (env: EnvelopeRecord) => `${env.to}\n${env.toDevice}`;
    const devices = [...new Set(all.map((c) => c.env.toDevice))];
    const existing = new Set<string>();
    const held = new Map<string, { envelopes: number; bytes: number }>();
    for (const part of chunks(devices)) {
      const rows = await runRaw<{ address: string; device_id: string }>(
        trx,
        this.hot.text(`recipients ${part.length}`, (p) => `select "address", "device_id" from "account_devices" where "device_id" in (${placeholders(p, part.length)})`),
        part,
      );
      for (const row of rows) existing.add(`${row.address}\n${row.device_id}`);
      const counters = await runRaw<{ device_id: string; envelopes: number | string; bytes: number | string }>(
        trx,
        this.hot.text(`counters read ${part.length}`, (p) => `select "device_id", "envelopes", "bytes" from "device_mailbox" where "device_id" in (${placeholders(p, part.length)})`),
        part,
      );
      for (const row of counters) held.set(row.device_id, { envelopes: Number(row.envelopes), bytes: Number(row.bytes) });
    }
    // The ledger only: an envelope still pending after its ledger row expired (a retry days later) is
    // refused by the insert's DO NOTHING instead, and the mismatch re-runs the group on the exact path.
    const taken = await this.known(trx, all.filter((c) => existing.has(mailboxKey(c.env))), false);
    const outcomes: StoreEnvelopesOutcome[] = [];
    const accepted: Candidate[] = [];
    const maxQuota = new Map<string, MailboxQuotas>();
    calls: for (const { candidates, quotas } of each) {
      for (const { env } of candidates) {
        if (!existing.has(mailboxKey(env))) {
          outcomes.push({ ok: false, reason: "unknown_device", to: env.to, toDevice: env.toDevice });
          continue calls;
        }
      }
      let { mine, fresh } = unknownOnes(candidates, taken);
      let wanted = deltas(fresh.map((c) => c.env));
      let over = overQuota(wanted, held, quotas);
      if (over) {
        // Before refusing: some may be pending still (the ledger was not asked about those), and an
        // envelope already stored counts against no quota.
        for (const h of await this.known(trx, fresh)) taken.add(h);
        ({ mine, fresh } = unknownOnes(candidates, taken));
        wanted = deltas(fresh.map((c) => c.env));
        over = overQuota(wanted, held, quotas);
      }
      if (over) {
        outcomes.push({ ok: false, reason: "quota_exceeded", to: wanted.get(over)!.to, toDevice: over });
        continue;
      }
      for (const h of mine) taken.add(h);
      for (const [deviceId, delta] of wanted) {
        const now = held.get(deviceId) ?? { envelopes: 0, bytes: 0 };
        held.set(deviceId, { envelopes: now.envelopes + delta.envelopes, bytes: now.bytes + delta.bytes });
        const q = maxQuota.get(deviceId);
        maxQuota.set(deviceId, {
          perDeviceEnvelopes: Math.max(q?.perDeviceEnvelopes ?? 0, quotas.perDeviceEnvelopes),
          perDeviceBytes: Math.max(q?.perDeviceBytes ?? 0, quotas.perDeviceBytes),
        });
      }
      accepted.push(...fresh);
      outcomes.push({ ok: true, stored: fresh.length, deviceIds: [...wanted.keys()] });
    }
    const stored = await insertEnvelopes(trx, this.hot, accepted);
    if (stored.length !== accepted.length) throw new GroupMismatch();
    if (!(await addToCounters(trx, this.hot, deltas(stored), maxQuota))) throw new GroupMismatch();
    return outcomes;
  }

  /**
   * The hex hashes of the candidates already stored once: in the ledger, or still pending (an
   * envelope outlives its ledger row: 30 days against 7).
   */
  private async known(trx: Db, candidates: readonly Candidate[], pendingToo = true): Promise<Set<string>> {
    const known = new Set<string>();
    const unique = [...new Map(candidates.map((c) => [c.key, c] as const)).values()];
    for (const part of chunks(unique)) {
      const rows = await runRaw<{ hash: Uint8Array }>(
        trx,
        this.hot.text(`ledger read ${part.length}`, (p) => `select "hash" from "envelope_ledger" where "hash" in (${placeholders(p, part.length)})`),
        part.map((c) => c.hash),
      );
      for (const row of rows) known.add(hex(row.hash));
    }
    if (!pendingToo) return known;
    const byMailbox = new Map<string, { to: Address; toDevice: string; items: Candidate[] }>();
    for (const c of unique) {
      if (known.has(c.key)) continue;
      const key = `${c.env.toDevice}\n${c.env.to}`;
      const group = byMailbox.get(key);
      if (group) group.items.push(c);
      else byMailbox.set(key, { to: c.env.to, toDevice: c.env.toDevice, items: [c] });
    }
    for (const { to, toDevice, items } of byMailbox.values()) {
      for (const part of chunks(items)) {
        const rows = await trx
          .selectFrom("envelopes")
          .select(["id", "from_device"])
          .where("to_device", "=", toDevice)
          .where("to_address", "=", to)
          .where("id", "in", part.map((c) => c.env.id))
          .execute();
        for (const c of part) if (rows.some((r) => r.id === c.env.id && r.from_device === c.env.fromDevice)) known.add(c.key);
      }
    }
    return known;
  }

  private candidates(envelopes: readonly EnvelopeRecord[]): Candidate[] {
    return envelopes.map((env) => {
      const hash = ledgerHash(this.ledgerKey, env);
      return { env, hash, key: hex(hash) };
    });
  }

  /**
   * One batch inside `trx`, on Postgres under the insert locks of its recipient devices (taken by the
   * caller). A refusal decided on the reads returns before anything is written; one decided by the
   * counter update throws a Refusal, for the caller to roll back.
   */
  private async storeInto(trx: Transaction<RelayDatabase>, candidates: readonly Candidate[], quotas: MailboxQuotas): Promise<StoreEnvelopesOutcome> {
    const seen = new Set<string>();
    for (const { env } of candidates) {
      const key = `${env.to}\n${env.toDevice}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const row = await trx.selectFrom("account_devices").select("device_id").where("address", "=", env.to).where("device_id", "=", env.toDevice).executeTakeFirst();
      if (!row) return { ok: false, reason: "unknown_device", to: env.to, toDevice: env.toDevice };
    }
    // Reads first, and the quota decided on them: a refused batch writes nothing at all, not even
    // pages of a rolled-back transaction that a full cache would have spilled into the WAL.
    const fresh = await this.unseen(trx, candidates);
    const wanted = deltas(fresh.map((c) => c.env));
    for (const [deviceId, delta] of wanted) {
      const held = await trx.selectFrom("device_mailbox").select(["envelopes", "bytes"]).where("device_id", "=", deviceId).executeTakeFirst();
      const envelopesAfter = Number(held?.envelopes ?? 0) + delta.envelopes;
      const bytesAfter = Number(held?.bytes ?? 0) + delta.bytes;
      if (envelopesAfter > quotas.perDeviceEnvelopes || bytesAfter > quotas.perDeviceBytes) {
        return { ok: false, reason: "quota_exceeded", to: delta.to, toDevice: deviceId };
      }
    }
    const stored = await insertEnvelopes(trx, this.hot, fresh);
    const added = deltas(stored);
    // Counter rows are locked in one fixed order, so batches to several devices, acks and sweeps
    // cannot deadlock on them; a refusal still names the first device at fault in batch order.
    const over = new Set<string>();
    for (const deviceId of lockOrder(added)) {
      if (!(await addToCounter(trx, this.hot, deviceId, added.get(deviceId)!, quotas))) over.add(deviceId);
    }
    for (const [deviceId, delta] of added) {
      if (over.has(deviceId)) throw new Refusal({ ok: false, reason: "quota_exceeded", to: delta.to, toDevice: deviceId });
    }
    return { ok: true, stored: stored.length, deviceIds: [...added.keys()] };
  }

  /**
   * The batch's envelopes that would be stored: each once, not in the ledger, and not still pending
   * (an envelope outlives its ledger row: 30 days against 7).
   */
  private async unseen(trx: Db, candidates: readonly Candidate[]): Promise<Candidate[]> {
    const known = await this.known(trx, candidates);
    const once: Candidate[] = [];
    for (const c of candidates) {
      const h = c.key;
      if (known.has(h)) continue;
      known.add(h);
      once.push(c);
    }
    return once;
  }

  async pendingEnvelopes(deviceId: string, afterSeq: number, limit: number, maxBytes = Number.POSITIVE_INFINITY): Promise<PendingEnvelope[]> {
    if (!Number.isFinite(maxBytes)) return this.pendingRows(deviceId, afterSeq, limit);
    // A push usually carries a few envelopes, so the first rows are read with their bodies at once and
    // the page is cut here: one statement, not a sizes read and a body read. As many rows as the budget
    // would hold at the largest envelope the relay accepts, so little is read past the budget; a page
    // that goes on past them takes the sizes-first path for the rest.
    const firstRows = Math.min(limit, FIRST_READ_ROWS, Math.max(1, Math.floor(maxBytes / MAX_ENVELOPE_BYTES)));
    const first = await this.pendingRows(deviceId, afterSeq, firstRows);
    const page: PendingEnvelope[] = [];
    let bytes = 0;
    for (const env of first) {
      // always at least one, so an envelope larger than the budget is still delivered alone
      if (page.length > 0 && bytes + env.body.byteLength > maxBytes) return page;
      bytes += env.body.byteLength;
      page.push(env);
    }
    if (first.length < firstRows || page.length === limit) return page;
    return page.concat(await this.sizedRows(deviceId, page[page.length - 1]!.seq, limit - page.length, maxBytes - bytes));
  }

  /** Up to `limit` pending rows after `afterSeq` whose bodies sum to at most `budget` (maybe none). */
  private async sizedRows(deviceId: string, afterSeq: number, limit: number, budget: number): Promise<PendingEnvelope[]> {
    // Sizes first (no bodies read), so a page of large envelopes is cut before it is loaded.
    const sizes = await this.db
      .selectFrom("envelopes")
      .select((eb) => ["seq", eb.fn<number>("length", [eb.ref("body")]).as("n")])
      .where("to_device", "=", deviceId)
      .where("seq", ">", afterSeq)
      .orderBy("seq")
      .limit(limit)
      .execute();
    let bytes = 0;
    let take = 0;
    // The last seq the budget counted: rows are read up to it only, so a row that an ack deletes
    // between the two reads cannot let an uncounted later one into the page.
    let through = afterSeq;
    for (const { seq, n } of sizes) {
      if (bytes + Number(n) > budget) break;
      bytes += Number(n);
      take++;
      through = Number(seq);
    }
    return take === 0 ? [] : this.pendingRows(deviceId, afterSeq, take, through);
  }

  private async pendingRows(deviceId: string, afterSeq: number, limit: number, through = Number.POSITIVE_INFINITY): Promise<PendingEnvelope[]> {
    const bounded = Number.isFinite(through);
    const text = this.hot.text(
      `pending ${bounded}`,
      (p) => `select * from "envelopes" where "to_device" = ${p()} and "seq" > ${p()}${bounded ? ` and "seq" <= ${p()}` : ""} order by "seq" limit ${p()}`,
    );
    const rows = await runRaw<Selectable<RelayDatabase["envelopes"]>>(this.db, text, bounded ? [deviceId, afterSeq, through, limit] : [deviceId, afterSeq, limit]);
    return rows.map((row) => ({
      seq: Number(row.seq),
      id: row.id,
      from: row.from_address as Address,
      fromDevice: row.from_device,
      to: row.to_address as Address,
      toDevice: row.to_device,
      body: new Uint8Array(row.body),
      ts: Number(row.ts),
    }));
  }

  deleteEnvelopes(deviceId: string, refs: EnvelopeRef[]): Promise<number> {
    return this.transact(async (trx) => {
      const gone = await deleteFrom(trx, this.hot, deviceId, refs);
      await subtractFromMailboxes(trx, this.hot, gone);
      return gone.length;
    }, { durable: false });
  }

  /**
   * Many `deleteEnvelopes` calls in one transaction, one commit: each call's count is what it deleted
   * (as if the calls ran one after another in this order). A delete is never refused, so there are no
   * savepoints; an error fails the group, and every call rejects with nothing deleted.
   */
  deleteEnvelopesGroup(calls: readonly DeleteEnvelopesCall[]): Promise<number[]> {
    return this.transact(async (trx) => {
      const counts: number[] = [];
      const gone: { to_device: string; bytes: number }[] = [];
      for (const { deviceId, refs } of calls) {
        const mine = await deleteFrom(trx, this.hot, deviceId, refs);
        counts.push(mine.length);
        gone.push(...mine);
      }
      // Every counter row of the group at once, in lock order (see subtractFromMailboxes).
      await subtractFromMailboxes(trx, this.hot, gone);
      return counts;
    }, { durable: false });
  }

  async deleteExpired(cutoffs: ExpiryCutoffs): Promise<ExpiryOutcome> {
    if (!this.pg) return this.sweep(this.db, cutoffs);
    // Every node sweeps on a timer; one sweep at a time is enough, and two would only fight over the
    // same rows. A session-level lock on one connection (not a transaction's: the sweep commits in
    // batches) is tried, never waited for, and goes with the connection if the process dies.
    return this.db.connection().execute(async (conn) => {
      const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${SWEEP_LOCK.toString()}::bigint) AS locked`.execute(conn);
      if (!rows[0]?.locked) return { envelopes: 0, ledgerRows: 0, skipped: true };
      try {
        return await this.sweep(conn, cutoffs);
      } finally {
        await sql`SELECT pg_advisory_unlock(${SWEEP_LOCK.toString()}::bigint)`.execute(conn);
      }
    });
  }

  private async sweep(db: Kysely<RelayDatabase>, cutoffs: ExpiryCutoffs): Promise<ExpiryOutcome> {
    const outcome: ExpiryOutcome = { envelopes: 0, ledgerRows: 0 };
    // DELETE … RETURNING, not a read then a delete: a row an ack deletes meanwhile is subtracted
    // from its counter by exactly one of the two. On Postgres the pick skips rows an ack holds (that
    // ack deletes them, or the next sweep does), so a sweep never queues behind acks.
    for (;;) {
      const gone = await this.transact(async (trx) => {
        const rows = await trx
          .deleteFrom("envelopes")
          .where("seq", "in", (eb) =>
            eb
              .selectFrom("envelopes")
              .select("seq")
              .where("ts", "<", cutoffs.envelopesBefore)
              .limit(SWEEP_BATCH)
              .$if(this.pg, (qb) => qb.forUpdate().skipLocked()))
          .returning((eb) => ["to_device", eb.fn<number>("length", ["body"]).as("bytes")])
          .execute();
        await subtractFromMailboxes(trx, this.hot, rows);
        return rows.length;
      }, { durable: false }, db);
      outcome.envelopes += gone;
      if (gone < SWEEP_BATCH) break;
    }
    // A row's day must have ended before the cut-off's day began: kept at least LEDGER_TTL_MS.
    // The ledger has no index on `day` (0005): every send would pay a random insert into it, and the
    // sweep runs once an hour. It walks the ledger in key order instead, a page of keys at a time
    // (read from the key alone), and deletes each page's expired rows by key range: one sequential
    // pass over the ledger per sweep, each statement short. A row inserted into a page's range
    // meanwhile is deleted only if it is expired too.
    const lastDay = dayOf(cutoffs.ledgerBefore);
    let after: Uint8Array | undefined;
    for (;;) {
      const page = await db
        .selectFrom("envelope_ledger")
        .select("hash")
        .$if(after !== undefined, (qb) => qb.where("hash", ">", after!))
        .orderBy("hash")
        .limit(SWEEP_BATCH)
        .execute();
      if (page.length === 0) break;
      const last = page[page.length - 1]!.hash;
      const result = await db
        .deleteFrom("envelope_ledger")
        .where("hash", ">=", page[0]!.hash)
        .where("hash", "<=", last)
        .where("day", "<", lastDay)
        .executeTakeFirst();
      outcome.ledgerRows += Number(result.numDeletedRows);
      if (page.length < SWEEP_BATCH) break;
      after = last;
    }
    return outcome;
  }

  async mailboxStats(): Promise<MailboxStats> {
    const row = await this.db
      .selectFrom("device_mailbox")
      .select((eb) => [
        eb.fn.countAll<number>().as("devices"),
        eb.fn.coalesce(eb.fn.sum<number>("envelopes"), eb.lit(0)).as("envelopes"),
        eb.fn.coalesce(eb.fn.sum<number>("bytes"), eb.lit(0)).as("bytes"),
        eb.fn.coalesce(eb.fn.max<number>("bytes"), eb.lit(0)).as("largest"),
      ])
      .where("envelopes", ">", 0)
      .executeTakeFirstOrThrow();
    return { devices: Number(row.devices), envelopes: Number(row.envelopes), bytes: Number(row.bytes), largestDeviceBytes: Number(row.largest) };
  }

  scrub(): Promise<void> {
    return this.onScrub(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
