// Attachment encryption: a fresh 32-byte key per file, ChaCha20-Poly1305 (RFC 8439) over 64 KiB chunks in
// the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015: counter and last-chunk flag in the
// nonce), a digest of the whole ciphertext, and a key commitment. Poly1305 is not key-committing
// ("invisible salamanders", eprint 2019/016): without the commitment one ciphertext could be made to
// decrypt validly under two keys. The commitment, a second HKDF output of the key, is written into the
// ciphertext itself right after the header, so the ciphertext bytes name the one key that opens them.
//
// The digest (format 2) is a two-level SHA-256: SHA-256(info ‖ u32be(chunks) ‖ SHA-256(prefix) ‖
// SHA-256(sealed chunk 0) ‖ …), so each leaf is hashed by WebCrypto (native, off the calling thread) as
// its chunk goes by, instead of one SHA-256 in JavaScript as costly as the AEAD itself.
import { sha256 } from "@noble/hashes/sha2.js";
import { type Bytes, concat, equalBytes, randomBytes, utf8 } from "./bytes";
import { CryptoError } from "./errors";
import { type ChunkSealKey, chunkNonce, sealChunksInPlace, sealedChunksBytes } from "./chunks";
import { ATTACHMENT_CHUNK_BYTES, AttachmentLeafHasher, SEALED_CHUNK_BYTES, leafDigest } from "./leaves";
import { TAG_BYTES, chachaOpen, chachaSeal, hkdfSha256 } from "./primitives";

export { ATTACHMENT_CHUNK_BYTES, AttachmentLeafHasher, type ChunkSealKey, sealChunksInPlace };

export const ATTACHMENT_INFO = utf8("Junction_Attachment_v1");
export const ATTACHMENT_DIGEST_INFO = utf8("Junction_Attachment_Digest_v2");
const FORMAT = 0x02;
const HEADER_BYTES = 5;
/** Header ‖ commitment: what the ciphertext starts with (and every chunk's associated data). */
const PREFIX_BYTES = HEADER_BYTES + 32;
const MAX_CHUNKS = 0xffffffff;

export interface AttachmentKeys { encryptionKey: Bytes; commitment: Bytes }

/** The AEAD key and the public commitment of an attachment key. */
export function attachmentKeys(key: Bytes): AttachmentKeys {
  if (key.length !== 32) throw new CryptoError("bad_key", "invalid attachment key");
  const out = hkdfSha256(key, undefined, ATTACHMENT_INFO, 64);
  return { encryptionKey: out.slice(0, 32), commitment: out.slice(32, 64) };
}

function header(chunkBytes: number): Bytes {
  const h = new Uint8Array(HEADER_BYTES);
  h[0] = FORMAT;
  new DataView(h.buffer).setUint32(1, chunkBytes, false);
  return h;
}

/** The digest of a ciphertext, its leaves (the prefix, then each sealed chunk) added in order as they go by. */
class DigestTree {
  private readonly leaves: Promise<Bytes[]>[] = [];

  add(leaf: Bytes): void {
    this.addDigests(leafDigest(leaf).then((d) => [d]));
  }

  /** Leaf digests computed elsewhere (AttachmentLeafHasher), in their place in the order. */
  addDigests(digests: Promise<Bytes[]>): void {
    digests.catch(() => undefined);
    this.leaves.push(digests);
  }

  /** The root over `count` leaves (prefix + sealed chunks): fewer or more given is an error, not another digest. */
  async digest(count: number): Promise<Bytes> {
    const leaves = (await Promise.all(this.leaves)).flat();
    if (leaves.length !== count || leaves.some((l) => l.length !== 32)) throw new CryptoError("bad_digest", "digest leaves do not match the chunks");
    const chunks = new Uint8Array(4);
    new DataView(chunks.buffer).setUint32(0, leaves.length - 1, false);
    return sha256(concat(ATTACHMENT_DIGEST_INFO, chunks, ...leaves));
  }
}

