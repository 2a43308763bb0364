// The ciphertext side of a transfer that need not run beside the AEAD (runtime: any): hashing the digest's
// leaves (lib/crypto AttachmentLeafHasher) and copying sealed bytes into Blobs, the request bodies. In the
// browser a worker of its own does it (lib/worker/io.ts), so that the engine's thread only reads, seals
// and opens while the other core hashes and copies; in Node (tests, history) it runs inline, the same code.
// A worker that was given an upload's AEAD key (`open`'s `sealing`) also seals some of the upload's pieces,
// so that the AEAD runs on both cores: that key opens this one file, and the worker gets no other key, no
// identity or session secret, and no download's plaintext.
import type { ChunkSealKey } from "../../crypto/chunks";
import { AttachmentLeafHasher } from "../../crypto/leaves";

/** What one push gives back. */
export interface CipherPiece {
  /**
   * The digests of the sealed chunks the pushed bytes completed (for addLeaves, in order). They may settle
   * after the piece itself: the digests copied their input when they started, so the bytes come back (and
   * the caller seals into them again) without waiting for them.
   */
  leaves: Promise<Uint8Array[]>;
  /** The pushed bytes from `blobFrom` on, when it was given. */
  blob: Blob | null;
  /** The pushed bytes themselves (a worker gives their buffer back: it was handed over). */
  bytes: Uint8Array;
}

/** What a piece of plaintext handed to sealPush is sealed as: AttachmentEncryptor.claimInPlace's chunks. */
export interface SealJob {
  /** The plaintext bytes at the buffer's start (whole chunks unless `last`). */
  plainBytes: number;
  /** The index of its first chunk. */
  first: number;
  /** Whether its end is the file's final chunk. */
  last: boolean;
}

/** One transfer's ciphertext stream, in order. */
export interface CipherStream {
  /**
   * Hashes the stream's next bytes; with `blobFrom`, copies `bytes[blobFrom..]` into a Blob too. The
   * bytes and their whole buffer are handed over (a worker takes it by transfer): the caller touches them
   * again only once the promise gives them back, which it does once the Blob is made and the digests have
   * started (their leaves come later, in the piece's own promise).
   */
  push(bytes: Uint8Array, blobFrom?: number): Promise<CipherPiece>;
  /**
   * Only where the stream was opened with a key and its work runs on a thread of its own: seals the
   * plaintext at the start of `bytes` there, in place (`job`), then does with the sealed bytes what push()
   * does, in the stream's order (a piece pushed after this one is hashed after it). The sealed bytes are
   * the piece's `bytes` up to their sealed length; its buffer comes back whole.
   */
  sealPush?(bytes: Uint8Array, job: SealJob, blobFrom?: number): Promise<CipherPiece>;
  /**
   * Hashes the stream's next bytes, given in parts (each its own whole buffer, all handed over in one go
   * and not given back): the digests of the sealed chunks they complete.
   */
  pushParts(parts: Uint8Array[]): Promise<Uint8Array[]>;
  /** The last, short sealed chunk's digest, if any; the stream is done. */
  end(): Promise<Uint8Array[]>;
  /** Drops the stream (a failed or finished transfer). */
  close(): void;
}

export interface CipherIo {
  /**
   * A stream whose first `skip` bytes (the ciphertext's prefix, when it starts at byte 0) are not hashed;
   * with `sealing`, an upload's stream that may seal pieces too (sealPush), where that saves the caller's thread.
   */
  open(skip: number, sealing?: ChunkSealKey): CipherStream;
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

/** The same work on the caller's thread: Node, and a browser without nested workers. */
export const inlineCipherIo: CipherIo = {
  open(skip) {
    const hasher = new AttachmentLeafHasher(skip);
    return {
      async push(bytes, blobFrom) {
        const { leaves, blob } = pushInline(hasher, bytes, blobFrom);
        // the caller's to handle, once it has the piece (not an unhandled rejection meanwhile)
        leaves.catch(() => undefined);
        return { leaves, blob, bytes };
      },
      pushParts: (parts) => pushPartsInline(hasher, parts),
      end: () => hasher.end(),
      close: () => undefined,
    };
  },
};
