// Schema migrations, written once for both dialects; only the auto-increment and blob types differ,
// and where SQLite cannot alter a table in place (0003 rebuilds `envelopes` there).
import { type CreateTableBuilder, type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";
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
    // Metadata minimisation and mailbox quotas.
    // - The old ledger (recipient address, device, id and exact time, for 30 days) is dropped, not
    //   converted: it never stored the sender device, so its rows cannot be re-keyed. Acceptable:
    //   pending envelopes stay protected by the envelopes' own unique key, and a resend of an
    //   envelope acked before the upgrade may be delivered once more, which the client's inbox drops
    //   by id (exactly-once is the inbox's promise; the relay's is at-least-once).
    // - The new ledger holds a keyed hash and a day; its key is a relay secret in `relay_secrets`
    //   (created by the store on first open, so every node sharing a Postgres database shares it).
    // - envelopes: unique by (to_device, to_address, id, from_device) instead of (to_address,
    //   to_device, id), so another sender's envelope with the same id is stored, not shadowed.
    // - device_mailbox: per-device counters for quotas, filled from the pending envelopes.
    "0003_keyed_ledger_mailbox_counters": {
      async up(db: Kysely<unknown>) {
        // secure_delete (set by the SQLite adapter before migrating) zeroes the dropped pages.
        await db.schema.dropTable("envelope_ids").execute();
        await db.schema
          .createTable("relay_secrets")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("value", sql.raw(blob), (c) => c.notNull())
          .execute();
        // WITHOUT ROWID on SQLite: the hash is the row, stored once rather than in a table and an index.
        await withoutRowid(
          db.schema
            .createTable("envelope_ledger")
            .addColumn("hash", sql.raw(blob), (c) => c.primaryKey())
            .addColumn("day", "integer", (c) => c.notNull()),
          dialect,
        ).execute();
        await db.schema.createIndex("envelope_ledger_day").on("envelope_ledger").column("day").execute();

        const once = ["to_device", "to_address", "id", "from_device"] as const;
        if (dialect === "postgres") {
          await db.schema.alterTable("envelopes").dropConstraint("envelopes_once").execute();
          await db.schema.alterTable("envelopes").addUniqueConstraint("envelopes_once", [...once]).execute();
        } else {
          // SQLite cannot drop a table constraint: rebuild the table, keeping every seq, and carry the
          // AUTOINCREMENT high-water mark over so a seq already handed out (then acked) is not reused.
          const high = await sql<{ seq: number }>`SELECT seq FROM sqlite_sequence WHERE name = 'envelopes'`.execute(db);
          await db.schema
            .createTable("envelopes_next")
            .addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement())
            .addColumn("id", "text", (c) => c.notNull())
            .addColumn("to_address", "text", (c) => c.notNull())
            .addColumn("to_device", "text", (c) => c.notNull())
            .addColumn("from_address", "text", (c) => c.notNull())
            .addColumn("from_device", "text", (c) => c.notNull())
            .addColumn("body", "blob", (c) => c.notNull())
            .addColumn("ts", "integer", (c) => c.notNull())
            .addUniqueConstraint("envelopes_once", [...once])
            .execute();
          await sql`INSERT INTO envelopes_next (seq, id, to_address, to_device, from_address, from_device, body, ts)
            SELECT seq, id, to_address, to_device, from_address, from_device, body, ts FROM envelopes`.execute(db);
          await db.schema.dropTable("envelopes").execute();
          await sql`ALTER TABLE envelopes_next RENAME TO envelopes`.execute(db);
          const prior = high.rows[0]?.seq;
          if (prior !== undefined) {
            await sql`DELETE FROM sqlite_sequence WHERE name = 'envelopes'`.execute(db);
            await sql`INSERT INTO sqlite_sequence (name, seq) VALUES ('envelopes', ${prior})`.execute(db);
          }
          await db.schema.createIndex("envelopes_device_seq").on("envelopes").columns(["to_device", "seq"]).execute();
          await db.schema.createIndex("envelopes_ts").on("envelopes").column("ts").execute();
        }

        await withoutRowid(
          db.schema
            .createTable("device_mailbox")
            .addColumn("device_id", "text", (c) => c.primaryKey())
            .addColumn("envelopes", bigint, (c) => c.notNull())
            .addColumn("bytes", bigint, (c) => c.notNull()),
          dialect,
        ).execute();
        await sql`INSERT INTO device_mailbox (device_id, envelopes, bytes)
          SELECT to_device, count(*), sum(length(body)) FROM envelopes GROUP BY to_device`.execute(db);
      },
    },
    // Linked devices: the account's newest signed device list, whose version only grows.
    "0004_device_lists": {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable("accounts").addColumn("device_list", "text").execute();
        await db.schema.alterTable("accounts").addColumn("device_list_version", bigint).execute();
      },
    },
    // The ledger's `day` index served only the hourly sweep, yet every stored envelope paid an insert
    // into it at a random place (its rows sort by day, then by hash): a page of the index written per
    // envelope. The sweep now walks the ledger in key order instead (see `sweep` in kyselyStore.ts).
    "0005_ledger_without_day_index": {
      async up(db: Kysely<unknown>) {
        await db.schema.dropIndex("envelope_ledger_day").ifExists().execute();
      },
    },
  };
}

function withoutRowid(table: CreateTableBuilder<string, never>, dialect: SqlDialect): CreateTableBuilder<string, never> {
  return dialect === "sqlite" ? table.modifyEnd(sql`without rowid`) : table;
}

export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
  }
}

export interface MigrateOptions {
  /**
   * Postgres: the schema of kysely's bookkeeping tables. Without it kysely looks for them in every
   * schema of the database and, finding another schema's, would not create its own.
   */
  migrationTableSchema?: string;
}

function migrator(db: Kysely<RelayDatabase>, dialect: SqlDialect, opts: MigrateOptions): Migrator {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  return new Migrator({ db, provider, migrationTableSchema: opts.migrationTableSchema });
}

export async function migrateToLatest(db: Kysely<RelayDatabase>, dialect: SqlDialect, opts: MigrateOptions = {}): Promise<void> {
  const { error } = await migrator(db, dialect, opts).migrateToLatest();
  if (error) throw new MigrationError("migration failed", { cause: error });
}

/** Migrates up to and including `name` only: tests build databases as older relays left them. */
export async function migrateTo(db: Kysely<RelayDatabase>, dialect: SqlDialect, name: string, opts: MigrateOptions = {}): Promise<void> {
  const { error } = await migrator(db, dialect, opts).migrateTo(name);
  if (error) throw new MigrationError("migration failed", { cause: error });
}
