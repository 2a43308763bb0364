// The relay's one storage interface. Adapters (SQLite, Postgres) implement it and pass the same suite
// (lib/relay/test/storeSuite.ts). Every method that must be atomic says so; every method is also safe
// under concurrent calls from several relay processes sharing one (Postgres) database.
import type { Address, BrandId } from "../../brands";

export interface StoredSignedPrekey {
  id: number;
  publicKey: string;
  signature: string;
}

export interface StoredOneTimePrekey {
  id: number;
  publicKey: string;
}

export interface AccountRegistration {
  address: Address;
  brand: BrandId;
  identityKey: string;
  deviceId: string;
  authKey: string;
  signedPrekey: StoredSignedPrekey;
  /** The last-resort ML-KEM-768 prekey; required on the wire since PQXDH is mandatory. */
  kemPrekey: StoredSignedPrekey;
  oneTimePrekeys: StoredOneTimePrekey[];
  kemOneTimePrekeys?: StoredSignedPrekey[];
  now: number;
}

/**
 * `new_device`: the account's first device, which must not exist yet (a registration before login).
 * `existing_device`: a logged-in device adds an account on another brand; its auth key must match.
 */
export type RegisterMode = "new_device" | "existing_device";

export type RegisterOutcome =
  | "ok"
  | "handle_taken"
  | "device_exists"
  | "unknown_device"
  | "auth_key_mismatch"
  | "brand_taken"
  | "too_many_accounts";

/**
 * ok: the companion device is the account's (also for a repeat of one that succeeded); not_found: no
 * such account; key_mismatch: the registration names another account key; device_exists: the device id
 * is taken; stale: the list's version is not higher than the stored one's; too_many_devices: the account
 * has its most devices already.
 */
export type AddCompanionOutcome = "ok" | "not_found" | "key_mismatch" | "device_exists" | "stale" | "too_many_devices";

export interface DeviceRecord {
  deviceId: string;
  authKey: string;
}

export interface AccountRecord {
  address: Address;
  identityKey: string;
  deviceIds: string[];
  /** The newest device list the account published (base64url of the signed list), if any. */
  deviceList?: { version: number; signed: string };
}

/**
 * stored: the list is the account's newest; unchanged: it was already; stale: a list with a higher
 * version, or another list with this version, is stored (a rollback or a fork); not_found: no such account.
 */
export type PutDeviceListOutcome = "stored" | "unchanged" | "stale" | "not_found";

export interface ClaimedBundle {
  deviceId: string;
  signedPrekey: StoredSignedPrekey;
  /** Absent only for an account device stored before PQXDH became mandatory (migration 0002). */
  kemPrekey?: StoredSignedPrekey;
  oneTimePrekey?: StoredOneTimePrekey;
  kemOneTimePrekey?: StoredSignedPrekey;
}

export interface KeysUpdate {
  signedPrekey?: StoredSignedPrekey;
  kemPrekey?: StoredSignedPrekey;
  oneTimePrekeys?: StoredOneTimePrekey[];
  kemOneTimePrekeys?: StoredSignedPrekey[];
}

/** The most one-time prekeys of each kind kept per account device. */
export interface PrekeyCaps {
  oneTime: number;
  kemOneTime: number;
}

export type UpdateKeysOutcome = "ok" | "not_found" | "too_many" | "too_many_kem";

export interface KeyStatus {
  oneTimePrekeys: number;
  signedPrekeyId: number;
  kemOneTimePrekeys: number;
  /** Absent when the account device has no last-resort KEM prekey (stored before it was required). */
  kemPrekeyId?: number;
}

export interface EnvelopeRecord {
  id: string;
  from: Address;
  fromDevice: string;
  to: Address;
  toDevice: string;
  body: Uint8Array;
  ts: number;
}

export interface PendingEnvelope extends EnvelopeRecord {
  /** Storage order, increasing. */
  seq: number;
}

/** An acked envelope: `fromDevice`, when given, narrows the delete to that sender's envelope of the id. */
export interface EnvelopeRef {
  to: Address;
  id: string;
  fromDevice?: string;
}

/** Limits on what waits for one recipient device: envelopes pending and the bytes of their bodies. */
export interface MailboxQuotas {
  perDeviceEnvelopes: number;
  perDeviceBytes: number;
}

export type StoreEnvelopesRefusal = "unknown_device" | "quota_exceeded";

/** A refusal names the first recipient device at fault; nothing of the batch was stored then. */
export type StoreEnvelopesOutcome =
  | { ok: true; stored: number; deviceIds: string[] }
  | { ok: false; reason: StoreEnvelopesRefusal; to: Address; toDevice: string };

/**
 * How long the idempotency ledger remembers an envelope: a resend within this is recognised, and
 * after at most one more day (rows carry only their day) the row is gone. Shorter than the
 * envelope TTL on purpose: the ledger exists for retries, which come within minutes.
 */
export const LEDGER_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface ExpiryCutoffs {
  /** Envelopes stored before this (ms) are deleted: the envelope TTL. */
  envelopesBefore: number;
  /** Ledger rows of days that ended before this day began are deleted: `now - LEDGER_TTL_MS`. */
  ledgerBefore: number;
}

export interface ExpiryOutcome {
  envelopes: number;
  ledgerRows: number;
  /** Postgres: another node was sweeping, so this one deleted nothing and left it to that one. */
  skipped?: true;
}

/** Aggregates only: no device id, address or envelope id ever leaves the store through metrics. */
export interface MailboxStats {
  /** Devices with at least one pending envelope. */
  devices: number;
  envelopes: number;
  bytes: number;
  largestDeviceBytes: number;
}

