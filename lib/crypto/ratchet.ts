// The Double Ratchet (Signal, rev. 4, §3 and §3.5 for skipped keys). KDF_RK and KDF_CK follow §5.2 with
// fixed info strings; each message key expands to an XChaCha20-Poly1305 key and nonce. Every function
// returns a new state and leaves its input untouched, so a message that fails to authenticate changes
// nothing: the caller only ever commits the state that came back with a plaintext.
import { type Bytes, concat, equalBytes, utf8 } from "./bytes";
import { Reader, type Writer } from "./codec";
import { CryptoError } from "./errors";
import { KeyTag, X25519_BYTES, decodeKey, encodeKey } from "./keys";
import { hkdfSha256, hmacSha256Twice, xchachaOpen, xchachaSeal } from "./primitives";
import { type DhKeyPair, dh, generateDhKeyPair } from "./x25519";

export const ROOT_INFO = utf8("Junction_Ratchet_Root_v1");
export const MESSAGE_KEY_INFO = utf8("Junction_Ratchet_MessageKeys_v1");
/** Most message keys skipped in one chain by one message (the spec's example MAX_SKIP). */
export const MAX_SKIP = 1000;
/** Most skipped keys kept in all; the oldest are evicted first. */
export const MAX_STORED_SKIPPED = 2000;
/** Past remote ratchet keys remembered, so that a replay from an old chain reads as a duplicate. */
const MAX_PREVIOUS_REMOTE = 5;
export const HEADER_BYTES = 1 + X25519_BYTES + 4 + 4;

const CK_MESSAGE = new Uint8Array([0x01]);
const CK_NEXT = new Uint8Array([0x02]);

export interface SkippedChain {
  readonly dh: Bytes;
  /** counter → message key, in insertion (and counter) order. */
  readonly keys: ReadonlyMap<number, Bytes>;
}

export interface RatchetState {
  readonly rootKey: Bytes;
  readonly dhs: DhKeyPair;
  readonly dhr?: Bytes;
  readonly cks?: Bytes;
  readonly ckr?: Bytes;
  readonly ns: number;
  readonly nr: number;
  readonly pn: number;
  /** Oldest chain first. Chains only ever gain keys while they are the current receiving chain. */
  readonly skipped: readonly SkippedChain[];
  readonly previousRemote: readonly Bytes[];
}

export interface Header {
  dh: Bytes;
  pn: number;
  n: number;
}

export function kdfRoot(rootKey: Bytes, dhOut: Bytes): { rootKey: Bytes; chainKey: Bytes } {
  const out = hkdfSha256(dhOut, rootKey, ROOT_INFO, 64);
  return { rootKey: out.slice(0, 32), chainKey: out.slice(32, 64) };
}

export function kdfChain(chainKey: Bytes): { messageKey: Bytes; chainKey: Bytes } {
  const [messageKey, next] = hmacSha256Twice(chainKey, CK_MESSAGE, CK_NEXT);
  return { messageKey, chainKey: next };
}

export function messageCipherKeys(messageKey: Bytes): { key: Bytes; nonce: Bytes } {
  const out = hkdfSha256(messageKey, undefined, MESSAGE_KEY_INFO, 56);
  return { key: out.subarray(0, 32), nonce: out.subarray(32, 56) };
}

export function encodeHeader(h: Header): Bytes {
  const out = new Uint8Array(HEADER_BYTES);
  out.set(encodeKey(KeyTag.ratchet, h.dh), 0);
  const v = new DataView(out.buffer);
  v.setUint32(33, h.pn, false);
  v.setUint32(37, h.n, false);
  return out;
}

export function decodeHeader(b: Bytes): Header {
  if (b.length !== HEADER_BYTES) throw new CryptoError("bad_message", "invalid header");
  const dhKey = decodeKey(KeyTag.ratchet, b.subarray(0, 33));
  const r = new Reader(b.subarray(33), "bad_message");
  return { dh: dhKey, pn: r.u32(), n: r.u32() };
}

/** RatchetInitAlice: the initiator starts with a sending chain towards the responder's signed prekey. */
export async function initInitiator(secret: Bytes, theirSignedPrekey: Bytes): Promise<RatchetState> {
  const dhs = await generateDhKeyPair();
  const { rootKey, chainKey } = kdfRoot(secret, await dh(dhs, theirSignedPrekey));
  return { rootKey, dhs, dhr: theirSignedPrekey, cks: chainKey, ns: 0, nr: 0, pn: 0, skipped: [], previousRemote: [] };
}

