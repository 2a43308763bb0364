// X25519 (RFC 7748) for X3DH and the DH ratchet. WebCrypto's X25519 (Node 20, Chromium) is about ten times
// faster than pure JS, so it is used when the platform has it, with @noble/curves as the fallback; both
// reject an all-zero output (RFC 7748 §6.1), which is what every low-order or small-subgroup point yields.
// Imported CryptoKeys live only in small in-memory caches, never in a serialised state.
import { x25519 as nobleX25519 } from "@noble/curves/ed25519.js";
import { type Bytes, equalBytes, isAllZero, toHex } from "./bytes";
import { CryptoError } from "./errors";

export interface DhKeyPair {
  /** Raw 32-byte public key. */
  publicKey: Bytes;
  /** Raw 32-byte private scalar (clamped by the DH function, as RFC 7748 specifies). */
  privateKey: Bytes;
}

export type X25519Backend = "webcrypto" | "noble";

// RFC 8410 PKCS#8 wrapper for a raw X25519 private key.
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const ALG = { name: "X25519" } as const;
const CACHE_LIMIT = 512;

interface PrivateEntry { privateKey: Bytes; key: CryptoKey }

const privateCache = new Map<string, PrivateEntry>();
const publicCache = new Map<string, CryptoKey>();
let forced: X25519Backend | undefined;
let detected: Promise<boolean> | undefined;
const pool: Promise<DhKeyPair>[] = [];

