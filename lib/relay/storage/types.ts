// The relay's one storage interface. Adapters (SQLite now, Postgres later) implement it and pass the
// same suite (lib/relay/test/storeSuite.ts). Every method that must be atomic says so.
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

export interface DeviceRecord {
  deviceId: string;
  authKey: string;
}

export interface AccountRecord {
  address: Address;
  identityKey: string;
  deviceIds: string[];
}

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

export type StoreEnvelopesOutcome =
  | { ok: true; stored: number; deviceIds: string[] }
  | { ok: false; unknown: { to: Address; toDevice: string } };

export interface RelayStore {
  getDevice(deviceId: string): Promise<DeviceRecord | null>;
  /**
   * Atomic: the account, the (account, device) row and its prekeys are written together or not at all.
   * Repeating a registration that already succeeded (same address, device, auth and identity key) is
   * `ok` and changes nothing, so a client may retry one whose answer it lost.
   */
  registerAccount(reg: AccountRegistration, mode: RegisterMode, maxAccountsPerDevice: number): Promise<RegisterOutcome>;
  accountsOfDevice(deviceId: string): Promise<Address[]>;
  getAccount(address: Address): Promise<AccountRecord | null>;
  /**
   * Atomic per device: claims one one-time X25519 prekey and one one-time KEM prekey per device, each
   * handed out at most once, also under concurrent calls. `null` when the account does not exist;
   * `missing` lists asked-for devices it does not have.
   */
  claimBundles(address: Address, deviceIds?: string[]): Promise<{ identityKey: string; bundles: ClaimedBundle[]; missing: string[] } | null>;
  /**
   * Atomic. `too_many` / `too_many_kem` when the upload would keep more one-time X25519 / KEM prekeys
   * than `caps` allows; nothing at all is written then. A re-uploaded id replaces the stored key.
   */
  updateKeys(address: Address, deviceId: string, update: KeysUpdate, caps: PrekeyCaps): Promise<UpdateKeysOutcome>;
  keyStatus(address: Address, deviceId: string): Promise<KeyStatus | null>;
  /**
   * Atomic: every recipient device must exist, else nothing is written. Idempotent by (to, toDevice, id)
   * for as long as the id is remembered (the envelope TTL). Durable when it resolves.
   */
  storeEnvelopes(envelopes: EnvelopeRecord[]): Promise<StoreEnvelopesOutcome>;
  /** The device's envelopes after `afterSeq`, in storage order. */
  pendingEnvelopes(deviceId: string, afterSeq: number, limit: number): Promise<PendingEnvelope[]>;
  /** Deletes only envelopes addressed to `deviceId`; returns how many went. */
  deleteEnvelopes(deviceId: string, refs: { to: Address; id: string }[]): Promise<number>;
  /** Deletes envelopes and remembered ids stored before `before`; returns the envelopes deleted. */
  deleteExpired(before: number): Promise<number>;
  /** Makes deleted rows unrecoverable from the files (SQLite: checkpoint and truncate the WAL). */
  scrub(): Promise<void>;
  close(): Promise<void>;
}
