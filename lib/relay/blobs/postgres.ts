// Blobs in Postgres, for several relay processes sharing one database: any node takes an upload's
// next piece or serves a range. The bytes are rows of at most CHUNK_BYTES (`blob_chunks`), so a
// 100 MB blob never sits whole in memory on either side, a range read fetches only its rows, and an
// upload that breaks off keeps every piece committed before the break.
//
// Appends are optimistic rather than locked (an upload may take minutes; a transaction must not):
// each piece moves `received` forward only from the offset it was written for, so two requests
// racing on one blob cannot both write the same bytes, and the loser learns where to resume.
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { lockKey } from "../storage/pgLocks";
import type { AppendOutcome, BlobMeta, BlobStore, NewBlob } from "./types";

/** Bytes per stored row, and the most an append holds in memory at once. */
export const CHUNK_BYTES = 256 * 1024;
/** Rows fetched per query while reading a range. */
const READ_ROWS = 8;

const BLOBS_MIGRATION_LOCK = lockKey("junction relay: blob tables");
const BLOBS_SWEEP_LOCK = lockKey("junction relay: blob sweep");

interface BlobsTable {
  id: string;
  owner: string;
  size: string | number;
  received: string | number;
  token_hash: string | null;
  token_expires_at: string | number;
  created_at: string | number;
  expires_at: string | number;
}
interface ChunksTable {
  blob_id: string;
  offset: string | number;
  data: Uint8Array;
}
interface BlobDatabase {
  blobs: BlobsTable;
  blob_chunks: ChunksTable;
}

