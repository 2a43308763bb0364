// The leaves of an attachment's digest (runtime: the engine's worker, the I/O worker, Node in tests): one
// SHA-256 per sealed chunk of the ciphertext. A module of its own, apart from the AEAD and the KDFs, so that
// the I/O worker, which only hashes ciphertext, loads this and @noble/hashes' SHA-256 and nothing else of
// lib/crypto (every chunk a worker loads is compiled in full as it starts: see scripts/compile-hints.mjs).
import { sha256 } from "@noble/hashes/sha2.js";
import type { Bytes } from "./bytes";
import { CryptoError } from "./errors";

export const ATTACHMENT_CHUNK_BYTES = 64 * 1024;
/** A chunk with its Poly1305 tag (primitives' TAG_BYTES, not imported: it would bring the AEAD along). */
export const SEALED_CHUNK_BYTES = ATTACHMENT_CHUNK_BYTES + 16;

/** SHA-256 of one leaf: WebCrypto's where there is one (it copies its input at once), else @noble/hashes. */
export function leafDigest(data: Bytes): Promise<Bytes> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return Promise.resolve(sha256(data));
  return subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>).then((d) => new Uint8Array(d));
}

/**
 * The digest's leaves of a ciphertext stream as AttachmentLeafHasher cuts it: one per sealed chunk, the
 * stream's first `skip` bytes (the prefix, when it starts at the ciphertext's first byte) passed over.
 * It lets the leaves be hashed on another thread than the AEAD's (an encryptor or decryptor made with
 * `leaves: "given"` takes them with addLeaves()). Every push starts its leaves' digests at once (WebCrypto
 * copies its input when called), so the caller may reuse or hand over `data` as soon as push() returns.
 */
export class AttachmentLeafHasher {
  /** A sealed chunk split across pushes, kept as a copy. */
  private readonly partial = new Uint8Array(SEALED_CHUNK_BYTES);
  private partialBytes = 0;
  private ended = false;

  constructor(private skip = 0) {
    if (!Number.isSafeInteger(skip) || skip < 0) throw new CryptoError("bad_state", "invalid skip");
  }

  /** The digests of the sealed chunks that `data` (the stream's next bytes) completes. */
  push(data: Bytes): Promise<Bytes[]> {
    if (this.ended) throw new CryptoError("bad_state", "hasher ended");
    const out: Promise<Bytes>[] = [];
    let rest = data.subarray(Math.min(this.skip, data.length));
    this.skip -= data.length - rest.length;
    while (rest.length > 0) {
      if (this.partialBytes === 0 && rest.length >= SEALED_CHUNK_BYTES) {
        out.push(leafDigest(rest.subarray(0, SEALED_CHUNK_BYTES)));
        rest = rest.subarray(SEALED_CHUNK_BYTES);
        continue;
      }
      const n = Math.min(SEALED_CHUNK_BYTES - this.partialBytes, rest.length);
      this.partial.set(rest.subarray(0, n), this.partialBytes);
      this.partialBytes += n;
      rest = rest.subarray(n);
      if (this.partialBytes === SEALED_CHUNK_BYTES) {
        out.push(leafDigest(this.partial));
        this.partialBytes = 0;
      }
    }
    return Promise.all(out);
  }

  /** The last, short sealed chunk's digest (none when the stream ended on a whole one). */
  end(): Promise<Bytes[]> {
    if (this.ended) throw new CryptoError("bad_state", "hasher ended");
    this.ended = true;
    const out = this.partialBytes > 0 ? [leafDigest(this.partial.subarray(0, this.partialBytes))] : [];
    this.partialBytes = 0;
    return Promise.all(out);
  }
}
