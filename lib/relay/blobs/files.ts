// Blobs as files under DATA_DIR/blobs, for one relay process (the default). The index (owner, size,
// bytes received, token hash, expiry) is a small SQLite file beside them; the index is the truth about
// how many bytes are stored: a file longer than its `received` (a crash between writing and indexing)
// is cut back to it before the upload resumes.
import Database from "better-sqlite3";
import { constants, createReadStream, mkdirSync } from "node:fs";
import { type FileHandle, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { AppendOutcome, BlobMeta, BlobStore, NewBlob } from "./types";

const INDEX_FILE = "index.sqlite";
/** Bytes written between two fsyncs and index updates while an upload streams in. */
const SYNC_EVERY_BYTES = 4 * 1024 * 1024;
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

export class FileBlobStore implements BlobStore {
  private readonly db: Database.Database;
  /** Appends to one blob run one at a time (two requests holding its token must not interleave). */
  private readonly busy = new Set<string>();

  constructor(private readonly dir: string) {
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

  async get(id: string): Promise<BlobMeta | null> {
    const row = this.db.prepare("SELECT * FROM blobs WHERE id = ?").get(id) as Row | undefined;
    return row ? toMeta(row) : null;
  }

  async renewToken(id: string, tokenHash: string, tokenExpiresAt: number): Promise<boolean> {
    const res = this.db.prepare("UPDATE blobs SET token_hash = ?, token_expires_at = ? WHERE id = ? AND received < size").run(tokenHash, tokenExpiresAt, id);
    return res.changes === 1;
  }

  async append(id: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<AppendOutcome> {
    const meta = await this.get(id);
    if (!meta) return { ok: false, reason: "not_found" };
    if (this.busy.has(id) || offset !== meta.received) return { ok: false, reason: "offset_mismatch", received: meta.received };
    this.busy.add(id);
    let file: FileHandle | null = null;
    let received = meta.received;
    let synced = received;
    const record = async () => {
      if (!file || received === synced) return;
      await file.datasync();
      const complete = received === meta.size;
      this.db.prepare(`UPDATE blobs SET received = ?${complete ? ", token_hash = NULL" : ""} WHERE id = ?`).run(received, id);
      synced = received;
    };
    try {
      // created if a crash came between indexing the blob and creating its file
      file = await open(this.path(id), constants.O_RDWR | constants.O_CREAT);
      // whatever a crash left past the indexed length is not trusted
      await file.truncate(received);
      for await (const chunk of body) {
        const room = meta.size - received;
        const take = Math.min(room, chunk.length);
        if (take > 0) {
          await file.write(chunk, 0, take, received);
          received += take;
        }
        if (take < chunk.length) {
          await record();
          return { ok: false, reason: "too_large", received };
        }
        if (received - synced >= SYNC_EVERY_BYTES) await record();
      }
      await record();
      return { ok: true, received };
    } catch (err) {
      // the stream broke off (the client went away): keep what arrived, so the upload resumes there
      await record().catch(() => {});
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
      await rm(this.path(id), { force: true });
      deleted += this.db.prepare("DELETE FROM blobs WHERE id = ?").run(id).changes;
    }
    return deleted;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
