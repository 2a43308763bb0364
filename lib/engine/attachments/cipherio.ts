// The share of a transfer that need not run on the engine's thread (runtime: any): hashing the digest's
// leaves (lib/crypto AttachmentLeafHasher), copying sealed bytes into Blobs (the request bodies), and
// sealing or opening the runs of chunks a transfer hands out (lib/crypto AttachmentChunkCipher), so that
// on two cores the AEAD of one file runs on both. In the browser a worker of its own does it
// (lib/worker/io.ts); in Node (tests, history) it runs inline, the same code. It is given the one file's
// attachment key for the runs, never an identity or session key.
import { ATTACHMENT_CHUNK_BYTES, ATTACHMENT_SEALED_CHUNK_BYTES, AttachmentChunkCipher, AttachmentLeafHasher, type ChunkRun } from "../../crypto";

/** What one push gives back. */
export interface CipherPiece {
  /** The digests of the sealed chunks the pushed bytes completed (for addLeaves, in order). */
  leaves: Uint8Array[];
  /** The pushed bytes from `blobFrom` on, when it was given. */
  blob: Blob | null;
  /** The pushed bytes themselves (a worker gives their buffer back: it was handed over). */
  bytes: Uint8Array;
}

/** What opening a run gives back. */
export interface OpenedRun {
  /** The plaintext: the `start` given, then the run's. */
  blob: Blob;
  /** The buffer it was opened in (a worker gives it back: it was handed over). */
  bytes: Uint8Array;
  /** The `start` given, back the same way. */
  start: Uint8Array | null;
}

/** One transfer's ciphertext stream, in order. */
export interface CipherStream {
  /**
   * Whether its work runs on another thread than the caller's: only then is a run worth handing out
   * (inline, sealRun and openRun do what the encryptor and decryptor would, at the same cost).
   */
  readonly parallel: boolean;
  /**
   * Hashes the stream's next bytes; with `blobFrom`, copies `bytes[blobFrom..]` into a Blob too. The
   * bytes and their whole buffer are handed over (a worker takes it by transfer): the caller touches them
   * again only once the promise gives them back.
   */
  push(bytes: Uint8Array, blobFrom?: number): Promise<CipherPiece>;
  /**
   * Hashes the stream's next bytes, given in parts (each its own whole buffer, handed over in one go and
   * not given back): the digests of the sealed chunks they complete.
   */
  pushParts(parts: Uint8Array[]): Promise<Uint8Array[]>;
  /**
   * Seals `run` in place in `bytes` (its plaintext chunks laid at their sealed places), hashes its sealed
   * chunks (its own leaves, not the stream's: the run is whole chunks, the last one only when it ends the
   * file) and, with `blobFrom`, copies the sealed bytes from there on into a Blob; `bytes` are handed over
   * as with push(). The stream must have been opened with the attachment's key.
   */
  sealRun(bytes: Uint8Array, run: ChunkRun, blobFrom?: number): Promise<CipherPiece>;
  /**
   * Opens `run`, sealed back to back in `bytes`, in place, and gives its plaintext, after `start` (the
   * plaintext before it, opened by the caller), as one Blob: the copy out of the caller's thread made
   * here. A chunk that does not authenticate fails it with code "bad_message". Its leaves are not hashed
   * here (the stream's push() is given the same bytes). `bytes` and `start` are handed over as with push().
   */
  openRun(bytes: Uint8Array, run: ChunkRun, start?: Uint8Array): Promise<OpenedRun>;
  /** The last, short sealed chunk's digest, if any; the stream is done. */
  end(): Promise<Uint8Array[]>;
  /** Drops the stream (a failed or finished transfer). */
  close(): void;
}

export interface CipherIo {
  /**
   * A stream whose first `skip` bytes (the ciphertext's prefix, when it starts at byte 0) are not hashed;
   * with the attachment's `key`, it seals and opens runs too.
   */
  open(skip: number, key?: Uint8Array): CipherStream;
}

/** The pieces of one push, done on the calling thread: what a worker runs too. */
export function pushInline(hasher: AttachmentLeafHasher, bytes: Uint8Array, blobFrom: number | undefined): { leaves: Promise<Uint8Array[]>; blob: Blob | null } {
  // the digests start (and copy their input) before anything else may touch the bytes
  const leaves = hasher.push(bytes);
  const blob = blobFrom === undefined ? null : new Blob([bytes.subarray(blobFrom) as Uint8Array<ArrayBuffer>]);
  return { leaves, blob };
}

/** pushParts on the calling thread: what a worker runs too. */
export function pushPartsInline(hasher: AttachmentLeafHasher, parts: Uint8Array[]): Promise<Uint8Array[]> {
  return Promise.all(parts.map((p) => hasher.push(p))).then((leaves) => leaves.flat());
}

/** sealRun on the calling thread: what a worker runs too. */
export function sealRunInline(cipher: AttachmentChunkCipher | null, bytes: Uint8Array, run: ChunkRun, blobFrom: number | undefined): { leaves: Promise<Uint8Array[]>; blob: Blob | null } {
  if (!cipher) throw new Error("no key for this stream");
  const sealed = bytes.subarray(0, cipher.seal(run, bytes));
  const hasher = new AttachmentLeafHasher();
  const { leaves, blob } = pushInline(hasher, sealed, blobFrom);
  const end = hasher.end();
  return { leaves: Promise.all([leaves, end]).then(([a, b]) => [...a, ...b]), blob };
}

/** openRun on the calling thread: what a worker runs too. Throws CryptoError("bad_message") when a chunk does not authenticate. */
export function openRunInline(cipher: AttachmentChunkCipher | null, bytes: Uint8Array, run: ChunkRun, start?: Uint8Array): Blob {
  if (!cipher) throw new Error("no key for this stream");
  cipher.open(run, bytes);
  const parts = start ? [start as Uint8Array<ArrayBuffer>] : [];
  for (let at = 0, left = run.plainBytes; left > 0; at += ATTACHMENT_SEALED_CHUNK_BYTES) {
    const n = Math.min(left, ATTACHMENT_CHUNK_BYTES);
    parts.push(bytes.subarray(at, at + n) as Uint8Array<ArrayBuffer>);
    left -= n;
  }
  return new Blob(parts);
}

/** The same work on the caller's thread: Node, and a browser without nested workers. */
export const inlineCipherIo: CipherIo = {
  open(skip, key) {
    const hasher = new AttachmentLeafHasher(skip);
    const cipher = key ? new AttachmentChunkCipher(key) : null;
    return {
      parallel: false,
      async push(bytes, blobFrom) {
        const { leaves, blob } = pushInline(hasher, bytes, blobFrom);
        return { leaves: await leaves, blob, bytes };
      },
      pushParts: (parts) => pushPartsInline(hasher, parts),
      async sealRun(bytes, run, blobFrom) {
        const { leaves, blob } = sealRunInline(cipher, bytes, run, blobFrom);
        return { leaves: await leaves, blob, bytes };
      },
      async openRun(bytes, run, start) {
        return { blob: openRunInline(cipher, bytes, run, start), bytes, start: start ?? null };
      },
      end: () => hasher.end(),
      close: () => undefined,
    };
  },
};
