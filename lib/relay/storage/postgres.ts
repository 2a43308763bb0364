// The Postgres adapter (Node): a bounded `pg` pool behind kysely's PostgresDialect, the shared
// migrations run once per database under an advisory lock, and the shared store (kyselyStore.ts) with
// its Postgres branches for what concurrency across relay processes needs. Any number of relay
// processes may open the same database at once.
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { KyselyRelayStore } from "./kyselyStore";
import { MigrationError, migrateToLatest } from "./migrations";
import { MIGRATIONS_LOCK } from "./pgLocks";
import type { RelayDatabase } from "./schema";
import type { GroupableStore } from "./types";

export interface PostgresStoreOptions {
  /**
   * Connections this process keeps at most (default 10). Every relay process opens its own pool:
   * processes × poolSize must stay below the server's max_connections.
   */
  poolSize?: number;
  /** The server cancels any one statement running longer than this, in ms (default 15,000). Not while migrating. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection, new or from a full pool, in ms (default 10,000). */
  connectTimeoutMs?: number;
  /**
   * The schema to keep the tables in, created if absent (default: the role's search_path, normally
   * `public`). Set through the connection's startup options, so an `options` parameter in the URL
   * replaces it.
   */
  schema?: string;
  /** Shown in pg_stat_activity (default `junction-relay`). */
  applicationName?: string;
  /**
   * An idle pooled connection failed (the server restarted, the network dropped it). The pool has
   * already discarded it and opens a new one when next needed; without a listener `pg` would crash
   * the process with the unhandled `error` event, so the default ignores it.
   */
  onPoolError?: (err: Error) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

// A transaction left open this long (ms) belongs to a stuck process: the server ends it, so the row
// and advisory locks it holds (a device's insert lock among them) do not stall other nodes.
const IDLE_IN_TRANSACTION_MS = 60_000;

/**
 * Opens (and on first use, or after an upgrade, migrates) the relay's tables in the database at `url`
 * (`postgres://user@host:port/database`).
 */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<GroupableStore> {
  const poolSize = opts.poolSize ?? 10;
  const statementTimeoutMs = opts.statementTimeoutMs ?? 15_000;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) throw new RangeError("invalid pool size");
  if (!Number.isSafeInteger(statementTimeoutMs) || statementTimeoutMs < 1) throw new RangeError("invalid statement timeout");
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) throw new RangeError("invalid schema name");
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    application_name: opts.applicationName ?? "junction-relay",
    ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  pool.on("error", opts.onPoolError ?? (() => {}));
  const db = new Kysely<RelayDatabase>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db, opts.schema);
    // Scrub does nothing here. Postgres has no secure_delete: a deleted row stays in its heap page
    // until (auto)vacuum marks the space free and a later row overwrites it, and WAL segments keep
    // copies until they are recycled. No client command short of VACUUM FULL (an exclusive table lock,
    // not for a running relay) closes that, and autovacuum already reclaims the dead rows on its own.
    // What is left on disk is the operator's to protect (an encrypted volume, encrypted WAL archives).
    return await KyselyRelayStore.open(db, "postgres", async () => {});
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

/**
 * Runs the pending migrations once per database, however many relay processes start together.
 * kysely's Migrator alone is not enough across processes: it creates its bookkeeping tables before it
 * takes its own lock, and CREATE TABLE IF NOT EXISTS (and CREATE SCHEMA) can still fail when two
 * sessions run it at once. So the whole of it runs under one session-level advisory lock on one
 * connection: the first process migrates, the others wait, then find nothing left to do.
 */
async function migrate(db: Kysely<RelayDatabase>, schema: string | undefined): Promise<void> {
  await db.connection().execute(async (conn) => {
    // Waiting for another process's migration, or migrating a large table, is not a stuck statement.
    // RESET brings back the pool's timeout, which is a startup parameter of the connection.
    await sql`SET statement_timeout = 0`.execute(conn);
    await sql`SELECT pg_advisory_lock(${MIGRATIONS_LOCK.toString()}::bigint)`.execute(conn);
    try {
      if (schema !== undefined) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(conn);
      const { rows } = await sql<{ schema: string | null }>`SELECT current_schema() AS schema`.execute(conn);
      const current = rows[0]?.schema;
      if (!current) throw new MigrationError("no schema to migrate: the search_path names none that exists");
      await migrateToLatest(conn, "postgres", { migrationTableSchema: current });
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATIONS_LOCK.toString()}::bigint)`.execute(conn);
      await sql`RESET statement_timeout`.execute(conn);
    }
  });
}
