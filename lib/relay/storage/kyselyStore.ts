// The RelayStore over kysely: the SQL is written once in kysely's builder, so the SQLite adapter and a
// future Postgres adapter share this file and differ only in the dialect, pragmas and `scrub`.
import { type Kysely, type Transaction } from "kysely";
import { type Address, brandOf } from "../../brands";
import type { RelayDatabase } from "./schema";
import type {
  AccountRecord,
  AccountRegistration,
  ClaimedBundle,
  DeviceRecord,
  EnvelopeRecord,
  KeyStatus,
  KeysUpdate,
  PendingEnvelope,
  PrekeyCaps,
  RegisterMode,
  RegisterOutcome,
  RelayStore,
  StoredOneTimePrekey,
  StoredSignedPrekey,
  StoreEnvelopesOutcome,
  UpdateKeysOutcome,
} from "./types";

type Db = Kysely<RelayDatabase> | Transaction<RelayDatabase>;

// Keeps each multi-row insert well under every dialect's bound-parameter limit.
const CHUNK = 100;

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

// Each claim is one statement that picks and removes the lowest id, so two claims can never return
// the same key (SQLite serialises the transactions; on Postgres the loser of a race gets no key
// rather than the same one).
async function claimPrekey(db: Db, address: string, deviceId: string): Promise<StoredOneTimePrekey | undefined> {
  const row = await db
    .deleteFrom("one_time_prekeys")
    .where("address", "=", address)
    .where("device_id", "=", deviceId)
    .where("prekey_id", "=", (eb) =>
      eb.selectFrom("one_time_prekeys").select("prekey_id").where("address", "=", address).where("device_id", "=", deviceId).orderBy("prekey_id").limit(1))
    .returning(["prekey_id", "public_key"])
    .executeTakeFirst();
  return row ? { id: row.prekey_id, publicKey: row.public_key } : undefined;
}

