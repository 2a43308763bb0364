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
  kemPrekey?: StoredSignedPrekey;
  oneTimePrekeys: StoredOneTimePrekey[];
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
  kemPrekey?: StoredSignedPrekey;
  oneTimePrekey?: StoredOneTimePrekey;
}

export interface KeysUpdate {
  signedPrekey?: StoredSignedPrekey;
  kemPrekey?: StoredSignedPrekey;
  oneTimePrekeys?: StoredOneTimePrekey[];
}

export interface KeyStatus {
  oneTimePrekeys: number;
  signedPrekeyId: number;
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
   * Atomic per device: hands out each one-time prekey at most once, also under concurrent calls.
   * `null` when the account does not exist; `missing` lists asked-for devices it does not have.
   */
  claimBundles(address: Address, deviceIds?: string[]): Promise<{ identityKey: string; bundles: ClaimedBundle[]; missing: string[] } | null>;
  /** `too_many` when the upload would keep more than `maxStored` one-time prekeys; nothing is written then. */
  updateKeys(address: Address, deviceId: string, update: KeysUpdate, maxStored: number): Promise<"ok" | "not_found" | "too_many">;
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