/**
 * How an encryptor or decryptor gets its digest's leaves: it hashes each sealed chunk itself ("own"), or
 * it is given them ("given": the caller feeds the same ciphertext bytes, after the prefix, through an
 * AttachmentLeafHasher, on another thread if it likes, and hands each push's digests to addLeaves() in
 * order; the end's too). The prefix's leaf is always its own. finish() checks the leaves' count against
 * the chunks, so a leaf left out or added is an error.
 */
export type LeafSource = "own" | "given";

/** The digest of a whole ciphertext (a stream's is computed as it goes, by the encryptor and decryptor). */
export async function attachmentDigest(ciphertext: Bytes): Promise<Bytes> {
  const tree = new DigestTree();
  tree.add(ciphertext.subarray(0, PREFIX_BYTES));
  let off = PREFIX_BYTES;
  do {
    tree.add(ciphertext.subarray(off, off + SEALED_CHUNK_BYTES));
    off += SEALED_CHUNK_BYTES;
  } while (off < ciphertext.length);
  return tree.digest(Math.max(1, Math.ceil((ciphertext.length - PREFIX_BYTES) / SEALED_CHUNK_BYTES)) + 1);
}

/** Streaming encryptor: push plaintext in pieces of any size, then finish(). */
export class AttachmentEncryptor {
  readonly key: Bytes;
  readonly commitment: Bytes;
  private readonly encKey: Bytes;
  private readonly ad: Bytes;
  private readonly tree = new DigestTree();
  private readonly nonce = new Uint8Array(12);
  /**
   * The plaintext chunk being filled (the caller's buffers are not kept: they may be reused). Made by the
   * first push() that keeps bytes: an upload sealed in place never needs its 64 KiB.
   */
  private pending: Bytes | undefined;
  private pendingBytes = 0;
  private index = 0;
  private started = false;
  private lastSealed = false;
  private done = false;
  private readonly ownLeaves: boolean;

  constructor(key: Bytes = randomBytes(32), leaves: LeafSource = "own") {
    const k = attachmentKeys(key);
    this.ownLeaves = leaves === "own";
    this.key = key;
    this.commitment = k.commitment;
    this.encKey = k.encryptionKey;
    this.ad = concat(header(ATTACHMENT_CHUNK_BYTES), k.commitment);
  }

  private emit(out: Bytes[], plain: Bytes, last: boolean): void {
    out.push(this.seal(plain, last, new Uint8Array(plain.length + TAG_BYTES)));
  }

  /** Seals one chunk into `into` (exactly its sealed length) and adds it to the digest. */
  private seal(plain: Bytes, last: boolean, into: Bytes): Bytes {
    if (this.index >= MAX_CHUNKS) throw new CryptoError("bad_message", "attachment too large");
    if (last) this.lastSealed = true;
    const c = chachaSeal(this.encKey, chunkNonce(this.nonce, this.index++, last), plain, this.ad, into);
    if (this.ownLeaves) this.tree.add(c);
    return c;
  }

  /** With `leaves: "given"`: the digests of the next sealed chunks (an AttachmentLeafHasher's push or end). */
  addLeaves(digests: Promise<Bytes[]>): void {
    if (this.ownLeaves || this.done) throw new CryptoError("bad_state", "leaves not given here");
    this.tree.addDigests(digests);
  }

  private start(out: Bytes[]): void {
    if (this.started) return;
    this.started = true;
    const h = concat(header(ATTACHMENT_CHUNK_BYTES), this.commitment);
    this.tree.add(h);
    out.push(h);
  }

  /** The ciphertext's first bytes (header ‖ commitment): what sealInPlace()'s chunks follow. */
  prefix(): Bytes {
    if (this.started) throw new CryptoError("bad_state", "encryptor started");
    const out: Bytes[] = [];
    this.start(out);
    return out[0];
  }

