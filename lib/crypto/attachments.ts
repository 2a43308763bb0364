// Attachment encryption: a fresh 32-byte key per file, ChaCha20-Poly1305 (RFC 8439) over 64 KiB chunks in
// the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015: counter and last-chunk flag in the
// nonce), a SHA-256 digest of the whole ciphertext, and a key commitment. Poly1305 is not key-committing
// ("invisible salamanders", eprint 2019/016): without the commitment one ciphertext could be made to
// decrypt validly under two keys. The commitment, a second HKDF output of the key, is written into the
// ciphertext itself right after the header, so the ciphertext bytes name the one key that opens them.
import { sha256 } from "@noble/hashes/sha2.js";
import { type Bytes, concat, equalBytes, randomBytes, utf8 } from "./bytes";
import { CryptoError } from "./errors";
import { TAG_BYTES, chachaOpen, chachaSeal, hkdfSha256 } from "./primitives";

export const ATTACHMENT_INFO = utf8("Junction_Attachment_v1");
export const ATTACHMENT_CHUNK_BYTES = 64 * 1024;
const FORMAT = 0x01;
const HEADER_BYTES = 5;
const MAX_CHUNKS = 0xffffffff;

export interface AttachmentKeys { encryptionKey: Bytes; commitment: Bytes }

/** The AEAD key and the public commitment of an attachment key. */
export function attachmentKeys(key: Bytes): AttachmentKeys {
  if (key.length !== 32) throw new CryptoError("bad_key", "invalid attachment key");
  const out = hkdfSha256(key, undefined, ATTACHMENT_INFO, 64);
  return { encryptionKey: out.slice(0, 32), commitment: out.slice(32, 64) };
}

function chunkNonce(index: number, last: boolean): Bytes {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setUint32(7, index, false);
  n[11] = last ? 1 : 0;
  return n;
}

function header(chunkBytes: number): Bytes {
  const h = new Uint8Array(HEADER_BYTES);
  h[0] = FORMAT;
  new DataView(h.buffer).setUint32(1, chunkBytes, false);
  return h;
}

/** Streaming encryptor: push plaintext in pieces of any size, then finish(). */
export class AttachmentEncryptor {
  readonly key: Bytes;
  readonly commitment: Bytes;
  private readonly encKey: Bytes;
  private readonly ad: Bytes;
  private readonly hash = sha256.create();
  private pending: Bytes[] = [];
  private pendingBytes = 0;
  private index = 0;
  private started = false;
  private done = false;

  constructor(key: Bytes = randomBytes(32)) {
    const k = attachmentKeys(key);
    this.key = key;
    this.commitment = k.commitment;
    this.encKey = k.encryptionKey;
    this.ad = concat(header(ATTACHMENT_CHUNK_BYTES), k.commitment);
  }

  private emit(out: Bytes[], plain: Bytes, last: boolean): void {
    if (this.index >= MAX_CHUNKS) throw new CryptoError("bad_message", "attachment too large");
    const c = chachaSeal(this.encKey, chunkNonce(this.index++, last), plain, this.ad);
    this.hash.update(c);
    out.push(c);
  }

  private start(out: Bytes[]): void {
    if (this.started) return;
    this.started = true;
    const h = concat(header(ATTACHMENT_CHUNK_BYTES), this.commitment);
    this.hash.update(h);
    out.push(h);
  }

  /** Returns the ciphertext bytes ready so far (whole chunks only; the last one waits for finish). */
  push(data: Bytes): Bytes {
    if (this.done) throw new CryptoError("bad_state", "encryptor finished");
    const out: Bytes[] = [];
    this.start(out);
    // Copied, because callers reuse their read buffers while we hold the unencrypted tail.
    this.pending.push(data.slice());
    this.pendingBytes += data.length;
    // Keep at least one byte back so that the final chunk is always emitted by finish() with its flag.
    if (this.pendingBytes > ATTACHMENT_CHUNK_BYTES) {
      const all = this.pending.length === 1 ? this.pending[0] : concat(...this.pending);
      let off = 0;
      while (all.length - off > ATTACHMENT_CHUNK_BYTES) {
        this.emit(out, all.subarray(off, off + ATTACHMENT_CHUNK_BYTES), false);
        off += ATTACHMENT_CHUNK_BYTES;
      }
      const rest = all.slice(off);
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
    return concat(...out);
  }

  finish(): { tail: Bytes; digest: Bytes } {
    if (this.done) throw new CryptoError("bad_state", "encryptor finished");
    const out: Bytes[] = [];
    this.start(out);
    this.emit(out, concat(...this.pending), true);
    this.done = true;
    this.pending = [];
    return { tail: concat(...out), digest: this.hash.digest() };
  }
}

/** Streaming decryptor: releases each chunk only once it authenticates; finish() checks end and digest. */
export class AttachmentDecryptor {
  private readonly encKey: Bytes;
  private readonly ad: Bytes;
  private readonly prefix: Bytes;
  private readonly digest: Bytes;
  private readonly hash = sha256.create();
  private buf: Bytes = new Uint8Array(0);
  private index = 0;
  private headerSeen = false;
  private ended = false;

