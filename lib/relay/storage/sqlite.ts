// The SQLite adapter: one file under DATA_DIR, WAL, every write answered only once it is on disk (one
// shared fsync of the log for all the commits before it, off the event loop: see fileSync.ts), and secure_delete so acked envelopes and swept ledger rows are overwritten, not merely unlinked.
import Database from "better-sqlite3";
import { Kysely, SqliteDialect, type SqliteDatabase, sql } from "kysely";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { FileSync } from "./fileSync";
import { KyselyRelayStore } from "./kyselyStore";
import { migrateToLatest } from "./migrations";
import type { RelayDatabase } from "./schema";
import type { GroupableStore } from "./types";

export const SQLITE_FILE = "relay.sqlite";

// Statements kept prepared, by SQL text: kysely prepares every query anew, and parsing and planning
// the same few statements thousands of times a second was a measurable share of a send.
const STATEMENT_CACHE = 500;

/**
 * The database as kysely sees it, with prepared statements reused. Safe because kysely's SQLite driver
 * runs one query at a time on its one connection and reads every result at once (`all`/`run`); the
 * relay never streams a query, which would hold its statement busy.
 */
function withStatementCache(sqlite: Database.Database): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(query: string) {
      let stmt = cache.get(query);
      if (stmt) {
        // most recently used last, so the oldest go first
        cache.delete(query);
      } else {
        stmt = sqlite.prepare(query);
        if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
      }
      cache.set(query, stmt);
      return stmt;
    },
  };
}

export async function openSqliteStore(dataDir: string): Promise<GroupableStore> {
  mkdirSync(dataDir, { recursive: true });
  const sqlite = new Database(join(dataDir, SQLITE_FILE));
  sqlite.pragma("journal_mode = WAL");
  // Commits do not fsync on the event loop; the store awaits `FileSync` before it answers a write.
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("secure_delete = ON");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = new Kysely<RelayDatabase>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  try {
    // kysely's migrator opens no transaction on SQLite (it assumes no transactional DDL), yet SQLite
    // has it: one transaction around all pending migrations and their bookkeeping means a crash in
    // the middle of one (0003 rebuilds a table) leaves the previous schema, not half of the next.
    sqlite.exec("BEGIN IMMEDIATE");
    await migrateToLatest(db, "sqlite");
    sqlite.exec("COMMIT");
    const file = join(dataDir, SQLITE_FILE);
    const log = new FileSync([`${file}-wal`, file]);
    return await KyselyRelayStore.open(
      db,
      "sqlite",
      async (k) => {
        // The WAL still holds the pages as they were before a delete; truncating it drops those copies.
        await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(k);
      },
      () => log.sync(),
    );
  } catch (err) {
    if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
    await db.destroy();
    throw err;
  }
}
