// Postgres only (Node): the relay's advisory lock keys and the error codes its store reacts to.
// Advisory locks are database-wide and keyed by numbers, so each key is derived from a label that
// says what it guards. The one-bigint keys (migrations, sweeps) and the two-int4 keys (per-device
// envelope inserts) live in different lock spaces (pg_locks.objsubid 1 and 2) and never collide.
import { createHash } from "node:crypto";

function digest(label: string): Buffer {
  return createHash("sha256").update(label, "utf8").digest();
}

/** A stable bigint advisory lock key for `label`. */
export function lockKey(label: string): bigint {
  return digest(label).readBigInt64BE(0);
}

/** A stable int4, for the two-key form `pg_advisory_xact_lock(int4, int4)`. */
export function lockKey32(label: string): number {
  return digest(label).readInt32BE(0);
}

/** Held (session level) by the one relay process that migrates; the others wait, then find nothing to do. */
export const MIGRATIONS_LOCK = lockKey("junction relay: migrations");

/** Tried (session level) by each expiry sweep; a node that does not get it skips its sweep. */
export const SWEEP_LOCK = lockKey("junction relay: expiry sweep");

/** The first key of a per-recipient-device insert lock; the second is `deviceLockKey(deviceId)`. */
export const ENVELOPE_INSERTS_LOCK = lockKey32("junction relay: envelope inserts");

/**
 * The second key of a device's insert lock. Two devices whose keys collide (1 in 2^32) only share a
 * lock, which costs some waiting, never correctness.
 */
export function deviceLockKey(deviceId: string): number {
  return lockKey32(`device\n${deviceId}`);
}

/** SQLSTATE codes (Postgres appendix A) the store handles. */
export const PG_UNIQUE_VIOLATION = "23505";
export const PG_SERIALIZATION_FAILURE = "40001";
export const PG_DEADLOCK_DETECTED = "40P01";

/** The SQLSTATE of a `pg` error, or undefined for anything else. */
export function pgErrorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The constraint a `pg` error names (unique violations name theirs). */
export function pgConstraint(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("constraint" in err)) return undefined;
  const name = (err as { constraint: unknown }).constraint;
  return typeof name === "string" ? name : undefined;
}
