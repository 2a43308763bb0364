// Schema migrations, written once for both dialects; only the auto-increment and blob types differ.
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";
import type { RelayDatabase } from "./schema";

export type SqlDialect = "sqlite" | "postgres";

function migrations(dialect: SqlDialect): Record<string, Migration> {
  const blob = dialect === "sqlite" ? "blob" : "bytea";
  const bigint = dialect === "sqlite" ? "integer" : "bigint";
  return {
    "0001_initial": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("devices")
          .addColumn("device_id", "text", (c) => c.primaryKey())
          .addColumn("auth_key", "text", (c) => c.notNull())
          .addColumn("created_at", bigint, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("accounts")
          .addColumn("address", "text", (c) => c.primaryKey())
          .addColumn("brand", "text", (c) => c.notNull())
          .addColumn("identity_key", "text", (c) => c.notNull())
          .addColumn("created_at", bigint, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("account_devices")
          .addColumn("address", "text", (c) => c.notNull().references("accounts.address").onDelete("cascade"))
          .addColumn("device_id", "text", (c) => c.notNull().references("devices.device_id").onDelete("cascade"))
          .addColumn("spk_id", "integer", (c) => c.notNull())
          .addColumn("spk_public", "text", (c) => c.notNull())
          .addColumn("spk_signature", "text", (c) => c.notNull())
          .addColumn("kem_id", "integer")
          .addColumn("kem_public", "text")
          .addColumn("kem_signature", "text")
          .addColumn("created_at", bigint, (c) => c.notNull())
          .addPrimaryKeyConstraint("account_devices_pk", ["address", "device_id"])
          .execute();
        await db.schema.createIndex("account_devices_device").on("account_devices").column("device_id").execute();
        await db.schema
          .createTable("one_time_prekeys")
          .addColumn("address", "text", (c) => c.notNull())
          .addColumn("device_id", "text", (c) => c.notNull())
          .addColumn("prekey_id", "integer", (c) => c.notNull())
          .addColumn("public_key", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("one_time_prekeys_pk", ["address", "device_id", "prekey_id"])
          .addForeignKeyConstraint("one_time_prekeys_owner", ["address", "device_id"], "account_devices", ["address", "device_id"], (c) => c.onDelete("cascade"))
          .execute();
        await db.schema
          .createTable("envelopes")
          .addColumn("seq", dialect === "sqlite" ? "integer" : "bigserial", (c) =>
            dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey())
          .addColumn("id", "text", (c) => c.notNull())
          .addColumn("to_address", "text", (c) => c.notNull())
          .addColumn("to_device", "text", (c) => c.notNull())
          .addColumn("from_address", "text", (c) => c.notNull())
          .addColumn("from_device", "text", (c) => c.notNull())
          .addColumn("body", sql.raw(blob), (c) => c.notNull())
          .addColumn("ts", bigint, (c) => c.notNull())
          .addUniqueConstraint("envelopes_once", ["to_address", "to_device", "id"])
          .execute();
        await db.schema.createIndex("envelopes_device_seq").on("envelopes").columns(["to_device", "seq"]).execute();
        await db.schema.createIndex("envelopes_ts").on("envelopes").column("ts").execute();
        await db.schema
          .createTable("envelope_ids")
          .addColumn("to_address", "text", (c) => c.notNull())
          .addColumn("to_device", "text", (c) => c.notNull())
          .addColumn("id", "text", (c) => c.notNull())
          .addColumn("ts", bigint, (c) => c.notNull())
          .addPrimaryKeyConstraint("envelope_ids_pk", ["to_address", "to_device", "id"])
          .execute();
        await db.schema.createIndex("envelope_ids_ts").on("envelope_ids").column("ts").execute();
      },
    },
    // PQXDH became mandatory: one-time ML-KEM-768 prekeys get their own table (not a kind column on
    // one_time_prekeys) because they carry a signature and have their own id space and cap, and
    // because SQLite cannot change a primary key in place. Rows of account_devices without a
    // last-resort KEM prekey are kept: their device uploads one after its next login.
    "0002_kem_one_time_prekeys": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("kem_one_time_prekeys")
          .addColumn("address", "text", (c) => c.notNull())
          .addColumn("device_id", "text", (c) => c.notNull())
          .addColumn("prekey_id", "integer", (c) => c.notNull())
          .addColumn("public_key", "text", (c) => c.notNull())
          .addColumn("signature", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("kem_one_time_prekeys_pk", ["address", "device_id", "prekey_id"])
          .addForeignKeyConstraint("kem_one_time_prekeys_owner", ["address", "device_id"], "account_devices", ["address", "device_id"], (c) => c.onDelete("cascade"))
          .execute();
      },
    },
  };
}

export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
  }
}

function migrator(db: Kysely<RelayDatabase>, dialect: SqlDialect): Migrator {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  return new Migrator({ db, provider });
}

export async function migrateToLatest(db: Kysely<RelayDatabase>, dialect: SqlDialect): Promise<void> {
  const { error } = await migrator(db, dialect).migrateToLatest();
  if (error) throw new MigrationError("migration failed", { cause: error });
}

/** Migrates up to and including `name` only: tests build databases as older relays left them. */
export async function migrateTo(db: Kysely<RelayDatabase>, dialect: SqlDialect, name: string): Promise<void> {
  const { error } = await migrator(db, dialect).migrateTo(name);
  if (error) throw new MigrationError("migration failed", { cause: error });
}