/** RatchetInitBob: the responder's first ratchet key is its signed prekey. */
export function initResponder(secret: Bytes, signedPrekey: DhKeyPair): RatchetState {
  return { rootKey: secret, dhs: signedPrekey, ns: 0, nr: 0, pn: 0, skipped: [], previousRemote: [] };
}

export function ratchetEncrypt(s: RatchetState, plaintext: Bytes, ad: Bytes): { state: RatchetState; header: Bytes; body: Bytes } {
  if (!s.cks) throw new CryptoError("no_session", "no sending chain yet");
  const { messageKey, chainKey } = kdfChain(s.cks);
  const header = encodeHeader({ dh: s.dhs.publicKey, pn: s.pn, n: s.ns });
  const { key, nonce } = messageCipherKeys(messageKey);
  const body = xchachaSeal(key, nonce, plaintext, concat(ad, header));
  return { state: { ...s, cks: chainKey, ns: s.ns + 1 }, header, body };
}

function findSkipped(s: RatchetState, h: Header): { chain: number; key: Bytes } | undefined {
  for (let i = s.skipped.length - 1; i >= 0; i--) {
    const c = s.skipped[i];
    if (!equalBytes(c.dh, h.dh)) continue;
    const key = c.keys.get(h.n);
    return key ? { chain: i, key } : undefined;
  }
  return undefined;
}

function withoutSkipped(s: RatchetState, chain: number, n: number): readonly SkippedChain[] {
  const keys = new Map(s.skipped[chain].keys);
  keys.delete(n);
  const out = s.skipped.slice();
  if (keys.size === 0) out.splice(chain, 1);
  else out[chain] = { dh: s.skipped[chain].dh, keys };
  return out;
}

/** Adds newly skipped keys (oldest first) and evicts the oldest stored keys above the total bound. */
function withAddedSkipped(existing: readonly SkippedChain[], added: SkippedChain[]): readonly SkippedChain[] {
  const fresh = added.filter((c) => c.keys.size > 0);
  if (fresh.length === 0) return existing;
  const chains: SkippedChain[] = existing.slice();
  for (const c of fresh) {
    const last = chains[chains.length - 1];
    if (last && equalBytes(last.dh, c.dh)) chains[chains.length - 1] = { dh: c.dh, keys: new Map([...last.keys, ...c.keys]) };
    else chains.push(c);
  }
  let total = 0;
  for (const c of chains) total += c.keys.size;
  while (total > MAX_STORED_SKIPPED) {
    const first = chains[0];
    const excess = total - MAX_STORED_SKIPPED;
    if (first.keys.size <= excess) {
      chains.shift();
      total -= first.keys.size;
    } else {
      chains[0] = { dh: first.dh, keys: new Map([...first.keys].slice(excess)) };
      total -= excess;
    }
  }
  return chains;
}

function skipKeys(chainKey: Bytes, from: number, until: number, dhKey: Bytes): { chainKey: Bytes; chain: SkippedChain } {
  if (until - from > MAX_SKIP) throw new CryptoError("too_far", "too many skipped messages");
  const keys = new Map<number, Bytes>();
  let ck = chainKey;
  for (let n = from; n < until; n++) {
    const step = kdfChain(ck);
    keys.set(n, step.messageKey);
    ck = step.chainKey;
  }
  return { chainKey: ck, chain: { dh: dhKey, keys } };
}

function open(messageKey: Bytes, body: Bytes, ad: Bytes, header: Bytes): Bytes {
  const { key, nonce } = messageCipherKeys(messageKey);
  return xchachaOpen(key, nonce, body, concat(ad, header));
}

/**
 * RatchetDecrypt on a copy. Bounds are checked before any DH or KDF work, so a forged far-ahead header
 * costs nothing and stores nothing; the returned state exists only if the message authenticated.
 */
