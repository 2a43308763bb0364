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

/** Every envelope id ever accepted, kept for the TTL, so a resend after the ack is not stored again. */
export interface EnvelopeIdsTable {
  to_address: string;
  to_device: string;
  id: string;
  ts: number;
}

export interface RelayDatabase {
  devices: DevicesTable;
  accounts: AccountsTable;
  account_devices: AccountDevicesTable;
  one_time_prekeys: OneTimePrekeysTable;
  kem_one_time_prekeys: KemOneTimePrekeysTable;
  envelopes: EnvelopesTable;
  envelope_ids: EnvelopeIdsTable;
}
