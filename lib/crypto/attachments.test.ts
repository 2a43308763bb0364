import { describe, expect, it, vi } from "vitest";
import { concat, randomBytes, utf8 } from "./bytes";
import { chacha20, chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ATTACHMENT_CHUNK_BYTES, AttachmentDecryptor, AttachmentEncryptor, AttachmentLeafHasher, attachmentDigest, attachmentKeys, decryptAttachment, encryptAttachment, sealChunksInPlace } from "./attachments";

// Poly1305 arithmetic (RFC 8439 §2.5) to forge a ChaCha20-Poly1305 ciphertext valid under two keys, the
// "invisible salamanders" construction (Len, Grubbs, Ristenpart 2021; Dodis et al. 2018).
const P = (1n << 130n) - 5n;
const M128 = (1n << 128n) - 1n;
const le = (b: Uint8Array) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
const toLe = (v: bigint, n: number) => Uint8Array.from({ length: n }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
const mod = (v: bigint) => ((v % P) + P) % P;
function inverse(a: bigint): bigint {
  let [r, e, base] = [1n, P - 2n, mod(a)];
  while (e > 0n) {
    if (e & 1n) r = (r * base) % P;
    base = (base * base) % P;
    e >>= 1n;
  }
  return r;
}
function polyKey(key: Uint8Array, nonce: Uint8Array) {
  const otk = chacha20(key, nonce, new Uint8Array(32));
  return { r: le(otk.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn, s: le(otk.subarray(16, 32)) };
}
/** The Poly1305 accumulator over 16-byte blocks (each + 2^128), before adding s. */
function accumulate(blocks: bigint[], r: bigint): bigint {
  let acc = 0n;
  for (const b of blocks) acc = ((acc + b + (1n << 128n)) * r) % P;
  return acc;
}
function pad16(b: Uint8Array): bigint[] {
  const padded = new Uint8Array(Math.ceil(b.length / 16) * 16);
  padded.set(b);
  return Array.from({ length: padded.length / 16 }, (_, i) => le(padded.subarray(16 * i, 16 * i + 16)));
}

/** A 32-byte ciphertext + tag that ChaCha20-Poly1305 accepts under (k1, ad1) and under (k2, ad2). */
function forgeTwoKeys(k1: Uint8Array, ad1: Uint8Array, k2: Uint8Array, ad2: Uint8Array, nonce: Uint8Array): Uint8Array {
  const [p1, p2] = [polyKey(k1, nonce), polyKey(k2, nonce)];
  const lengths = (ad: Uint8Array) => le(concat(toLe(BigInt(ad.length), 8), toLe(32n, 8)));
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const c1 = le(randomBytes(16));
    // acc_i = base_i + (c2 + 2^128)·r_i^2 (mod p), the second ciphertext block being the unknown c2.
    const base = (ad: Uint8Array, r: bigint) => mod(accumulate([...pad16(ad), c1], r) * r * r + (lengths(ad) + (1n << 128n)) * r);
    const [b1, b2] = [base(ad1, p1.r), base(ad2, p2.r)];
    const target = (p2.s - p1.s) & M128;
    for (const d of [target, target - (1n << 128n), target + (1n << 128n), target - (2n << 128n)]) {
      const x = mod((d - b1 + b2) * inverse(p1.r * p1.r - p2.r * p2.r));
      const c2 = x - (1n << 128n);
      if (c2 < 0n || c2 > M128) continue;
      const a1 = mod(b1 + x * p1.r * p1.r);
      const a2 = mod(b2 + x * p2.r * p2.r);
      const t1 = (a1 + p1.s) & M128;
      if (t1 !== ((a2 + p2.s) & M128)) continue;
      return concat(toLe(c1, 16), toLe(c2, 16), toLe(t1, 16));
    }
  }
  throw new Error("no forgery found");
}

/** `data` sealed two chunks at a time by `seal` (through sealInPlace), after the prefix; the digest and commitment. */
async function sealPieces(key: Uint8Array, data: Uint8Array, seal: (e: AttachmentEncryptor, plain: Uint8Array, last: boolean) => Uint8Array) {
  const e = new AttachmentEncryptor(key);
  const parts = [e.prefix()];
  const piece = 2 * ATTACHMENT_CHUNK_BYTES;
  for (let o = 0; o < data.length; o += piece) parts.push(seal(e, data.subarray(o, o + piece), o + piece >= data.length).slice());
  // sealed in place, the encryptor never made push()'s 64 KiB chunk buffer (an upload's memory)
  expect(Reflect.get(e, "pending")).toBeUndefined();
  const { tail, digest } = await e.finish();
  expect(tail.length).toBe(0);
  return { sealed: concat(...parts), digest, commitment: e.commitment };
}

describe("attachments", () => {
  for (const size of [0, 1, ATTACHMENT_CHUNK_BYTES - 1, ATTACHMENT_CHUNK_BYTES, ATTACHMENT_CHUNK_BYTES + 1, 3 * ATTACHMENT_CHUNK_BYTES + 17]) {
    it(`round-trips ${size} bytes`, async () => {
      const data = randomBytes(size);
      const enc = await encryptAttachment(data);
      expect(await decryptAttachment(enc)).toEqual(data);
    });
  }

  it("streams in uneven pieces both ways", async () => {
    const data = randomBytes(5 * ATTACHMENT_CHUNK_BYTES + 1234);
    const e = new AttachmentEncryptor();
    const parts: Uint8Array[] = [];
    for (let o = 0; o < data.length; o += 40_000) parts.push(e.push(data.subarray(o, o + 40_000)));
    const { tail, digest } = await e.finish();
    parts.push(tail);
    const d = new AttachmentDecryptor({ key: e.key, digest, commitment: e.commitment });
    const out: Uint8Array[] = [];
    for (const p of parts) for (let o = 0; o < p.length; o += 7_777) out.push(d.push(p.subarray(o, o + 7_777)));
    out.push(await d.finish());
    expect(Buffer.concat(out)).toEqual(Buffer.from(data));
  });

  it("sealInPlace seals the plaintext where it lies into the very bytes push writes, with the same digest", async () => {
    const key = randomBytes(32);
    for (const size of [5 * ATTACHMENT_CHUNK_BYTES + 1234, 4 * ATTACHMENT_CHUNK_BYTES, 100]) {
      const data = randomBytes(size);
      const whole = new AttachmentEncryptor(key);
      const reference = concat(whole.push(data), (await whole.finish()).tail);
      const buffer = new Uint8Array(2 * (ATTACHMENT_CHUNK_BYTES + 16));
      const { sealed, digest } = await sealPieces(key, data, (e, plain, last) => {
        buffer.set(plain);
        return buffer.subarray(0, e.sealInPlace(buffer, plain.length, last));
      });
      expect(Buffer.compare(sealed, reference)).toBe(0);
      expect(Buffer.from(digest)).toEqual(Buffer.from(await attachmentDigest(reference)));
    }
    // not on chunks that are not whole, not past the buffer, and not before the prefix
    const e = new AttachmentEncryptor(key);
    const buffer = new Uint8Array(ATTACHMENT_CHUNK_BYTES + 16);
    expect(() => e.sealInPlace(buffer, ATTACHMENT_CHUNK_BYTES, false)).toThrow(expect.objectContaining({ code: "bad_state" }));
    e.prefix();
    expect(() => e.sealInPlace(buffer, 100, false)).toThrow(expect.objectContaining({ code: "bad_state" }));
    expect(() => e.sealInPlace(buffer, ATTACHMENT_CHUNK_BYTES + 1, true)).toThrow(expect.objectContaining({ code: "bad_state" }));
  });

  it("claimInPlace hands chunks to be sealed elsewhere (sealChunksInPlace with sealKey): the very bytes push writes, the same digest", async () => {
    const key = randomBytes(32);
    for (const size of [7 * ATTACHMENT_CHUNK_BYTES + 99, 6 * ATTACHMENT_CHUNK_BYTES, 100, 0]) {
      const data = randomBytes(size);
      const whole = new AttachmentEncryptor(key);
      const reference = concat(whole.push(data), (await whole.finish()).tail);
      const e = new AttachmentEncryptor(key, "given");
      const prefix = e.prefix();
      // the key travels as another thread gets it: a copy
      const elsewhere = { key: e.sealKey().key.slice(), ad: e.sealKey().ad.slice() };
      const parts: Uint8Array[] = [prefix];
      const piece = 2 * ATTACHMENT_CHUNK_BYTES;
      let o = 0;
      for (let n = 0; n === 0 || o < data.length; n++) {
        const plain = data.subarray(o, o + piece);
        const last = o + piece >= data.length;
        const buffer = new Uint8Array(piece + 32);
        buffer.set(plain);
        // every other piece sealed by the encryptor itself, the others elsewhere, out of order
        const written = n % 2 === 0 ? e.sealInPlace(buffer, plain.length, last) : (() => {
          const { first, written } = e.claimInPlace(plain.length, last);
          expect(sealChunksInPlace(elsewhere, buffer, plain.length, first, last)).toBe(written);
          return written;
        })();
        parts.push(buffer.slice(0, written));
        o += piece;
      }
      const sealed = concat(...parts);
      expect(Buffer.compare(sealed, reference)).toBe(0);
      const hasher = new AttachmentLeafHasher(prefix.length);
      e.addLeaves(hasher.push(sealed));
      e.addLeaves(hasher.end());
      const { digest } = await e.finish();
      expect(Buffer.from(digest)).toEqual(Buffer.from(await attachmentDigest(reference)));
      expect(await decryptAttachment({ ciphertext: sealed, key, digest, commitment: e.commitment })).toEqual(data);
    }
    // the key and the claims only where the leaves are given (the encryptor would hash what it never saw)
    const own = new AttachmentEncryptor(key);
    own.prefix();
    expect(() => own.sealKey()).toThrow(expect.objectContaining({ code: "bad_state" }));
    expect(() => own.claimInPlace(ATTACHMENT_CHUNK_BYTES, false)).toThrow(expect.objectContaining({ code: "bad_state" }));
    // a chunk sealed under another index, or as the last one when it is not, is not the chunk asked for
    const e = new AttachmentEncryptor(key, "given");
    e.prefix();
    const plain = randomBytes(ATTACHMENT_CHUNK_BYTES);
    const at = (first: number, last: boolean) => {
      const b = new Uint8Array(ATTACHMENT_CHUNK_BYTES + 16);
      b.set(plain);
      sealChunksInPlace(e.sealKey(), b, plain.length, first, last);
      return Buffer.from(b);
    };
    expect(at(0, false)).not.toEqual(at(1, false));
    expect(at(0, false)).not.toEqual(at(0, true));
    // and nothing is sealed with a key of the wrong size, at a negative index, or into too small a buffer
    const b = new Uint8Array(ATTACHMENT_CHUNK_BYTES + 16);
    expect(() => sealChunksInPlace({ key: key.subarray(0, 16), ad: e.sealKey().ad }, b, 100, 0, true)).toThrow(expect.objectContaining({ code: "bad_key" }));
    expect(() => sealChunksInPlace(e.sealKey(), b, 100, -1, true)).toThrow(expect.objectContaining({ code: "bad_state" }));
    expect(() => sealChunksInPlace(e.sealKey(), b, ATTACHMENT_CHUNK_BYTES + 1, 0, true)).toThrow(expect.objectContaining({ code: "bad_state" }));
    expect(() => sealChunksInPlace(e.sealKey(), b, 100, 0, false)).toThrow(expect.objectContaining({ code: "bad_state" }));
  });

  it("sealInPlace and pushInto write, into the caller's buffers, the very bytes push writes, with the same digest", async () => {
    const data = randomBytes(5 * ATTACHMENT_CHUNK_BYTES + 1234);
    const key = randomBytes(32);
    const whole = new AttachmentEncryptor(key);
    const reference = concat(whole.push(data), (await whole.finish()).tail);
    const into = new Uint8Array(3 * (ATTACHMENT_CHUNK_BYTES + 16));
    const { sealed, digest, commitment } = await sealPieces(key, data, (e, plain, last) => {
      into.set(plain);
      return into.subarray(0, e.sealInPlace(into, plain.length, last));
    });
    expect(Buffer.compare(sealed, reference)).toBe(0);
    // not before the prefix, not on chunks that are not whole, and not twice past the last one
    const other = new AttachmentEncryptor(key);
    expect(() => other.sealInPlace(into, ATTACHMENT_CHUNK_BYTES, true)).toThrow(expect.objectContaining({ code: "bad_state" }));
    other.prefix();
    expect(() => other.sealInPlace(into, ATTACHMENT_CHUNK_BYTES + 1, false)).toThrow(expect.objectContaining({ code: "bad_state" }));
    other.sealInPlace(into, 100, true);
    expect(() => other.sealInPlace(into, 100, true)).toThrow(expect.objectContaining({ code: "bad_state" }));
    const d = new AttachmentDecryptor({ key, digest, commitment });
    const out = new Uint8Array(data.length + ATTACHMENT_CHUNK_BYTES);
    let at = 0;
    for (let o = 0; o < reference.length; o += 9_999) {
      d.pushInto(reference.subarray(o, o + 9_999), (n) => out.subarray(at, (at += n)));
    }
    const last = await d.finish();
    expect(Buffer.compare(concat(out.subarray(0, at), last), data)).toBe(0);
  });

  it("digests SHA-256 over the SHA-256 of the prefix and of each sealed chunk: streamed or whole, with WebCrypto or without", async () => {
    const data = randomBytes(3 * ATTACHMENT_CHUNK_BYTES + 5);
    const enc = await encryptAttachment(data);
    const c = enc.ciphertext;
    const sealed = ATTACHMENT_CHUNK_BYTES + 16;
    const leaves = [c.subarray(0, 37), ...[0, 1, 2].map((i) => c.subarray(37 + i * sealed, 37 + (i + 1) * sealed)), c.subarray(37 + 3 * sealed)].map((x) => sha256(x));
    expect(enc.digest).toEqual(sha256(concat(utf8("Junction_Attachment_Digest_v2"), Uint8Array.of(0, 0, 0, 4), ...leaves)));
    expect(await attachmentDigest(c)).toEqual(enc.digest);
    // a chunk boundary moved (the same bytes cut elsewhere) is another digest
    expect(sha256(concat(utf8("Junction_Attachment_Digest_v2"), Uint8Array.of(0, 0, 0, 1), sha256(c.subarray(0, 37)), sha256(c.subarray(37))))).not.toEqual(enc.digest);
    // without WebCrypto (an insecure context), @noble/hashes gives the same digest
    const noSubtle = vi.spyOn(globalThis.crypto, "subtle", "get").mockReturnValue(undefined as unknown as SubtleCrypto);
    try {
      expect(globalThis.crypto.subtle).toBeUndefined();
      expect(await attachmentDigest(c)).toEqual(enc.digest);
      const d = new AttachmentDecryptor(enc);
      expect(concat(d.push(c), await d.finish())).toEqual(data);
    } finally {
      noSubtle.mockRestore();
    }
  });

  it("takes its leaves from a hasher fed the same bytes in other pieces: the same ciphertext and digest; a leaf missing, added or wrong is refused", async () => {
    const data = randomBytes(5 * ATTACHMENT_CHUNK_BYTES + 1234);
    const key = randomBytes(32);
    const own = new AttachmentEncryptor(key);
    const ownBody = own.push(data);
    const ownDone = await own.finish();
    const reference = concat(ownBody, ownDone.tail);
    // sealed two chunks at a time, hashed by a hasher fed in pieces of 3 chunks' worth
    const e = new AttachmentEncryptor(key, "given");
    const hasher = new AttachmentLeafHasher();
    const parts = [e.prefix()];
    const sealed = new Uint8Array(2 * (ATTACHMENT_CHUNK_BYTES + 16));
    const piece = 2 * ATTACHMENT_CHUNK_BYTES;
    for (let o = 0; o < data.length; o += piece) {
      const plain = data.subarray(o, o + piece);
      sealed.set(plain);
      const n = e.sealInPlace(sealed, plain.length, o + piece >= data.length);
      for (let h = 0; h < n; h += 50_000) e.addLeaves(hasher.push(sealed.subarray(h, Math.min(n, h + 50_000))));
      parts.push(sealed.slice(0, n));
    }
    e.addLeaves(hasher.end());
    const { digest } = await e.finish();
    expect(digest).toEqual(ownDone.digest);
    const c = concat(...parts);
    expect(Buffer.compare(c, reference)).toBe(0);
    // a decryptor given its leaves by a hasher that passes the prefix over, fed in the decryptor's pieces
    const open = async (feed: (d: AttachmentDecryptor, h: AttachmentLeafHasher) => void) => {
      const d = new AttachmentDecryptor({ key, digest, commitment: e.commitment, leaves: "given" });
      const h = new AttachmentLeafHasher(37);
      feed(d, h);
      return d.finish();
    };
    const out: Uint8Array[] = [];
    const last = await open((d, h) => {
      for (let o = 0; o < c.length; o += 9_999) {
        const bytes = c.subarray(o, o + 9_999);
        out.push(d.push(bytes));
        d.addLeaves(h.push(bytes));
      }
      d.addLeaves(h.end());
    });
    expect(Buffer.compare(concat(...out, last), data)).toBe(0);
    // the end's leaf left out, or one leaf too many, or leaves of other bytes: the digest is refused
    await expect(open((d, h) => (d.push(c), d.addLeaves(h.push(c))))).rejects.toMatchObject({ code: "bad_digest" });
    await expect(open((d, h) => (d.push(c), d.addLeaves(h.push(c)), d.addLeaves(h.end()), d.addLeaves(Promise.resolve([randomBytes(32)]))))).rejects.toMatchObject({ code: "bad_digest" });
    const other = c.slice();
    other[40_000] ^= 1;
    await expect(open((d, h) => (d.push(c), d.addLeaves(h.push(other)), d.addLeaves(h.end())))).rejects.toMatchObject({ code: "bad_digest" });
    // leaves are given only in that mode, and an encryptor given none fails rather than digest less
    expect(() => new AttachmentEncryptor(key).addLeaves(Promise.resolve([]))).toThrow(expect.objectContaining({ code: "bad_state" }));
    const none = new AttachmentEncryptor(key, "given");
    none.push(data);
    await expect(none.finish()).rejects.toMatchObject({ code: "bad_digest" });
  });

  it("refuses a format-1 ciphertext as an unknown format", async () => {
    const enc = await encryptAttachment(randomBytes(1000));
    const v1 = enc.ciphertext.slice();
    v1[0] = 0x01;
    expect(() => new AttachmentDecryptor(enc).push(v1)).toThrow(expect.objectContaining({ code: "bad_message" }));
  });

  it("resumes from kept plaintext: replayed chunks bring the digest to the cut, and a wrong one is caught at the end", async () => {
    const data = randomBytes(4 * ATTACHMENT_CHUNK_BYTES + 99);
    const enc = await encryptAttachment(data);
    const kept = data.subarray(0, 2 * ATTACHMENT_CHUNK_BYTES);
    const cut = 37 + 2 * (ATTACHMENT_CHUNK_BYTES + 16);
    const d = new AttachmentDecryptor({ ...enc });
    d.replay(kept);
    const rest = concat(d.push(enc.ciphertext.subarray(cut)), await d.finish());
    expect(Buffer.from(rest)).toEqual(Buffer.from(data.subarray(kept.length)));
    // a kept chunk that is not what the ciphertext held: the digest no longer matches
    const wrong = kept.slice();
    wrong[5] ^= 1;
    const d2 = new AttachmentDecryptor({ ...enc });
    d2.replay(wrong);
    d2.push(enc.ciphertext.subarray(cut));
    await expect(d2.finish()).rejects.toMatchObject({ code: "bad_digest" });
    // only whole chunks, and only before anything was pushed
    expect(() => new AttachmentDecryptor({ ...enc }).replay(kept.subarray(1))).toThrow(expect.objectContaining({ code: "bad_state" }));
  });

  it("rejects a flipped byte, a truncation and a wrong digest", async () => {
    const enc = await encryptAttachment(randomBytes(2 * ATTACHMENT_CHUNK_BYTES + 5));
    const flipped = enc.ciphertext.slice();
    flipped[100] ^= 1;
    await expect(decryptAttachment({ ...enc, ciphertext: flipped })).rejects.toMatchObject({ code: "bad_digest" });
    const truncated = enc.ciphertext.subarray(0, 37 + ATTACHMENT_CHUNK_BYTES + 16);
    const d = new AttachmentDecryptor({ ...enc });
    d.push(truncated);
    // Dropping the last chunk leaves a non-final chunk where the final one should be.
    await expect(d.finish()).rejects.toMatchObject({ code: "bad_message" });
    await expect(decryptAttachment({ ...enc, digest: randomBytes(32) })).rejects.toMatchObject({ code: "bad_digest" });
  });

  it("refuses a key that does not match the commitment", async () => {
    const enc = await encryptAttachment(randomBytes(10));
    await expect(decryptAttachment({ ...enc, key: randomBytes(32) })).rejects.toMatchObject({ code: "bad_key" });
  });

  it("an attachment ciphertext crafted for two keys fails", async () => {
    const [K1, K2] = [randomBytes(32), randomBytes(32)];
    const [a, b] = [attachmentKeys(K1), attachmentKeys(K2)];
    const head = Uint8Array.from([0x02, 0x00, 0x01, 0x00, 0x00]);
    const nonce = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const [ad1, ad2] = [concat(head, a.commitment), concat(head, b.commitment)];
    const chunk = forgeTwoKeys(a.encryptionKey, ad1, b.encryptionKey, ad2, nonce);
    // The forgery is real: the bare AEAD accepts the same bytes under both keys, to different plaintexts.
    const m1 = chacha20poly1305(a.encryptionKey, nonce, ad1).decrypt(chunk);
    const m2 = chacha20poly1305(b.encryptionKey, nonce, ad2).decrypt(chunk);
    expect(m1).not.toEqual(m2);
    // As an attachment, the ciphertext carries the commitment of the key it was made for: only K1 opens it.
    const ciphertext = concat(head, a.commitment, chunk);
    const digest = await attachmentDigest(ciphertext);
    expect(await decryptAttachment({ ciphertext, key: K1, digest, commitment: a.commitment })).toEqual(m1);
    await expect(decryptAttachment({ ciphertext, key: K2, digest, commitment: b.commitment })).rejects.toMatchObject({ code: "bad_key" });
    await expect(decryptAttachment({ ciphertext, key: K2, digest, commitment: a.commitment })).rejects.toMatchObject({ code: "bad_key" });
    // Re-committing to K2 makes a different ciphertext (and digest), which K1 then refuses.
    const other = concat(head, b.commitment, chunk);
    await expect(decryptAttachment({ ciphertext: other, key: K1, digest: await attachmentDigest(other), commitment: a.commitment })).rejects.toMatchObject({ code: "bad_key" });
  });
});

describe("the leaf module's sizes", () => {
  it("match the AEAD's: a sealed chunk is a chunk and its tag", async () => {
    const { SEALED_CHUNK_BYTES } = await import("./leaves");
    const { TAG_BYTES } = await import("./primitives");
    expect(SEALED_CHUNK_BYTES).toBe(ATTACHMENT_CHUNK_BYTES + TAG_BYTES);
  });
});