function remember<V>(cache: Map<string, V>, id: string, value: V): void {
  cache.set(id, value);
  if (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
}

function subtle(): SubtleCrypto | undefined {
  return globalThis.crypto?.subtle;
}

async function probeWebCrypto(): Promise<boolean> {
  const s = subtle();
  if (!s) return false;
  try {
    const kp = (await s.generateKey(ALG, true, ["deriveBits"])) as CryptoKeyPair;
    const pub = new Uint8Array(await s.exportKey("raw", kp.publicKey));
    return pub.length === 32;
  } catch {
    return false;
  }
}

/** For tests and the benchmark: pin a backend, or undefined to pick the fastest available. */
export function setX25519Backend(backend: X25519Backend | undefined): void {
  forced = backend;
  pool.length = 0;
}

export async function x25519Backend(): Promise<X25519Backend> {
  if (forced) return forced;
  detected ??= probeWebCrypto();
  return (await detected) ? "webcrypto" : "noble";
}

function checkLengths(privateKey: Bytes, publicKey: Bytes): void {
  if (privateKey.length !== 32) throw new CryptoError("bad_key", "invalid private key");
  // what wipe() leaves behind: a wiped key must never act as a key again, cached or not
  if (isAllZero(privateKey)) throw new CryptoError("bad_key", "wiped private key");
  if (publicKey.length !== 32) throw new CryptoError("bad_key", "invalid public key");
}

function nobleDh(privateKey: Bytes, publicKey: Bytes): Bytes {
  let out: Bytes;
  try {
    out = nobleX25519.getSharedSecret(privateKey, publicKey);
  } catch (e) {
    throw new CryptoError("bad_key", "low-order public key", { cause: e });
  }
  if (isAllZero(out)) throw new CryptoError("bad_key", "low-order public key");
  return out;
}

async function importPrivate(pair: DhKeyPair): Promise<CryptoKey> {
  const id = toHex(pair.publicKey);
  const hit = privateCache.get(id);
  if (hit && equalBytes(hit.privateKey, pair.privateKey)) return hit.key;
  const pkcs8 = new Uint8Array(48);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(pair.privateKey, 16);
  const key = await subtle()!.importKey("pkcs8", pkcs8, ALG, false, ["deriveBits"]);
  pkcs8.fill(0);
  // a copy: the caller may wipe its array, and an entry compared against that same (now zero) array
  // would hand the key out again
  remember(privateCache, id, { privateKey: pair.privateKey.slice(), key });
  return key;
}

async function importPublic(publicKey: Bytes): Promise<CryptoKey> {
  const id = toHex(publicKey);
  const hit = publicCache.get(id);
  if (hit) return hit;
  const key = await subtle()!.importKey("raw", publicKey as Uint8Array<ArrayBuffer>, ALG, true, []);
  remember(publicCache, id, key);
  return key;
}

async function webDh(pair: DhKeyPair, publicKey: Bytes): Promise<Bytes> {
  const [priv, pub] = await Promise.all([importPrivate(pair), importPublic(publicKey)]);
  let out: Bytes;
  try {
    out = new Uint8Array(await subtle()!.deriveBits({ name: "X25519", public: pub }, priv, 256));
  } catch (e) {
    // WebCrypto refuses an all-zero result itself (Secure Curves spec); map it to our code.
    throw new CryptoError("bad_key", "low-order public key", { cause: e });
  }
  if (isAllZero(out)) throw new CryptoError("bad_key", "low-order public key");
  return out;
}

/**
 * Drops the cached private CryptoKey of a key pair: call when its private half is wiped or deleted (an
 * ephemeral key after X3DH, a prekey rotated out), so nothing in memory can still use it.
 */
export function forgetDhKey(publicKey: Bytes): void {
  const id = toHex(publicKey);
  const hit = privateCache.get(id);
  if (hit) hit.privateKey.fill(0);
  privateCache.delete(id);
}

/** For tests: whether a private key is cached for this public key. */
export function isDhKeyCached(publicKey: Bytes): boolean {
  return privateCache.has(toHex(publicKey));
}

/** X25519(ours.privateKey, theirPublic); throws bad_key for a low-order or malformed public key. */
export async function dh(ours: DhKeyPair, theirPublic: Bytes, backend?: X25519Backend): Promise<Bytes> {
  checkLengths(ours.privateKey, theirPublic);
  const use = backend ?? (await x25519Backend());
  return use === "webcrypto" ? webDh(ours, theirPublic) : nobleDh(ours.privateKey, theirPublic);
}

async function webGenerate(): Promise<DhKeyPair> {
  const s = subtle()!;
  const kp = (await s.generateKey(ALG, true, ["deriveBits"])) as CryptoKeyPair;
  const [pub, pkcs8] = await Promise.all([s.exportKey("raw", kp.publicKey), s.exportKey("pkcs8", kp.privateKey)]);
  const p8 = new Uint8Array(pkcs8);
  if (p8.length !== 48 || !equalBytes(p8.subarray(0, 16), PKCS8_PREFIX)) {
    throw new CryptoError("bad_key", "unexpected pkcs8 encoding");
  }
  const pair = { publicKey: new Uint8Array(pub), privateKey: p8.slice(16) };
  p8.fill(0);
  remember(privateCache, toHex(pair.publicKey), { privateKey: pair.privateKey.slice(), key: kp.privateKey });
  remember(publicCache, toHex(pair.publicKey), kp.publicKey);
  return pair;
}

function nobleGenerate(): DhKeyPair {
  const privateKey = nobleX25519.utils.randomSecretKey();
  return { publicKey: nobleX25519.getPublicKey(privateKey), privateKey };
}

/**
 * A fresh key pair. With WebCrypto the next pair is generated ahead on the platform's thread pool, so a
 * ratchet step overlaps key generation with the DH it needs first; each pair is handed out once only.
 */
export async function generateDhKeyPair(backend?: X25519Backend): Promise<DhKeyPair> {
  const use = backend ?? (await x25519Backend());
  if (use === "noble") return nobleGenerate();
  const next = pool.shift() ?? webGenerate();
  if (backend === undefined) {
    const ahead = webGenerate();
    // Marked handled here; a failure still reaches whoever takes this pair from the pool.
    ahead.catch(() => undefined);
    pool.push(ahead);
  }
  return next;
}

/** The public key of a raw private scalar, with the same backend rules. */
export async function dhPublicKey(privateKey: Bytes, backend?: X25519Backend): Promise<Bytes> {
  if (privateKey.length !== 32) throw new CryptoError("bad_key", "invalid private key");
  const use = backend ?? (await x25519Backend());
  if (use === "noble") return nobleX25519.getPublicKey(privateKey);
  const s = subtle()!;
  const pkcs8 = new Uint8Array(48);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(privateKey, 16);
  const key = await s.importKey("pkcs8", pkcs8, ALG, false, ["deriveBits"]);
  pkcs8.fill(0);
  // X25519(k, 9) is the public key: WebCrypto cannot export it from a private key directly.
  const base = new Uint8Array(32);
  base[0] = 9;
  const basePoint = await s.importKey("raw", base, ALG, true, []);
  return new Uint8Array(await s.deriveBits({ name: "X25519", public: basePoint }, key, 256));
}
