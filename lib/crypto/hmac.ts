// HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869) over a SHA-256 (FIPS 180-4) written for the ratchet's
// hot path: every received message costs two HMACs of its chain key and one HKDF of its message key, and
// the general-purpose hashes allocate two hash objects, their buffers and a DataView per HMAC (in a backlog's
// worker profile that allocation and the garbage it leaves were a tenth of the worker's time). Here the
// working state is module-level and reused, a key's padded inner and outer states are computed once and
// shared by every HMAC under that key, and nothing is allocated but the outputs. Everything is synchronous,
// so the shared state can never be seen half-used. Checked against Node's crypto (hmac.test.ts) and the
// Wycheproof HMAC and HKDF vectors (through primitives.ts).
import type { Bytes } from "./bytes";

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;
export const SHA256_BYTES = 32;

const W = new Int32Array(64);

/** One compression of the 64-byte block at `block[off]` into `h`. */
function compress(h: Int32Array, block: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++, off += 4) W[i] = (block[off] << 24) | (block[off + 1] << 16) | (block[off + 2] << 8) | block[off + 3];
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15];
    const b = W[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = h[0];
  let b = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  let f = h[5];
  let g = h[6];
  let k = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (k + S1 + ch + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + b) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
  h[5] = (h[5] + f) | 0;
  h[6] = (h[6] + g) | 0;
  h[7] = (h[7] + k) | 0;
}

/** The one running hash: a state, a partial block and the bytes hashed so far. */
const state = new Int32Array(8);
const buffer = new Uint8Array(BLOCK);
let pos = 0;
let total = 0;

function start(from: Int32Array, hashed: number): void {
  state.set(from);
  pos = 0;
  total = hashed;
}

function update(data: Bytes): void {
  let i = 0;
  const n = data.length;
  total += n;
  if (pos > 0) {
    const take = Math.min(BLOCK - pos, n);
    buffer.set(data.subarray(0, take), pos);
    pos += take;
    i = take;
    if (pos < BLOCK) return;
    compress(state, buffer, 0);
    pos = 0;
  }
  for (; n - i >= BLOCK; i += BLOCK) compress(state, data, i);
  if (i < n) {
    buffer.set(data.subarray(i), 0);
    pos = n - i;
  }
}

function updateByte(byte: number): void {
  total += 1;
  buffer[pos++] = byte;
  if (pos === BLOCK) {
    compress(state, buffer, 0);
    pos = 0;
  }
}

/** Pads, writes the digest to `out[off]` (32 bytes). */
function finish(out: Uint8Array, off: number): void {
  const bits = total * 8;
  buffer[pos++] = 0x80;
  if (pos > BLOCK - 8) {
    buffer.fill(0, pos);
    compress(state, buffer, 0);
    pos = 0;
  }
  buffer.fill(0, pos, BLOCK - 8);
  // the length in bits, big-endian over 8 bytes (the inputs here stay far below 2^53 bits)
  const high = Math.floor(bits / 0x100000000);
  buffer[56] = high >>> 24;
  buffer[57] = high >>> 16;
  buffer[58] = high >>> 8;
  buffer[59] = high;
  buffer[60] = bits >>> 24;
  buffer[61] = bits >>> 16;
  buffer[62] = bits >>> 8;
  buffer[63] = bits;
  compress(state, buffer, 0);
  for (let i = 0; i < 8; i++, off += 4) {
    const v = state[i];
    out[off] = v >>> 24;
    out[off + 1] = v >>> 16;
    out[off + 2] = v >>> 8;
    out[off + 3] = v;
  }
  // nothing of the input (keys, chain keys) stays in the shared buffers
  buffer.fill(0);
  state.fill(0);
  W.fill(0);
  pos = 0;
}

/** SHA-256 of `data`. */
export function sha256(data: Bytes): Bytes {
  const out = new Uint8Array(SHA256_BYTES);
  start(IV, 0);
  update(data);
  finish(out, 0);
  return out;
}

/** An HMAC key: the states after its inner and outer padded blocks. Good for any number of HMACs. */
export interface HmacKey {
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

const pad = new Uint8Array(BLOCK);

export function hmacKey(key: Bytes): HmacKey {
  const k = key.length > BLOCK ? sha256(key) : key;
  const inner = IV.slice();
  const outer = IV.slice();
  pad.fill(0x36);
  for (let i = 0; i < k.length; i++) pad[i] ^= k[i];
  compress(inner, pad, 0);
  pad.fill(0x5c);
  for (let i = 0; i < k.length; i++) pad[i] ^= k[i];
  compress(outer, pad, 0);
  pad.fill(0);
  W.fill(0);
  return { inner, outer };
}

const innerDigest = new Uint8Array(SHA256_BYTES);

/**
 * HMAC under `key` of the concatenation of `parts` and, when given, one last `byte` (HKDF's counter),
 * written to `out[off]`; returns `out`.
 */
export function hmacInto(key: HmacKey, parts: readonly Bytes[], byte: number | undefined, out: Uint8Array, off = 0): Uint8Array {
  start(key.inner, BLOCK);
  for (const p of parts) update(p);
  if (byte !== undefined) updateByte(byte);
  finish(innerDigest, 0);
  start(key.outer, BLOCK);
  update(innerDigest);
  finish(out, off);
  innerDigest.fill(0);
  return out;
}

export function hmac(key: Bytes, data: Bytes): Bytes {
  return hmacInto(hmacKey(key), [data], undefined, new Uint8Array(SHA256_BYTES));
}

const ZERO_SALT = new Uint8Array(SHA256_BYTES);

/** HKDF-SHA256 (extract, then expand); an empty or absent salt is 32 zero bytes. The caller checks `length`. */
export function hkdf(ikm: Bytes, salt: Bytes | undefined, info: Bytes, length: number): Bytes {
  const prk = hmac(salt && salt.length > 0 ? salt : ZERO_SALT, ikm);
  const key = hmacKey(prk);
  prk.fill(0);
  const blocks = Math.ceil(length / SHA256_BYTES);
  const okm = new Uint8Array(blocks * SHA256_BYTES);
  for (let i = 0; i < blocks; i++) {
    const previous = i === 0 ? [] : [okm.subarray((i - 1) * SHA256_BYTES, i * SHA256_BYTES)];
    hmacInto(key, [...previous, info], i + 1, okm, i * SHA256_BYTES);
  }
  key.inner.fill(0);
  key.outer.fill(0);
  if (blocks * SHA256_BYTES === length) return okm;
  const out = okm.slice(0, length);
  okm.fill(0);
  return out;
}