  /**
   * Seals the first `plainBytes` of `buffer` as whole chunks (their end as the final chunk when `last`) where
   * they lie, without the allocations and copies of push(): the chunks back to back from its start (`buffer`
   * holds them sealed), so that one buffer serves as both (an upload reads the file straight into it). The
   * plaintext is whole chunks unless `last`; prefix() first, and not mixed with push(). The chunks are sealed
   * last first: a chunk's sealed bytes
   * start at or after its plaintext's start, so they overwrite only its own plaintext and the chunks after
   * it, already sealed and moved out of the way. Returns the bytes written; every plaintext byte is
   * overwritten by ciphertext.
   */
  sealInPlace(buffer: Bytes, plainBytes: number, last: boolean): number {
    // checked before anything is counted: the encryptor stays as it was
    if (Number.isSafeInteger(plainBytes) && plainBytes >= 0 && buffer.length < sealedChunksBytes(plainBytes)) throw new CryptoError("bad_state", "buffer too small");
    const { first, written } = this.claim(plainBytes, last);
    sealChunksInPlace({ key: this.encKey, ad: this.ad }, buffer, plainBytes, first, last);
    if (this.ownLeaves) for (let at = 0; at < written; at += SEALED_CHUNK_BYTES) this.tree.add(buffer.subarray(at, Math.min(written, at + SEALED_CHUNK_BYTES)));
    return written;
  }

  /**
   * What sealInPlace() does to the encryptor, without the sealing: the next chunks, `plainBytes` of
   * plaintext (whole chunks unless `last`), are counted as sealed, to be sealed elsewhere with
   * sealChunksInPlace(sealKey(), buffer, plainBytes, first, last) by whoever holds the key (another thread).
   * Only with `leaves: "given"`: the encryptor never sees those sealed bytes, their leaves come by addLeaves().
   */
  claimInPlace(plainBytes: number, last: boolean): { first: number; written: number } {
    if (this.ownLeaves) throw new CryptoError("bad_state", "leaves not given here");
    return this.claim(plainBytes, last);
  }

  private claim(plainBytes: number, last: boolean): { first: number; written: number } {
    if (this.done || this.lastSealed || !this.started || this.pendingBytes > 0) throw new CryptoError("bad_state", "cannot seal here");
    if (!Number.isSafeInteger(plainBytes) || plainBytes < 0 || (!last && (plainBytes === 0 || plainBytes % ATTACHMENT_CHUNK_BYTES !== 0))) {
      throw new CryptoError("bad_state", "not whole chunks");
    }
    const chunks = Math.max(1, Math.ceil(plainBytes / ATTACHMENT_CHUNK_BYTES));
    if (this.index + chunks > MAX_CHUNKS) throw new CryptoError("bad_message", "attachment too large");
    const first = this.index;
    this.index += chunks;
    if (last) this.lastSealed = true;
    return { first, written: sealedChunksBytes(plainBytes) };
  }

  /**
   * The file's AEAD key and associated data, for sealChunksInPlace() on another thread (with
   * claimInPlace()). It opens this file and no other; it is derived from `key`, which the recipient gets.
   */
  sealKey(): ChunkSealKey {
    if (this.ownLeaves) throw new CryptoError("bad_state", "leaves not given here");
    return { key: this.encKey, ad: this.ad };
  }

  /** Returns the ciphertext bytes ready so far (whole chunks only; the last one waits for finish). */
  push(data: Bytes): Bytes {
    if (this.done) throw new CryptoError("bad_state", "encryptor finished");
    const out: Bytes[] = [];
    this.start(out);
    let off = 0;
    while (off < data.length) {
      // A full chunk is sealed only once a byte after it is known, so that the final chunk is always
      // emitted by finish() with its flag.
      if (this.pending && this.pendingBytes === ATTACHMENT_CHUNK_BYTES) {
        this.emit(out, this.pending, false);
        this.pendingBytes = 0;
      }
      if (this.pendingBytes === 0 && data.length - off > ATTACHMENT_CHUNK_BYTES) {
        // whole chunks are sealed straight from the caller's bytes
        this.emit(out, data.subarray(off, off + ATTACHMENT_CHUNK_BYTES), false);
        off += ATTACHMENT_CHUNK_BYTES;
        continue;
      }
      const n = Math.min(ATTACHMENT_CHUNK_BYTES - this.pendingBytes, data.length - off);
      this.pending ??= new Uint8Array(ATTACHMENT_CHUNK_BYTES);
      this.pending.set(data.subarray(off, off + n), this.pendingBytes);
      this.pendingBytes += n;
      off += n;
    }
    return out.length === 1 ? out[0] : concat(...out);
  }

