// Encrypted attachment blobs: ciphertext the relay keeps for a while and serves to anyone holding its
// unguessable id. One interface, two implementations tested by one suite (blobSuite.ts): files under
// DATA_DIR/blobs for one process, Postgres for several relay processes sharing one database.
//
// The relay never learns what a blob is: no name, no type, no sender or recipient, only the length of
// the ciphertext (which clients pad to buckets) and a keyed hash of the uploading device (for its quota).

/** What the relay knows about one blob. */
export interface BlobMeta {
  id: string;
  /** A keyed hash of the uploading device: the quota counts by it; it names no one. */
  owner: string;
  /** The ciphertext length announced before the upload; the blob is complete when `received` reaches it. */
  size: number;
  /** Bytes stored so far, in order from offset 0: an interrupted upload resumes here. */
  received: number;
  /** SHA-256 of the upload token, or null once the upload completed (the token is then spent). */
  tokenHash: string | null;
  /** The token is refused after this (ms); a fresh one is asked for over the socket to resume. */
  tokenExpiresAt: number;
  createdAt: number;
  /** The blob (complete or not) is deleted after this (ms). */
  expiresAt: number;
}

export interface NewBlob {
  id: string;
  owner: string;
  size: number;
  tokenHash: string;
  tokenExpiresAt: number;
  createdAt: number;
  expiresAt: number;
}

/** Why an append stopped short of the bytes it was given. */
export type AppendOutcome =
  | { ok: true; received: number }
  /** The upload did not start where the stored bytes end: resume from `received`. */
  | { ok: false; reason: "offset_mismatch"; received: number }
  /** More bytes than the announced size: nothing past the size was kept. */
  | { ok: false; reason: "too_large"; received: number }
  | { ok: false; reason: "not_found" };

export interface BlobStore {
  /**
   * Reserves a blob, unless the owner's blobs (complete or under way) would then pass `quotaBytes`.
   */
  create(blob: NewBlob, quotaBytes: number): Promise<"ok" | "quota_exceeded">;
  get(id: string): Promise<BlobMeta | null>;
  /** A fresh token for an incomplete blob (resuming after the old one expired). */
  renewToken(id: string, tokenHash: string, tokenExpiresAt: number): Promise<boolean>;
  /**
   * Appends the stream's bytes at `offset`, which must equal `received`. Bytes are stored as they come
   * (never the whole stream in memory); a stream that breaks off keeps what was stored before the break,
   * and the next append resumes there. Reaching `size` completes the blob and spends its token.
   */
  append(id: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<AppendOutcome>;
  /** The bytes `start` to `end` (inclusive) of a complete blob, as a stream of pieces. */
  read(id: string, start: number, end: number): AsyncIterable<Uint8Array>;
  /** Bytes the owner's blobs take or have reserved. */
  usage(owner: string): Promise<number>;
  /** Deletes blobs whose `expiresAt` has passed; on several nodes only one sweeps at a time. */
  deleteExpired(now: number): Promise<number>;
  /** Deletes one blob now (its owner asked); false when there is none, or an upload is still writing into it here. */
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}