export async function ratchetDecrypt(s: RatchetState, headerBytes: Bytes, body: Bytes, ad: Bytes): Promise<{ state: RatchetState; plaintext: Bytes }> {
  const h = decodeHeader(headerBytes);

  const stored = findSkipped(s, h);
  if (stored) {
    const plaintext = open(stored.key, body, ad, headerBytes);
    return { state: { ...s, skipped: withoutSkipped(s, stored.chain, h.n) }, plaintext };
  }

  const current = s.dhr !== undefined && equalBytes(h.dh, s.dhr);
  if (current) {
    if (!s.ckr) throw new CryptoError("bad_message", "no receiving chain for this key");
    if (h.n < s.nr) throw new CryptoError("duplicate", "message already received");
    if (h.n - s.nr > MAX_SKIP) throw new CryptoError("too_far", "too many skipped messages");
    const skip = skipKeys(s.ckr, s.nr, h.n, h.dh);
    const { messageKey, chainKey } = kdfChain(skip.chainKey);
    const plaintext = open(messageKey, body, ad, headerBytes);
    return { state: { ...s, ckr: chainKey, nr: h.n + 1, skipped: withAddedSkipped(s.skipped, [skip.chain]) }, plaintext };
  }

  if (s.previousRemote.some((k) => equalBytes(k, h.dh)) || s.skipped.some((c) => equalBytes(c.dh, h.dh))) {
    throw new CryptoError("duplicate", "message already received");
  }
  if (h.n > MAX_SKIP || (s.ckr && h.pn - s.nr > MAX_SKIP)) throw new CryptoError("too_far", "too many skipped messages");

  // DH ratchet step (§3.5 DHRatchet), preceded by the tail of the current receiving chain.
  const tail = s.ckr && s.dhr ? skipKeys(s.ckr, s.nr, h.pn, s.dhr).chain : undefined;
  const [received, dhs] = await Promise.all([dh(s.dhs, h.dh), generateDhKeyPair()]);
  const recv = kdfRoot(s.rootKey, received);
  const send = kdfRoot(recv.rootKey, await dh(dhs, h.dh));
  const skip = skipKeys(recv.chainKey, 0, h.n, h.dh);
  const { messageKey, chainKey } = kdfChain(skip.chainKey);
  const plaintext = open(messageKey, body, ad, headerBytes);

  const previousRemote = s.dhr ? [...s.previousRemote, s.dhr].slice(-MAX_PREVIOUS_REMOTE) : s.previousRemote;
  return {
    plaintext,
    state: {
      rootKey: send.rootKey,
      dhs,
      dhr: h.dh,
      cks: send.chainKey,
      ckr: chainKey,
      ns: 0,
      nr: h.n + 1,
      pn: s.ns,
      skipped: withAddedSkipped(s.skipped, tail ? [tail, skip.chain] : [skip.chain]),
      previousRemote,
    },
  };
}

export function skippedKeyCount(s: RatchetState): number {
  let n = 0;
  for (const c of s.skipped) n += c.keys.size;
  return n;
}


export function writeRatchet(w: Writer, s: RatchetState): void {
  w.raw(s.rootKey).raw(s.dhs.publicKey).raw(s.dhs.privateKey);
  w.optional(s.dhr, (v) => w.raw(v));
  w.optional(s.cks, (v) => w.raw(v));
  w.optional(s.ckr, (v) => w.raw(v));
  w.varint(s.ns).varint(s.nr).varint(s.pn);
  w.varint(s.previousRemote.length);
  for (const k of s.previousRemote) w.raw(k);
  w.varint(s.skipped.length);
  for (const c of s.skipped) {
    w.raw(c.dh).varint(c.keys.size);
    // Counters in a chain ascend, so deltas keep them to one byte in the common case.
    let prev = 0;
    for (const [n, mk] of c.keys) {
      w.varint(n - prev).raw(mk);
      prev = n;
    }
  }
}

export function readRatchet(r: Reader): RatchetState {
  const rootKey = r.raw(32);
  const dhs = { publicKey: r.raw(32), privateKey: r.raw(32) };
  const dhr = r.optional(() => r.raw(32));
  const cks = r.optional(() => r.raw(32));
  const ckr = r.optional(() => r.raw(32));
  const ns = r.varint();
  const nr = r.varint();
  const pn = r.varint();
  const prevCount = r.varint();
  if (prevCount > MAX_PREVIOUS_REMOTE) throw new CryptoError("bad_state", "too many previous keys");
  const previousRemote: Bytes[] = [];
  for (let i = 0; i < prevCount; i++) previousRemote.push(r.raw(32));
  const chainCount = r.varint();
  if (chainCount > MAX_STORED_SKIPPED) throw new CryptoError("bad_state", "too many skipped chains");
  const skipped: SkippedChain[] = [];
  let total = 0;
  for (let i = 0; i < chainCount; i++) {
    const dhKey = r.raw(32);
    const size = r.varint();
    total += size;
    if (total > MAX_STORED_SKIPPED) throw new CryptoError("bad_state", "too many skipped keys");
    const keys = new Map<number, Bytes>();
    let n = 0;
    for (let j = 0; j < size; j++) {
      n += r.varint();
      keys.set(n, r.raw(32));
    }
    skipped.push({ dh: dhKey, keys });
  }
  return { rootKey, dhs, dhr, cks, ckr, ns, nr, pn, skipped, previousRemote };
}