  /** Seals the last chunk; the digest once every leaf is hashed. */
  async finish(): Promise<{ tail: Bytes; digest: Bytes }> {
    if (this.done) throw new CryptoError("bad_state", "encryptor finished");
    const out: Bytes[] = [];
    this.start(out);
    // sealInPlace() sealed the final chunk already
    if (!this.lastSealed) this.emit(out, this.pending?.subarray(0, this.pendingBytes) ?? new Uint8Array(0), true);
    this.done = true;
    this.pendingBytes = 0;
    this.pending = undefined;
    return { tail: concat(...out), digest: await this.tree.digest(this.index + 1) };
  }
}

/** Streaming decryptor: releases each chunk only once it authenticates; finish() checks end and digest. */
export class AttachmentDecryptor {
  private readonly encKey: Bytes;
  private readonly ad: Bytes;
  private readonly prefix: Bytes;
  private readonly digest: Bytes;
  private readonly tree = new DigestTree();
  private readonly nonce = new Uint8Array(12);
  /** Ciphertext bytes not yet opened: the prefix until it is whole, then at most one sealed chunk. */
  private readonly held = new Uint8Array(SEALED_CHUNK_BYTES);
  private heldBytes = 0;
  private index = 0;
  private headerSeen = false;
  private ended = false;
  private readonly ownLeaves: boolean;

  constructor(p: { key: Bytes; digest: Bytes; commitment: Bytes; leaves?: LeafSource }) {
    const k = attachmentKeys(p.key);
    this.ownLeaves = (p.leaves ?? "own") === "own";
    if (!equalBytes(k.commitment, p.commitment)) throw new CryptoError("bad_key", "key does not match commitment");
    if (p.digest.length !== 32) throw new CryptoError("bad_digest", "invalid digest");
    this.encKey = k.encryptionKey;
    this.ad = concat(header(ATTACHMENT_CHUNK_BYTES), k.commitment);
    this.prefix = this.ad;
    this.digest = p.digest;
  }

  /**
   * Resumes an interrupted download: `plain` is the plaintext of the next whole chunks (a multiple of the
   * chunk size, none of them the last), opened and kept before the interruption. They are sealed again
   * (the encryption is deterministic for a key) to bring the digest to where the ciphertext was cut, so
   * finish() still checks the digest of the whole ciphertext. Only before any push().
   */
  replay(plain: Bytes): void {
    if (this.ended || this.heldBytes > 0 || plain.length % ATTACHMENT_CHUNK_BYTES !== 0) throw new CryptoError("bad_state", "cannot replay here");
    if (!this.headerSeen) {
      this.tree.add(this.prefix);
      this.headerSeen = true;
    }
    const sealed = new Uint8Array(SEALED_CHUNK_BYTES);
    for (let off = 0; off < plain.length; off += ATTACHMENT_CHUNK_BYTES) {
      this.tree.add(chachaSeal(this.encKey, chunkNonce(this.nonce, this.index++, false), plain.subarray(off, off + ATTACHMENT_CHUNK_BYTES), this.ad, sealed));
    }
  }

  push(data: Bytes): Bytes {
    const out: Bytes[] = [];
    this.pushInto(data, (length) => {
      out.push(new Uint8Array(length));
      return out[out.length - 1];
    });
    return out.length === 1 ? out[0] : concat(...out);
  }