export interface RelayStore {
  getDevice(deviceId: string): Promise<DeviceRecord | null>;
  /**
   * Atomic: the account, the (account, device) row and its prekeys are written together or not at all.
   * Repeating a registration that already succeeded (same address, device, auth and identity key) is
   * `ok` and changes nothing, so a client may retry one whose answer it lost.
   */
  registerAccount(reg: AccountRegistration, mode: RegisterMode, maxAccountsPerDevice: number): Promise<RegisterOutcome>;
  /**
   * Atomic: a linked (companion) device joins an existing account with its keys and prekeys, together
   * with the account's new device list (checked by the caller: signed by the account key, naming it).
   */
  addCompanion(reg: AccountRegistration, list: { version: number; signed: string }, maxDevices: number): Promise<AddCompanionOutcome>;
  /**
   * Atomic: the devices of `address` not in `keep` stop being its devices: their (account, device) rows,
   * prekeys and pending mail go, and a device left with no account goes too. Returns the removed ids.
   */
  removeDevices(address: Address, keep: readonly string[]): Promise<string[]>;
  accountsOfDevice(deviceId: string): Promise<Address[]>;
  getAccount(address: Address): Promise<AccountRecord | null>;
  /**
   * Atomic, also across nodes: stores `signed` (checked by the caller) as the account's device list only
   * if `version` is higher than the stored one's, so versions only grow whatever the order of two calls.
   */
  putDeviceList(address: Address, version: number, signed: string): Promise<PutDeviceListOutcome>;
  /**
   * Atomic per device: claims one one-time X25519 prekey and one one-time KEM prekey per device, each
   * handed out at most once, also under concurrent calls. `null` when the account does not exist;
   * `missing` lists asked-for devices it does not have.
   */
  claimBundles(address: Address, deviceIds?: string[], opts?: { oneTime?: boolean }): Promise<{ identityKey: string; bundles: ClaimedBundle[]; missing: string[] } | null>;
  /**
   * Atomic. `too_many` / `too_many_kem` when the upload would keep more one-time X25519 / KEM prekeys
   * than `caps` allows; nothing at all is written then. A re-uploaded id replaces the stored key.
   */
  updateKeys(address: Address, deviceId: string, update: KeysUpdate, caps: PrekeyCaps): Promise<UpdateKeysOutcome>;
  keyStatus(address: Address, deviceId: string): Promise<KeyStatus | null>;
  /**
   * Atomic: every recipient device must exist and stay within `quotas` after the batch, else nothing
   * is written (`unknown_device` / `quota_exceeded`). Idempotent by (fromDevice, to, toDevice, id): the
   * ledger remembers a keyed hash of that for LEDGER_TTL_MS, and a pending envelope is never stored
   * twice. An envelope already stored counts against no quota, so a retry is not refused for it.
   * Durable when it resolves.
   */
  storeEnvelopes(envelopes: EnvelopeRecord[], quotas: MailboxQuotas): Promise<StoreEnvelopesOutcome>;
  /**
   * The device's envelopes after `afterSeq`, in storage order. Per device, storage order is commit
   * order, also across processes: once a seq has been returned, no envelope with a lower seq for that
   * device can appear later, so a cursor at the highest seq seen skips nothing.
   */
  pendingEnvelopes(deviceId: string, afterSeq: number, limit: number, maxBytes?: number): Promise<PendingEnvelope[]>;
  /**
   * Deletes only envelopes addressed to `deviceId`; returns how many went. A ref without `fromDevice`
   * deletes every sender's envelope of that id (two senders may pick the same id).
   */
  deleteEnvelopes(deviceId: string, refs: EnvelopeRef[]): Promise<number>;
  /**
   * Deletes expired envelopes and ledger rows (see ExpiryCutoffs); mailbox counters follow. On Postgres
   * one node sweeps at a time: a call while another node sweeps returns at once with `skipped`.
   */
  deleteExpired(cutoffs: ExpiryCutoffs): Promise<ExpiryOutcome>;
  /** Pending envelopes in aggregate, for metrics. */
  mailboxStats(): Promise<MailboxStats>;
  /**
   * Makes deleted rows unrecoverable from the files as far as the engine allows (SQLite: checkpoint and
   * truncate the WAL; Postgres: nothing, see postgres.ts).
   */
  scrub(): Promise<void>;
  close(): Promise<void>;
}

/** One `storeEnvelopes` call, as a group commit holds it. */
export interface StoreEnvelopesCall {
  envelopes: EnvelopeRecord[];
  quotas: MailboxQuotas;
}

/** One `deleteEnvelopes` call, as a group commit holds it. */
export interface DeleteEnvelopesCall {
  deviceId: string;
  refs: EnvelopeRef[];
}

/** A store that can run many calls in one transaction with one commit (see groupCommit.ts). */
export interface GroupableStore extends RelayStore {
  /**
   * The calls in order, in one transaction: each keeps its own outcome and atomicity (a refused call
   * writes nothing and leaves the others as they are). Rejects, with nothing stored, when the
   * transaction fails. Durable when it resolves.
   */
  storeEnvelopesGroup(calls: readonly StoreEnvelopesCall[]): Promise<StoreEnvelopesOutcome[]>;
  /** The calls in order, in one transaction; each call's count of deleted envelopes. */
  deleteEnvelopesGroup(calls: readonly DeleteEnvelopesCall[]): Promise<number[]>;
}
