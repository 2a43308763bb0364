// The relay's tables as kysely sees them. Column types are the common ground of SQLite and Postgres:
// text, integer (ms timestamps fit in 53 bits) and binary blobs.
import type { Generated } from "kysely";

export interface DevicesTable {
  device_id: string;
  /** Tagged Ed25519 public key (base64url) that signs login challenges. */
  auth_key: string;
  created_at: number;
}

export interface AccountsTable {
  address: string;
  brand: string;
  identity_key: string;
  created_at: number;
  /** The newest signed device list (base64url) and its version; null until the account publishes one (0004). */
  device_list: string | null;
  device_list_version: number | null;
}

/**
 * One row per (account, device): the device's prekeys as that account. The kem_* columns are null
 * only for rows written before PQXDH became mandatory; `register` now always fills them.
 */
export interface AccountDevicesTable {
  address: string;
  device_id: string;
  spk_id: number;
  spk_public: string;
  spk_signature: string;
  kem_id: number | null;
  kem_public: string | null;
  kem_signature: string | null;
  created_at: number;
}

export interface OneTimePrekeysTable {
  address: string;
  device_id: string;
  prekey_id: number;
  public_key: string;
}

/** One-time ML-KEM-768 prekeys (migration 0002). Signed, unlike the X25519 ones; each claimed once. */
export interface KemOneTimePrekeysTable {
  address: string;
  device_id: string;
  prekey_id: number;
  public_key: string;
  signature: string;
}

/**
 * Rows leave on ack or after the TTL. The sender columns are delivered with the envelope (the
 * recipient needs them to decrypt); no other table keeps who sent to whom. Unique by (to_device,
 * to_address, id, from_device) since migration 0003, so one sender cannot shadow another's id.
 */
export interface EnvelopesTable {
  /** Storage order: delivery follows it. */
  seq: Generated<number>;
  id: string;
  to_address: string;
  to_device: string;
  from_address: string;
  from_device: string;
  body: Uint8Array;
  ts: number;
}

/**
 * The idempotency ledger (migration 0003): a keyed hash of (sender device, recipient address,
 * recipient device, envelope id) and the day it was first seen, nothing else, so the rows pair no one
 * without the relay's ledger key and the id. Kept LEDGER_TTL_MS plus at most a day.
 */
export interface EnvelopeLedgerTable {
  hash: Uint8Array;
  /** Whole days since the epoch (UTC). */
  day: number;
}

/** Relay-wide secrets, created on first start (migration 0003). `ledger_key`: 32 random bytes. */
export interface RelaySecretsTable {
  name: string;
  value: Uint8Array;
}

/**
 * Pending envelopes per recipient device, kept in the transactions that insert, ack and expire them,
 * so a quota check is one row read. A row goes when its device has nothing pending.
 */
export interface DeviceMailboxTable {
  device_id: string;
  envelopes: number;
  bytes: number;
}

export interface RelayDatabase {
  devices: DevicesTable;
  accounts: AccountsTable;
  account_devices: AccountDevicesTable;
  one_time_prekeys: OneTimePrekeysTable;
  kem_one_time_prekeys: KemOneTimePrekeysTable;
  envelopes: EnvelopesTable;
  envelope_ledger: EnvelopeLedgerTable;
  relay_secrets: RelaySecretsTable;
  device_mailbox: DeviceMailboxTable;
}