async function claimKemPrekey(db: Db, address: string, deviceId: string): Promise<StoredSignedPrekey | undefined> {
  const row = await db
    .deleteFrom("kem_one_time_prekeys")
    .where("address", "=", address)
    .where("device_id", "=", deviceId)
    .where("prekey_id", "=", (eb) =>
      eb.selectFrom("kem_one_time_prekeys").select("prekey_id").where("address", "=", address).where("device_id", "=", deviceId).orderBy("prekey_id").limit(1))
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

export class KyselyRelayStore implements RelayStore {
  constructor(
    private readonly db: Kysely<RelayDatabase>,
    private readonly onScrub: (db: Kysely<RelayDatabase>) => Promise<void> = async () => {},
  ) {}

  async getDevice(deviceId: string): Promise<DeviceRecord | null> {
    const row = await this.db.selectFrom("devices").select(["device_id", "auth_key"]).where("device_id", "=", deviceId).executeTakeFirst();
    return row ? { deviceId: row.device_id, authKey: row.auth_key } : null;
  }

  registerAccount(reg: AccountRegistration, mode: RegisterMode, maxAccountsPerDevice: number): Promise<RegisterOutcome> {
    return this.db.transaction().execute(async (trx): Promise<RegisterOutcome> => {
      const device = await trx.selectFrom("devices").select("auth_key").where("device_id", "=", reg.deviceId).executeTakeFirst();
      if (device && device.auth_key === reg.authKey) {
        const held = await trx
          .selectFrom("account_devices")
          .innerJoin("accounts", "accounts.address", "account_devices.address")
          .select("accounts.identity_key")
          .where("account_devices.address", "=", reg.address)
          .where("account_devices.device_id", "=", reg.deviceId)
          .executeTakeFirst();
        // A retry of a registration whose ack was lost: already done, and nothing is replaced.
        if (held && held.identity_key === reg.identityKey) return "ok";
      }
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
      if (taken) return "handle_taken";
      if (!device) {
        await trx.insertInto("devices").values({ device_id: reg.deviceId, auth_key: reg.authKey, created_at: reg.now }).execute();
      }
      await trx.insertInto("accounts").values({ address: reg.address, brand: reg.brand, identity_key: reg.identityKey, created_at: reg.now }).execute();
      await trx
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
      await putPrekeys(trx, reg.address, reg.deviceId, reg.oneTimePrekeys);
      await putKemPrekeys(trx, reg.address, reg.deviceId, reg.kemOneTimePrekeys ?? []);
      return "ok";
    });
  }

  async accountsOfDevice(deviceId: string): Promise<Address[]> {
    const rows = await this.db.selectFrom("account_devices").select("address").where("device_id", "=", deviceId).orderBy("created_at").orderBy("address").execute();
    return rows.map((row) => row.address as Address);
  }

  async getAccount(address: Address): Promise<AccountRecord | null> {
    const account = await this.db.selectFrom("accounts").select("identity_key").where("address", "=", address).executeTakeFirst();
    if (!account) return null;
    const devices = await this.db.selectFrom("account_devices").select("device_id").where("address", "=", address).orderBy("created_at").orderBy("device_id").execute();
    return { address, identityKey: account.identity_key, deviceIds: devices.map((d) => d.device_id) };
  }

  claimBundles(address: Address, deviceIds?: string[]) {
    return this.db.transaction().execute(async (trx) => {
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
        const oneTime = await claimPrekey(trx, address, row.device_id);
        if (oneTime) bundle.oneTimePrekey = oneTime;
        const kemOneTime = await claimKemPrekey(trx, address, row.device_id);
        if (kemOneTime) bundle.kemOneTimePrekey = kemOneTime;
        bundles.push(bundle);
      }
      return { identityKey: account.identity_key, bundles, missing };
    });
  }

  updateKeys(address: Address, deviceId: string, update: KeysUpdate, caps: PrekeyCaps): Promise<UpdateKeysOutcome> {
    return this.db.transaction().execute(async (trx): Promise<UpdateKeysOutcome> => {
      const row = await trx.selectFrom("account_devices").select("device_id").where("address", "=", address).where("device_id", "=", deviceId).executeTakeFirst();
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
    // One transaction, so the counts and ids are one consistent snapshot.
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom("account_devices").select(["spk_id", "kem_id"]).where("address", "=", address).where("device_id", "=", deviceId).executeTakeFirst();
      if (!row) return null;
      const status: KeyStatus = {
        oneTimePrekeys: await countPrekeys(trx, "one_time_prekeys", address, deviceId),
        signedPrekeyId: row.spk_id,
        kemOneTimePrekeys: await countPrekeys(trx, "kem_one_time_prekeys", address, deviceId),
      };
      if (row.kem_id !== null) status.kemPrekeyId = row.kem_id;
      return status;
    });
  }

  storeEnvelopes(envelopes: EnvelopeRecord[]): Promise<StoreEnvelopesOutcome> {
    return this.db.transaction().execute(async (trx): Promise<StoreEnvelopesOutcome> => {
      const seen = new Set<string>();
      for (const env of envelopes) {
        const key = `${env.to}\n${env.toDevice}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const row = await trx.selectFrom("account_devices").select("device_id").where("address", "=", env.to).where("device_id", "=", env.toDevice).executeTakeFirst();
        if (!row) return { ok: false, unknown: { to: env.to, toDevice: env.toDevice } };
      }
      let stored = 0;
      const deviceIds = new Set<string>();
      for (const env of envelopes) {
        // The id ledger outlives the envelope, so a resend after the ack is still recognised.
        const first = await trx
          .insertInto("envelope_ids")
          .values({ to_address: env.to, to_device: env.toDevice, id: env.id, ts: env.ts })
          .onConflict((oc) => oc.columns(["to_address", "to_device", "id"]).doNothing())
          .executeTakeFirst();
        if (Number(first.numInsertedOrUpdatedRows ?? 0) === 0) continue;
        await trx
          .insertInto("envelopes")
          .values({
            id: env.id,
            to_address: env.to,
            to_device: env.toDevice,
            from_address: env.from,
            from_device: env.fromDevice,
            body: env.body,
            ts: env.ts,
          })
          .execute();
        stored++;
        deviceIds.add(env.toDevice);
      }
      return { ok: true, stored, deviceIds: [...deviceIds] };
    });
  }

  async pendingEnvelopes(deviceId: string, afterSeq: number, limit: number): Promise<PendingEnvelope[]> {
    const rows = await this.db
      .selectFrom("envelopes")
      .selectAll()
      .where("to_device", "=", deviceId)
      .where("seq", ">", afterSeq)
      .orderBy("seq")
      .limit(limit)
      .execute();
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

  deleteEnvelopes(deviceId: string, refs: { to: Address; id: string }[]): Promise<number> {
    // One statement per recipient address (an ack names one or a few), not one per envelope: a
    // backlog's acks cost one commit and a handful of index probes each.
    const byAddress = new Map<Address, string[]>();
    for (const ref of refs) {
      const ids = byAddress.get(ref.to);
      if (ids) ids.push(ref.id);
      else byAddress.set(ref.to, [ref.id]);
    }
    return this.db.transaction().execute(async (trx) => {
      let deleted = 0;
      for (const [to, ids] of byAddress) {
        for (const chunk of chunks(ids)) {
          const result = await trx
            .deleteFrom("envelopes")
            .where("to_device", "=", deviceId)
            .where("to_address", "=", to)
            .where("id", "in", chunk)
            .executeTakeFirst();
          deleted += Number(result.numDeletedRows);
        }
      }
      return deleted;
    });
  }

  deleteExpired(before: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom("envelopes").where("ts", "<", before).executeTakeFirst();
      await trx.deleteFrom("envelope_ids").where("ts", "<", before).execute();
      return Number(result.numDeletedRows);
    });
  }

  scrub(): Promise<void> {
    return this.onScrub(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
