// Sealing an attachment's chunks where they lie (runtime: the engine's worker, the I/O worker, Node in
// tests). Every chunk is sealed under the file's AEAD key with its own nonce (its index and the last-chunk
// flag, the STREAM construction of attachments.ts) and the same associated data, so a run of chunks can be
// sealed on any thread that holds the key and knows the run's first index: the engine seals some pieces of
// an upload while the I/O worker seals others (lib/engine/attachments/transfer.ts). A module of its own,
// apart from the KDFs and the curves, so that the I/O worker loads the AEAD and nothing else of lib/crypto.
// The AttachmentEncryptor decides the indices (claimInPlace); this only does what it is told.
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import type { Bytes } from "./bytes";
import { CryptoError } from "./errors";
import { ATTACHMENT_CHUNK_BYTES, SEALED_CHUNK_BYTES } from "./leaves";

const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** What seals a file's chunks: its AEAD key (derived from the attachment key) and the chunks' associated data. */
export interface ChunkSealKey {
  key: Bytes;
  ad: Bytes;
}

/**
 * Chunk `index`'s nonce, written into `n` (12 bytes of the caller's, reused from chunk to chunk: the AEAD
 * reads it only during the call it is given to).
 */
export function chunkNonce(n: Bytes, index: number, last: boolean): Bytes {
  n.fill(0);
  n[7] = index >>> 24;
  n[8] = (index >>> 16) & 0xff;
  n[9] = (index >>> 8) & 0xff;
  n[10] = index & 0xff;
  n[11] = last ? 1 : 0;
  return n;
}

/** The sealed length of `plainBytes` of plaintext in whole chunks (the last one may be short or empty). */
export function sealedChunksBytes(plainBytes: number): number {
  return plainBytes + Math.max(1, Math.ceil(plainBytes / ATTACHMENT_CHUNK_BYTES)) * TAG_BYTES;
}

/**
 * Seals the first `plainBytes` of `buffer` as chunks `first`, `first + 1`, … (the last of them flagged as
 * the file's final chunk when `last`), back to back from the buffer's start, where they lie: a chunk's
 * sealed bytes start at or after its plaintext's start, so the chunks are sealed last first and each
 * overwrites only its own plaintext and the chunks after it, already sealed and moved out of the way.
 * The plaintext is whole chunks unless `last`. Returns the bytes written.
 */
export function sealChunksInPlace(k: ChunkSealKey, buffer: Bytes, plainBytes: number, first: number, last: boolean): number {
  if (k.key.length !== KEY_BYTES) throw new CryptoError("bad_key", "invalid aead key");
  if (!Number.isSafeInteger(first) || first < 0) throw new CryptoError("bad_state", "invalid chunk index");
  if (!Number.isSafeInteger(plainBytes) || plainBytes < 0 || (!last && (plainBytes === 0 || plainBytes % ATTACHMENT_CHUNK_BYTES !== 0))) {
    throw new CryptoError("bad_state", "not whole chunks");
  }
  const written = sealedChunksBytes(plainBytes);
  if (buffer.length < written) throw new CryptoError("bad_state", "buffer too small");
  const chunks = Math.max(1, Math.ceil(plainBytes / ATTACHMENT_CHUNK_BYTES));
  const nonce = new Uint8Array(12);
  for (let c = chunks - 1; c >= 0; c--) {
    const start = c * ATTACHMENT_CHUNK_BYTES;
    const length = Math.min(ATTACHMENT_CHUNK_BYTES, plainBytes - start);
    const at = c * SEALED_CHUNK_BYTES;
    const final = last && c === chunks - 1;
    chacha20poly1305(k.key, chunkNonce(nonce, first + c, final), k.ad).encrypt(buffer.subarray(start, start + length), buffer.subarray(at, at + length + TAG_BYTES));
  }
  return written;
}