function toMeta(row: BlobsTable): BlobMeta {
  return {
    id: row.id,
    owner: row.owner,
    size: Number(row.size),
    received: Number(row.received),
    tokenHash: row.token_hash,
    tokenExpiresAt: Number(row.token_expires_at),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

export interface PostgresBlobOptions {
  schema?: string;
  poolSize?: number;
}

export class PostgresBlobStore implements BlobStore {
  private constructor(private readonly db: Kysely<BlobDatabase>) {}

  static async open(url: string, opts: PostgresBlobOptions = {}): Promise<PostgresBlobStore> {
    if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) throw new RangeError("invalid schema name");
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 4,
      application_name: "junction-relay-blobs",
      ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    pool.on("error", () => {});
    const db = new Kysely<BlobDatabase>({ dialect: new PostgresDialect({ pool }) });
    try {
      await db.connection().execute(async (conn) => {
        await sql`SELECT pg_advisory_lock(${BLOBS_MIGRATION_LOCK.toString()}::bigint)`.execute(conn);
        try {
          if (opts.schema !== undefined) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(opts.schema)}`.execute(conn);
          await sql`CREATE TABLE IF NOT EXISTS blobs (
            id text PRIMARY KEY,
            owner text NOT NULL,
            size bigint NOT NULL,
            received bigint NOT NULL,
            token_hash text,
            token_expires_at bigint NOT NULL,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL
          )`.execute(conn);
          await sql`CREATE INDEX IF NOT EXISTS blobs_owner ON blobs (owner)`.execute(conn);
          await sql`CREATE INDEX IF NOT EXISTS blobs_expires ON blobs (expires_at)`.execute(conn);
          await sql`CREATE TABLE IF NOT EXISTS blob_chunks (
            blob_id text NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
            "offset" bigint NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (blob_id, "offset")
          )`.execute(conn);
        } finally {
          await sql`SELECT pg_advisory_unlock(${BLOBS_MIGRATION_LOCK.toString()}::bigint)`.execute(conn);
        }
      });
    } catch (err) {
      await db.destroy();
      throw err;
    }
    return new PostgresBlobStore(db);
  }

  async create(blob: NewBlob, quotaBytes: number): Promise<"ok" | "quota_exceeded"> {
    // the owner's rows are counted and the new one added in one statement: two uploads racing each see
    // the other's reservation or fail on the check, never both slip under the quota
    return this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${lockKey(`blob owner\n${blob.owner}`).toString()}::bigint)`.execute(trx);
      const { used } = await trx
        .selectFrom("blobs")
        .select(sql<string>`COALESCE(SUM(size), 0)`.as("used"))
        .where("owner", "=", blob.owner)
        .executeTakeFirstOrThrow();
      if (Number(used) + blob.size > quotaBytes) return "quota_exceeded" as const;
      await trx
        .insertInto("blobs")
        .values({
          id: blob.id,
          owner: blob.owner,
          size: blob.size,
          received: 0,
          token_hash: blob.tokenHash,
          token_expires_at: blob.tokenExpiresAt,
          created_at: blob.createdAt,
          expires_at: blob.expiresAt,
        })
        .execute();
      return "ok" as const;
    });
  }

  async get(id: string): Promise<BlobMeta | null> {
    const row = await this.db.selectFrom("blobs").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toMeta(row) : null;
  }

  async renewToken(id: string, tokenHash: string, tokenExpiresAt: number): Promise<boolean> {
    const res = await this.db
      .updateTable("blobs")
      .set({ token_hash: tokenHash, token_expires_at: tokenExpiresAt })
      .where("id", "=", id)
      .whereRef("received", "<", "size")
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async append(id: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<AppendOutcome> {
    const meta = await this.get(id);
    if (!meta) return { ok: false, reason: "not_found" };
    if (offset !== meta.received) return { ok: false, reason: "offset_mismatch", received: meta.received };
    let received = offset;
    let buffer = new Uint8Array(CHUNK_BYTES);
    let filled = 0;
    const flush = async (): Promise<boolean> => {
      if (filled === 0) return true;
      const data = buffer.slice(0, filled);
      const complete = received + filled === meta.size;
      const moved = await this.db.transaction().execute(async (trx) => {
        const res = await trx
          .updateTable("blobs")
          .set({ received: received + filled, ...(complete ? { token_hash: null } : {}) })
          .where("id", "=", id)
          .where("received", "=", received)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) return false;
        await trx.insertInto("blob_chunks").values({ blob_id: id, offset: received, data }).execute();
        return true;
      });
      if (!moved) return false;
      received += filled;
      filled = 0;
      return true;
    };
    const lost = async (): Promise<AppendOutcome> => {
      const now = await this.get(id);
      return now ? { ok: false, reason: "offset_mismatch", received: now.received } : { ok: false, reason: "not_found" };
    };
    try {
      for await (const chunk of body) {
        let at = 0;
        while (at < chunk.length) {
          if (received + filled >= meta.size) {
            if (!(await flush())) return await lost();
            return { ok: false, reason: "too_large", received };
          }
          const take = Math.min(chunk.length - at, CHUNK_BYTES - filled, meta.size - received - filled);
          buffer.set(chunk.subarray(at, at + take), filled);
          filled += take;
          at += take;
          if (filled === CHUNK_BYTES) {
            if (!(await flush())) return await lost();
            buffer = new Uint8Array(CHUNK_BYTES);
          }
        }
      }
      if (!(await flush())) return await lost();
      return { ok: true, received };
    } catch (err) {
      // the stream broke off: what is buffered is whole bytes of the upload in order, so keep them too
      await flush().catch(() => {});
      throw err;
    }
  }

  async *read(id: string, start: number, end: number): AsyncIterable<Uint8Array> {
    const meta = await this.get(id);
    if (!meta || meta.received !== meta.size || start < 0 || end >= meta.size || start > end) throw new Error("no such range");
    // the first row is the one holding `start`: the last whose offset is at or before it
    const first = await this.db
      .selectFrom("blob_chunks")
      .select("offset")
      .where("blob_id", "=", id)
      .where("offset", "<=", start)
      .orderBy("offset", "desc")
      .limit(1)
      .executeTakeFirstOrThrow();
    let from = Number(first.offset);
    while (from <= end) {
      const rows = await this.db
        .selectFrom("blob_chunks")
        .select(["offset", "data"])
        .where("blob_id", "=", id)
        .where("offset", ">=", from)
        .where("offset", "<=", end)
        .orderBy("offset")
        .limit(READ_ROWS)
        .execute();
      if (rows.length === 0) break;
      for (const row of rows) {
        const at = Number(row.offset);
        const data = row.data;
        const lo = Math.max(0, start - at);
        const hi = Math.min(data.length, end - at + 1);
        if (hi > lo) yield data.subarray(lo, hi);
        from = at + data.length;
      }
    }
  }

  async usage(owner: string): Promise<number> {
    const { used } = await this.db
      .selectFrom("blobs")
      .select(sql<string>`COALESCE(SUM(size), 0)`.as("used"))
      .where("owner", "=", owner)
      .executeTakeFirstOrThrow();
    return Number(used);
  }

  async deleteExpired(now: number): Promise<number> {
    return this.db.connection().execute(async (conn) => {
      const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${BLOBS_SWEEP_LOCK.toString()}::bigint) AS locked`.execute(conn);
      // another node is sweeping: it deletes the same rows
      if (!rows[0]?.locked) return 0;
      try {
        const res = await conn.deleteFrom("blobs").where("expires_at", "<=", now).executeTakeFirst();
        return Number(res.numDeletedRows);
      } finally {
        await sql`SELECT pg_advisory_unlock(${BLOBS_SWEEP_LOCK.toString()}::bigint)`.execute(conn);
      }
    });
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom("blobs").where("id", "=", id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