  /**
   * push() without its allocations and copies: each chunk that authenticates is opened into
   * `into(length)`, a view of exactly that many bytes the caller provides (a piece of its own buffer).
   */
  pushInto(data: Bytes, into: (length: number) => Bytes): void {
    if (this.ended && data.length > 0) throw new CryptoError("bad_message", "data after the last chunk");
    let rest = this.headerSeen ? data : this.takePrefix(data);
    while (rest.length > 0) {
      // a full-size chunk followed by more bytes cannot be the last one; anything else waits for finish()
      if (this.heldBytes === SEALED_CHUNK_BYTES) {
        this.open(this.held, into);
        this.heldBytes = 0;
      }
      if (this.heldBytes === 0 && rest.length > SEALED_CHUNK_BYTES) {
        // whole chunks are opened straight from the caller's bytes
        this.open(rest.subarray(0, SEALED_CHUNK_BYTES), into);
        rest = rest.subarray(SEALED_CHUNK_BYTES);
        continue;
      }
      // kept as a copy: the caller may reuse its buffer
      const n = Math.min(SEALED_CHUNK_BYTES - this.heldBytes, rest.length);
      this.held.set(rest.subarray(0, n), this.heldBytes);
      this.heldBytes += n;
      rest = rest.subarray(n);
    }
  }

  /** Collects and checks the prefix (header ‖ commitment); the bytes after it. */
  private takePrefix(data: Bytes): Bytes {
    const n = Math.min(PREFIX_BYTES - this.heldBytes, data.length);
    this.held.set(data.subarray(0, n), this.heldBytes);
    this.heldBytes += n;
    if (this.heldBytes < PREFIX_BYTES) return data.subarray(n);
    const prefix = this.held.subarray(0, PREFIX_BYTES);
    if (!equalBytes(prefix.subarray(0, HEADER_BYTES), header(ATTACHMENT_CHUNK_BYTES))) {
      throw new CryptoError("bad_message", "unknown attachment format");
    }
    if (!equalBytes(prefix.subarray(HEADER_BYTES), this.prefix.subarray(HEADER_BYTES))) {
      throw new CryptoError("bad_key", "ciphertext committed to another key");
    }
    this.tree.add(prefix);
    this.headerSeen = true;
    this.heldBytes = 0;
    return data.subarray(n);
  }

  private open(sealed: Bytes, into: (length: number) => Bytes): void {
    chachaOpen(this.encKey, chunkNonce(this.nonce, this.index++, false), sealed, this.ad, into(sealed.length - TAG_BYTES));
    if (this.ownLeaves) this.tree.add(sealed);
  }

  /**
   * With `leaves: "given"`: the digests of the next sealed chunks (an AttachmentLeafHasher's push or end,
   * over the bytes given to push(), after replay()'s).
   */
  addLeaves(digests: Promise<Bytes[]>): void {
    if (this.ownLeaves || this.ended) throw new CryptoError("bad_state", "leaves not given here");
    this.tree.addDigests(digests);
  }

  /** Opens the last chunk, then checks the digest of the whole ciphertext; its plaintext only if both hold. */
  async finish(): Promise<Bytes> {
    if (this.ended) throw new CryptoError("bad_state", "decryptor finished");
    if (!this.headerSeen) throw new CryptoError("bad_message", "truncated attachment");
    const sealed = this.held.subarray(0, this.heldBytes);
    const last = chachaOpen(this.encKey, chunkNonce(this.nonce, this.index++, true), sealed, this.ad);
    if (this.ownLeaves) this.tree.add(sealed);
    this.ended = true;
    if (!equalBytes(await this.tree.digest(this.index + 1), this.digest)) throw new CryptoError("bad_digest", "digest mismatch");
    return last;
  }
}

export async function encryptAttachment(data: Bytes): Promise<{ ciphertext: Bytes; key: Bytes; digest: Bytes; commitment: Bytes }> {
  const enc = new AttachmentEncryptor();
  const body = enc.push(data);
  const { tail, digest } = await enc.finish();
  return { ciphertext: concat(body, tail), key: enc.key, digest, commitment: enc.commitment };
}

/** Checks the digest before decrypting anything, then every chunk. */
export async function decryptAttachment(p: { ciphertext: Bytes; key: Bytes; digest: Bytes; commitment: Bytes }): Promise<Bytes> {
  if (!equalBytes(await attachmentDigest(p.ciphertext), p.digest)) throw new CryptoError("bad_digest", "digest mismatch");
  const dec = new AttachmentDecryptor(p);
  const body = dec.push(p.ciphertext);
  return concat(body, await dec.finish());
}