  constructor(p: { key: Bytes; digest: Bytes; commitment: Bytes }) {
    const k = attachmentKeys(p.key);
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
    if (this.ended || this.buf.length > 0 || plain.length % ATTACHMENT_CHUNK_BYTES !== 0) throw new CryptoError("bad_state", "cannot replay here");
    if (!this.headerSeen) {
      this.hash.update(this.prefix);
      this.headerSeen = true;
    }
    for (let off = 0; off < plain.length; off += ATTACHMENT_CHUNK_BYTES) {
      this.hash.update(chachaSeal(this.encKey, chunkNonce(this.index++, false), plain.subarray(off, off + ATTACHMENT_CHUNK_BYTES), this.ad));
    }
  }

  push(data: Bytes): Bytes {
    if (this.ended && data.length > 0) throw new CryptoError("bad_message", "data after the last chunk");
    this.hash.update(data);
    this.buf = concat(this.buf, data);
    const out: Bytes[] = [];
    if (!this.headerSeen) {
      if (this.buf.length < this.prefix.length) return new Uint8Array(0);
      if (!equalBytes(this.buf.subarray(0, HEADER_BYTES), header(ATTACHMENT_CHUNK_BYTES))) {
        throw new CryptoError("bad_message", "unknown attachment format");
      }
      if (!equalBytes(this.buf.subarray(HEADER_BYTES, this.prefix.length), this.prefix.subarray(HEADER_BYTES))) {
        throw new CryptoError("bad_key", "ciphertext committed to another key");
      }
      this.headerSeen = true;
      this.buf = this.buf.subarray(this.prefix.length);
    }
    const full = ATTACHMENT_CHUNK_BYTES + TAG_BYTES;
    // A full-size chunk followed by more bytes cannot be the last one; anything else waits for finish().
    while (this.buf.length > full) {
      out.push(chachaOpen(this.encKey, chunkNonce(this.index++, false), this.buf.subarray(0, full), this.ad));
      this.buf = this.buf.subarray(full);
    }
    return concat(...out);
  }

  finish(): Bytes {
    if (this.ended) throw new CryptoError("bad_state", "decryptor finished");
    if (!this.headerSeen) throw new CryptoError("bad_message", "truncated attachment");
    const last = chachaOpen(this.encKey, chunkNonce(this.index++, true), this.buf, this.ad);
    this.ended = true;
    if (!equalBytes(this.hash.digest(), this.digest)) throw new CryptoError("bad_digest", "digest mismatch");
    return last;
  }
}

export async function encryptAttachment(data: Bytes): Promise<{ ciphertext: Bytes; key: Bytes; digest: Bytes; commitment: Bytes }> {
  const enc = new AttachmentEncryptor();
  const body = enc.push(data);
  const { tail, digest } = enc.finish();
  return { ciphertext: concat(body, tail), key: enc.key, digest, commitment: enc.commitment };
}

/** Checks the digest before decrypting anything, then every chunk. */
export async function decryptAttachment(p: { ciphertext: Bytes; key: Bytes; digest: Bytes; commitment: Bytes }): Promise<Bytes> {
  if (!equalBytes(sha256(p.ciphertext), p.digest)) throw new CryptoError("bad_digest", "digest mismatch");
  const dec = new AttachmentDecryptor(p);
  const body = dec.push(p.ciphertext);
  return concat(body, dec.finish());
}
