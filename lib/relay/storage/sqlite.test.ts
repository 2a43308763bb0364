// The SQLite adapter against the shared storage contract, and its upgrade from older schemas.
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Address } from "../../brands";
import { storeSuite } from "../test/storeSuite";
import { tempDataDir } from "../test/relayProcess";
import { migrateTo } from "./migrations";
import type { RelayDatabase } from "./schema";
import { openSqliteStore, SQLITE_FILE } from "./sqlite";

storeSuite({
  name: "sqlite",
  async open() {
    const dir = tempDataDir();
    return { store: await openSqliteStore(dir), reopen: () => openSqliteStore(dir) };
  },
});

describe("sqlite migrations", () => {
  it("upgrades a database from before one-time KEM prekeys, keeping its accounts usable", async () => {
    const dir = tempDataDir();
    const old = new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: new Database(join(dir, SQLITE_FILE)) }) });
    await migrateTo(old, "sqlite", "0001_initial");
    const address = "messenger:legacy.user" as Address;
    const deviceId = "legacy-device";
    // As a relay that did not yet require a KEM prekey left it: no last-resort KEM prekey.
    await old.insertInto("devices").values({ device_id: deviceId, auth_key: "ak", created_at: 1 }).execute();
    await old.insertInto("accounts").values({ address, brand: "messenger", identity_key: "ik", created_at: 1 }).execute();
    await old
      .insertInto("account_devices")
      .values({ address, device_id: deviceId, spk_id: 1, spk_public: "spk", spk_signature: "sig", kem_id: null, kem_public: null, kem_signature: null, created_at: 1 })
      .execute();
    await old.insertInto("one_time_prekeys").values({ address, device_id: deviceId, prekey_id: 1, public_key: "otk" }).execute();
    await old.destroy();

    const store = await openSqliteStore(dir);
    try {
      expect(await store.keyStatus(address, deviceId)).toEqual({ oneTimePrekeys: 1, signedPrekeyId: 1, kemOneTimePrekeys: 0 });
      expect((await store.claimBundles(address))?.bundles).toEqual([
        { deviceId, signedPrekey: { id: 1, publicKey: "spk", signature: "sig" }, oneTimePrekey: { id: 1, publicKey: "otk" } },
      ]);
      // The device's next keys:upload brings it up to PQXDH.
      const kem = { id: 1, publicKey: "kem", signature: "kem-sig" };
      const kemOneTime = { id: 2, publicKey: "kotk", signature: "kotk-sig" };
      expect(await store.updateKeys(address, deviceId, { kemPrekey: kem, kemOneTimePrekeys: [kemOneTime] }, { oneTime: 10, kemOneTime: 10 })).toBe("ok");
      expect(await store.keyStatus(address, deviceId)).toEqual({ oneTimePrekeys: 0, signedPrekeyId: 1, kemOneTimePrekeys: 1, kemPrekeyId: 1 });
      expect((await store.claimBundles(address))?.bundles[0]).toMatchObject({ kemPrekey: kem, kemOneTimePrekey: kemOneTime });
    } finally {
      await store.close();
    }
  });
});
