// The SQLite adapter: one file under DATA_DIR, WAL, fsync on every commit (an ack means on disk),
// and secure_delete so acked envelopes and swept ledger rows are overwritten, not merely unlinked.
import Database from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { KyselyRelayStore } from "./kyselyStore";
import { migrateToLatest } from "./migrations";
import type { RelayDatabase } from "./schema";
import type { RelayStore } from "./types";

export const SQLITE_FILE = "relay.sqlite";

export async function openSqliteStore(dataDir: string): Promise<RelayStore> {
  mkdirSync(dataDir, { recursive: true });
  const sqlite = new Database(join(dataDir, SQLITE_FILE));
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("secure_delete = ON");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    // kysely's migrator opens no transaction on SQLite (it assumes no transactional DDL), yet SQLite
    // has it: one transaction around all pending migrations and their bookkeeping means a crash in
    // the middle of one (0003 rebuilds a table) leaves the previous schema, not half of the next.
    sqlite.exec("BEGIN IMMEDIATE");
    await migrateToLatest(db, "sqlite");
    sqlite.exec("COMMIT");
    return await KyselyRelayStore.open(db, "sqlite", async (k) => {
      // The WAL still holds the pages as they were before a delete; truncating it drops those copies.
      await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(k);
    });
  } catch (err) {
    if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
    await db.destroy();
    throw err;
  }
}
