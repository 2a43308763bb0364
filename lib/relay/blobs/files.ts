// Blobs as files under DATA_DIR/blobs, for one relay process (the default). The index (owner, size,
// bytes received, token hash, expiry) is a small SQLite file beside them; the index is the truth about
// how many bytes are durably stored: a file longer than its `received` (a crash between writing and
// indexing) is cut back to it before the upload resumes.
//
// An upload's pieces are not made durable one by one: the bytes go to the file as they come, and the
// file is synced and the index moved forward only every SYNC_EVERY_BYTES, when the blob is complete
// (before the last piece is acknowledged) and at shutdown. In between, this process remembers how far
// each file is written, so the next piece (or a HEAD) continues from there; after a crash the upload
// resumes from the last synced offset, which the file's bytes are known to match. A blob is served
// only once complete, so nothing unsynced is ever read.
import Database from "better-sqlite3";
import { constants, createReadStream, mkdirSync } from "node:fs";
import { type FileHandle, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { AppendOutcome, BlobMeta, BlobStore, NewBlob } from "./types";

const INDEX_FILE = "index.sqlite";
/** Bytes written between two fsyncs and index updates while an upload streams in (across its pieces). */
export const SYNC_EVERY_BYTES = 8 * 1024 * 1024;
/** Bytes of an upload's body gathered before they are written (one writev). */
export const WRITE_BATCH_BYTES = 1024 * 1024;
const BLOB_ID = /^[A-Za-z0-9_-]{32,64}$/;

interface Row {
  id: string;
  owner: string;
  size: number;
  received: number;
  token_hash: string | null;
  token_expires_at: number;
  created_at: number;
  expires_at: number;
}

function toMeta(row: Row): BlobMeta {
  return {
    id: row.id,
    owner: row.owner,
    size: row.size,
    received: row.received,
    tokenHash: row.token_hash,
    tokenExpiresAt: row.token_expires_at,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

/** Writes `parts` at `position`, all of them (writev may write less than asked). */
async function writeAll(file: FileHandle, parts: Uint8Array[], position: number): Promise<void> {
  let rest = parts;
  let at = position;
  while (rest.length > 0) {
    let { bytesWritten } = await file.writev(rest, at);
    at += bytesWritten;
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i].length) bytesWritten -= rest[i++].length;
    rest = rest.slice(i);
    if (bytesWritten > 0) rest[0] = rest[0].subarray(bytesWritten);
  }
}

export class FileBlobStore implements BlobStore {
  private readonly db: Database.Database;
  /** Appends to one blob run one at a time (two requests holding its token must not interleave). */
  private readonly busy = new Set<string>();
  /** Blobs whose file is written past their indexed `received`, not yet synced: how far. */
  private readonly unsynced = new Map<string, number>();

  private readonly syncEveryBytes: number;

  constructor(
    private readonly dir: string,
    opts: { syncEveryBytes?: number } = {},
  ) {
    this.syncEveryBytes = opts.syncEveryBytes ?? SYNC_EVERY_BYTES;
    mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, INDEX_FILE));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(`CREATE TABLE IF NOT EXISTS blobs (
      id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      size INTEGER NOT NULL,
      received INTEGER NOT NULL,
      token_hash TEXT,
      token_expires_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS blobs_owner ON blobs (owner);
    CREATE INDEX IF NOT EXISTS blobs_expires ON blobs (expires_at);`);
  }

  private path(id: string): string {
    // ids come from the relay's own random generator, but the path is built from one: check it anyway
    if (!BLOB_ID.test(id)) throw new Error("invalid blob id");
    return join(this.dir, id);
  }

  async create(blob: NewBlob, quotaBytes: number): Promise<"ok" | "quota_exceeded"> {
    const insert = this.db.transaction(() => {
      const used = (this.db.prepare("SELECT COALESCE(SUM(size), 0) AS used FROM blobs WHERE owner = ?").get(blob.owner) as { used: number }).used;
      if (used + blob.size > quotaBytes) return "quota_exceeded" as const;
      this.db
        .prepare("INSERT INTO blobs (id, owner, size, received, token_hash, token_expires_at, created_at, expires_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?)")
        .run(blob.id, blob.owner, blob.size, blob.tokenHash, blob.tokenExpiresAt, blob.createdAt, blob.expiresAt);
      return "ok" as const;
    });
    const outcome = insert.immediate();
    if (outcome === "ok") {
      const file = await open(this.path(blob.id), "w");
      await file.close();
    }
    return outcome;
  }

  /** The blob as indexed (`received`: what is durably stored). */
  private indexed(id: string): BlobMeta | null {
    const row = this.db.prepare("SELECT * FROM blobs WHERE id = ?").get(id) as Row | undefined;
    return row ? toMeta(row) : null;
  }

  async get(id: string): Promise<BlobMeta | null> {
    const meta = this.indexed(id);
    const written = this.unsynced.get(id);
    return meta && written !== undefined ? { ...meta, received: written } : meta;
  }

  /** Makes a blob's written bytes durable, then indexes them (the index never runs ahead of the disk). */
  private async sync(id: string, file: FileHandle, received: number, size: number): Promise<void> {
    await file.datasync();
    // never backwards (another process may have gone on with this blob since)
    this.db.prepare(`UPDATE blobs SET received = ?${received === size ? ", token_hash = NULL" : ""} WHERE id = ? AND received <= ?`).run(received, id, received);
    this.unsynced.delete(id);
  }

  async renewToken(id: string, tokenHash: string, tokenExpiresAt: number): Promise<boolean> {
    const res = this.db.prepare("UPDATE blobs SET token_hash = ?, token_expires_at = ? WHERE id = ? AND received < size").run(tokenHash, tokenExpiresAt, id);
    return res.changes === 1;
  }

  async append(id: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<AppendOutcome> {
    const meta = this.indexed(id);
    if (!meta) return { ok: false, reason: "not_found" };
    let synced = meta.received;
    let received = this.unsynced.get(id) ?? synced;
    if (this.busy.has(id) || offset !== received) return { ok: false, reason: "offset_mismatch", received };
    this.busy.add(id);
    let file: FileHandle | null = null;
    /** Syncs when `force`d (the blob complete, or cut short), or when enough is written; otherwise remembers how far. */
    const record = async (force: boolean) => {
      if (!file || received === synced) return;
      if (force || received - synced >= this.syncEveryBytes) {
        await this.sync(id, file, received, meta.size);
        synced = received;
      } else this.unsynced.set(id, received);
    };
    // the network's reads (64 KiB or so each) are written WRITE_BATCH_BYTES at a time, one writev instead
    // of one write each: a sixteenth of the thread pool's round trips (the relay's CPU per upload a
    // quarter lower, docs/BENCHMARKS.md)
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batchBytes === 0) return;
      const parts = batch;
      const bytes = batchBytes;
      batch = [];
      batchBytes = 0;
      await writeAll(file!, parts, received);
      received += bytes;
      await record(false);
    };
    try {
      // created if a crash came between indexing the blob and creating its file
      file = await open(this.path(id), constants.O_RDWR | constants.O_CREAT);
      // whatever a crash left past the indexed length is not trusted (and what this process wrote is kept)
      await file.truncate(received);
      for await (const chunk of body) {
        const room = meta.size - received - batchBytes;
        const take = Math.min(room, chunk.length);
        if (take > 0) {
          batch.push(take < chunk.length ? chunk.subarray(0, take) : chunk);
          batchBytes += take;
        }
        if (take < chunk.length) {
          await flush();
          await record(true);
          return { ok: false, reason: "too_large", received };
        }
        // written (and synced by record()) where a sync is due, as when each read was written at once
        if (batchBytes >= Math.min(WRITE_BATCH_BYTES, synced + this.syncEveryBytes - received)) await flush();
      }
      await flush();
      // the last piece is acknowledged only once the whole blob is on disk
      await record(received === meta.size);
      return { ok: true, received };
    } catch (err) {
      // the stream broke off (the client went away): keep what arrived, so the upload resumes there
      await flush().catch(() => {});
      await record(false).catch(() => {});
      throw err;
    } finally {
      await file?.close().catch(() => {});
      this.busy.delete(id);
    }
  }

  async *read(id: string, start: number, end: number): AsyncIterable<Uint8Array> {
    const meta = await this.get(id);
    if (!meta || meta.received !== meta.size || start < 0 || end >= meta.size || start > end) throw new Error("no such range");
    const stream = createReadStream(this.path(id), { start, end, highWaterMark: 256 * 1024 });
    for await (const chunk of stream) yield chunk as Buffer;
  }

  async usage(owner: string): Promise<number> {
    return (this.db.prepare("SELECT COALESCE(SUM(size), 0) AS used FROM blobs WHERE owner = ?").get(owner) as { used: number }).used;
  }

  async deleteExpired(now: number): Promise<number> {
    const expired = this.db.prepare("SELECT id FROM blobs WHERE expires_at <= ?").all(now) as { id: string }[];
    let deleted = 0;
    for (const { id } of expired) {
      // an upload still streaming into it finishes first
      if (this.busy.has(id)) continue;
      this.unsynced.delete(id);
      await rm(this.path(id), { force: true });
      deleted += this.db.prepare("DELETE FROM blobs WHERE id = ?").run(id).changes;
    }
    return deleted;
  }

  async delete(id: string): Promise<boolean> {
    if (this.busy.has(id)) return false;
    this.unsynced.delete(id);
    await rm(this.path(id), { force: true });
    return this.db.prepare("DELETE FROM blobs WHERE id = ?").run(id).changes > 0;
  }

  async close(): Promise<void> {
    // uploads under way keep every byte written before a clean shutdown
    for (const [id, received] of [...this.unsynced]) {
      const meta = this.indexed(id);
      if (!meta) continue;
      const file = await open(this.path(id), constants.O_RDWR).catch(() => null);
      if (!file) continue;
      try {
        await this.sync(id, file, received, meta.size);
      } finally {
        await file.close().catch(() => {});
      }
    }
    this.db.close();
  }
}
