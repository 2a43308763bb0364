/* eslint-disable no-restricted-imports -- test-only: an independent reference on Node's own crypto, never bundled */
// An independent reference of the protocol in docs/CRYPTO.md, for the known-answer vectors in
// lib/crypto/vectors/kat. It shares no code with lib/crypto and none of its libraries: X25519, Ed25519,
// SHA-2, HMAC, HKDF and ChaCha20-Poly1305 come from Node's own crypto (OpenSSL); HChaCha20 (for XChaCha20),
// the Ed25519 → X25519 map, varints and every protocol encoding are written out here from the document.
// Node has no ML-KEM: a vector fixes the KEM ciphertext and shared secret and the reference takes SS from it.
// scripts/make-kat-vectors.ts writes the JSON with these functions; lib/crypto/kat.test.ts recomputes it.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";

export type B = Uint8Array;

// ---------------------------------------------------------------------------------------------- bytes

export const hex = (b: B): string => Buffer.from(b).toString("hex");
export function unhex(s: string): B {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new Error(`not lower-case hex: ${s.slice(0, 20)}…`);
  return new Uint8Array(Buffer.from(s, "hex"));
}
const u8 = (b: Buffer | ArrayBuffer): B => new Uint8Array(b instanceof ArrayBuffer ? b : b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
export const cat = (...parts: B[]): B => new Uint8Array(Buffer.concat(parts));
export const text = (s: string): B => new Uint8Array(Buffer.from(s, "utf8"));
export function be32(n: number): B {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return new Uint8Array(b);
}
/** Unsigned LEB128. */
export function varint(n: number): B {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Uint8Array.from(out);
}
/** varint length ‖ UTF-8 bytes. */
export const lstr = (s: string): B => cat(varint(Buffer.byteLength(s, "utf8")), text(s));

/** Deterministic test bytes: SHA-256(label ‖ u32be(i)) blocks, truncated to n. */
export function detBytes(label: string, n: number): B {
  const out = Buffer.alloc(n);
  for (let i = 0, o = 0; o < n; i++, o += 32) createHash("sha256").update(label).update(be32(i)).digest().copy(out, o);
  return new Uint8Array(out);
}

// ------------------------------------------------------------------------------------- hashes and MACs

export const sha256 = (d: B): B => u8(createHash("sha256").update(d).digest());
export const sha512 = (d: B): B => u8(createHash("sha512").update(d).digest());
export const hmac256 = (k: B, d: B): B => u8(createHmac("sha256", k).update(d).digest());
/** RFC 5869 HKDF-SHA256; an absent salt is HashLen zero bytes (what OpenSSL does with an empty one). */
export const hkdf = (ikm: B, salt: B | undefined, info: B | string, n: number): B =>
  u8(hkdfSync("sha256", ikm, salt ?? new Uint8Array(32), typeof info === "string" ? text(info) : info, n));

// --------------------------------------------------------------------------------- X25519 and Ed25519

const X25519_PKCS8 = unhex("302e020100300506032b656e04220420");
const X25519_SPKI = unhex("302a300506032b656e032100");
const ED25519_PKCS8 = unhex("302e020100300506032b657004220420");
const ED25519_SPKI = unhex("302a300506032b6570032100");

const priv = (prefix: B, raw: B) => createPrivateKey({ key: Buffer.from(cat(prefix, raw)), format: "der", type: "pkcs8" });
const pub = (prefix: B, raw: B) => createPublicKey({ key: Buffer.from(cat(prefix, raw)), format: "der", type: "spki" });
const rawPublic = (k: ReturnType<typeof createPrivateKey>): B => u8(createPublicKey(k).export({ format: "der", type: "spki" })).slice(12);

export function x25519(privateKey: B, publicKey: B): B {
  if (privateKey.length !== 32 || publicKey.length !== 32) throw new Error("x25519: bad length");
  const out = u8(diffieHellman({ privateKey: priv(X25519_PKCS8, privateKey), publicKey: pub(X25519_SPKI, publicKey) }));
  if (out.every((b) => b === 0)) throw new Error("x25519: all-zero output");
  return out;
}
export const x25519Public = (privateKey: B): B => rawPublic(priv(X25519_PKCS8, privateKey));

export const ed25519Public = (seed: B): B => rawPublic(priv(ED25519_PKCS8, seed));
export const ed25519Sign = (seed: B, msg: B): B => u8(nodeSign(null, msg, priv(ED25519_PKCS8, seed)));
export const ed25519Verify = (publicKey: B, msg: B, sig: B): boolean => nodeVerify(null, msg, pub(ED25519_SPKI, publicKey), sig);

const P = 2n ** 255n - 19n;
function powMod(b: bigint, e: bigint): bigint {
  let r = 1n;
  for (b %= P; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
  return r;
}
/** RFC 7748 §4.1: the Montgomery u of an Edwards point, u = (1 + y) / (1 − y). */
export function edPublicToX25519(edPublic: B): B {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? edPublic[i] & 0x7f : edPublic[i]);
  let u = (((1n + y) % P) * powMod((1n - y + P) % P, P - 2n)) % P;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, u >>= 8n) out[i] = Number(u & 0xffn);
  return out;
}
/** The X25519 scalar of an Ed25519 seed: the first half of SHA-512(seed) (RFC 8032 §5.1.5); X25519 clamps. */
export const edSeedToX25519 = (seed: B): B => sha512(seed).slice(0, 32);

// ---------------------------------------------------------------------- ChaCha20-Poly1305, XChaCha20

export function chachaSeal(key: B, nonce: B, plaintext: B, ad: B): B {
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  return cat(u8(c.update(plaintext)), u8(c.final()), u8(c.getAuthTag()));
}
export function chachaOpen(key: B, nonce: B, sealed: B, ad: B): B {
  const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  d.setAAD(ad, { plaintextLength: sealed.length - 16 });
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return cat(u8(d.update(sealed.subarray(0, sealed.length - 16))), u8(d.final()));
}

/** HChaCha20 (draft-irtf-cfrg-xchacha §2.2): 20 ChaCha rounds, no feed-forward, words 0–3 and 12–15 out. */
export function hchacha20(key: B, nonce16: B): B {
  const k = Buffer.from(key);
  const n = Buffer.from(nonce16);
  const s = new Uint32Array(16);
  s.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  for (let i = 0; i < 8; i++) s[4 + i] = k.readUInt32LE(4 * i);
  for (let i = 0; i < 4; i++) s[12 + i] = n.readUInt32LE(4 * i);
  const rotl = (v: number, c: number) => (v << c) | (v >>> (32 - c));
  const qr = (a: number, b: number, c: number, d: number) => {
    s[a] += s[b]; s[d] = rotl(s[d] ^ s[a], 16);
    s[c] += s[d]; s[b] = rotl(s[b] ^ s[c], 12);
    s[a] += s[b]; s[d] = rotl(s[d] ^ s[a], 8);
    s[c] += s[d]; s[b] = rotl(s[b] ^ s[c], 7);
  };
  for (let round = 0; round < 10; round++) {
    qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
    qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE(s[i], 4 * i);
    out.writeUInt32LE(s[12 + i], 16 + 4 * i);
  }
  return new Uint8Array(out);
}
const xParams = (key: B, nonce24: B) => ({ key: hchacha20(key, nonce24.subarray(0, 16)), nonce: cat(new Uint8Array(4), nonce24.subarray(16, 24)) });
export function xchachaSeal(key: B, nonce24: B, plaintext: B, ad: B): B {
  const x = xParams(key, nonce24);
  return chachaSeal(x.key, x.nonce, plaintext, ad);
}
export function xchachaOpen(key: B, nonce24: B, sealed: B, ad: B): B {
  const x = xParams(key, nonce24);
  return chachaOpen(x.key, x.nonce, sealed, ad);
}

// ------------------------------------------------------------------------------------ protocol: keys

export const TAG = { identity: 0x01, signedPrekey: 0x03, oneTimePrekey: 0x04, ratchet: 0x05, kemPrekey: 0x06, senderSigning: 0x07 } as const;
export const tagged = (tag: number, raw: B): B => cat(Uint8Array.of(tag), raw);

// --------------------------------------------------------------------------------- protocol: PQXDH

export const PQXDH_INFO = "Junction_X25519_SHA-256_ML-KEM-768_v1";

export interface PqxdhInput {
  aliceIdentitySeed: B;
  bobIdentitySeed: B;
  signedPrekeyPrivate: B;
  oneTimePrekeyPrivate?: B;
  baseKeyPrivate: B;
  kemSharedSecret: B;
}

export interface PqxdhOutput {
  dh: B[];
  secret: B;
}

/**
 * SK = HKDF(salt = 32 zero bytes, ikm = 32×0xFF ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS, PQXDH info, 32). Computed from
 * the initiator's private keys and checked against the responder's, so the vector holds for both sides.
 */
export function pqxdh(i: PqxdhInput): PqxdhOutput {
  const ikA = edSeedToX25519(i.aliceIdentitySeed);
  const ikB = edSeedToX25519(i.bobIdentitySeed);
  const ikAPub = edPublicToX25519(ed25519Public(i.aliceIdentitySeed));
  const ikBPub = edPublicToX25519(ed25519Public(i.bobIdentitySeed));
  // The birational map and the hashed seed are two routes to the same X25519 key.
  if (hex(ikAPub) !== hex(x25519Public(ikA)) || hex(ikBPub) !== hex(x25519Public(ikB))) throw new Error("ed→x25519 map disagrees");
  const spk = x25519Public(i.signedPrekeyPrivate);
  const ek = x25519Public(i.baseKeyPrivate);
  const dh = [x25519(ikA, spk), x25519(i.baseKeyPrivate, ikBPub), x25519(i.baseKeyPrivate, spk)];
  const responder = [x25519(i.signedPrekeyPrivate, ikAPub), x25519(ikB, ek), x25519(i.signedPrekeyPrivate, ek)];
  if (i.oneTimePrekeyPrivate) {
    dh.push(x25519(i.baseKeyPrivate, x25519Public(i.oneTimePrekeyPrivate)));
    responder.push(x25519(i.oneTimePrekeyPrivate, ek));
  }
  if (hex(cat(...dh)) !== hex(cat(...responder))) throw new Error("initiator and responder DH disagree");
  const secret = hkdf(cat(new Uint8Array(32).fill(0xff), ...dh, i.kemSharedSecret), new Uint8Array(32), PQXDH_INFO, 32);
  return { dh, secret };
}

// --------------------------------------------------------------------------- protocol: Double Ratchet

export const ROOT_INFO = "Junction_Ratchet_Root_v1";
export const MESSAGE_KEY_INFO = "Junction_Ratchet_MessageKeys_v1";
export const AD_LABEL = "Junction_AD_v1";

export function kdfRoot(rk: B, dhOut: B): { rootKey: B; chainKey: B } {
  const out = hkdf(dhOut, rk, ROOT_INFO, 64);
  return { rootKey: out.slice(0, 32), chainKey: out.slice(32) };
}
export const kdfChain = (ck: B) => ({ messageKey: hmac256(ck, Uint8Array.of(1)), chainKey: hmac256(ck, Uint8Array.of(2)) });
export function messageCipherKeys(mk: B): { key: B; nonce: B } {
  const out = hkdf(mk, undefined, MESSAGE_KEY_INFO, 56);
  return { key: out.slice(0, 32), nonce: out.slice(32) };
}
/** 0x05 ‖ ratchet key ‖ PN u32be ‖ N u32be. */
export const ratchetHeader = (dhPublic: B, pn: number, n: number): B => cat(tagged(TAG.ratchet, dhPublic), be32(pn), be32(n));
/** `Junction_AD_v1` ‖ IK_sender ‖ IK_recipient ‖ varint-len addr_sender ‖ addr_sender ‖ varint-len addr_recipient ‖ addr_recipient. */
export const sessionAd = (ikSender: B, ikRecipient: B, addrSender: string, addrRecipient: string): B =>
  cat(text(AD_LABEL), ikSender, ikRecipient, lstr(addrSender), lstr(addrRecipient));

export interface PrekeyPart {
  identityKey: B; // tagged 0x01
  baseKey: B; // tagged 0x05
  signedPrekeyId: number;
  oneTimePrekeyId?: number;
  kemPrekeyId: number;
  kemCiphertext: B;
  /** Flag 0x04: the KEM prekey id names a one-time KEM prekey. */
  kemOneTime?: boolean;
}
/** 0x12 ‖ IK_A ‖ EK_A ‖ SPK id ‖ flags ‖ [OPK id] ‖ KEM prekey id ‖ KEM ciphertext. */
export function prekeyPrefix(p: PrekeyPart): B {
  const flags = (p.oneTimePrekeyId !== undefined ? 0x01 : 0) | 0x02 | (p.kemOneTime ? 0x04 : 0);
  return cat(Uint8Array.of(0x12), p.identityKey, p.baseKey, be32(p.signedPrekeyId), Uint8Array.of(flags),
    p.oneTimePrekeyId !== undefined ? be32(p.oneTimePrekeyId) : new Uint8Array(0), be32(p.kemPrekeyId), p.kemCiphertext);
}

export interface Party { identityKey: B; address: string }
export interface Turn { from: "alice" | "bob"; ratchetPrivate: B; plaintexts: string[] }
export interface WireMessage { turn: number; n: number; pn: number; plaintext: string; messageKey: B; wire: B }
export interface TurnOut { ratchetPublic: B; rootKey: B; chainKey: B }

/**
 * A conversation as the spec runs it. Turn t's sender holds ratchet key K_t and meets the previous turn's
 * K_{t-1} (K_0 the responder's signed prekey): (RK_t, CK_t) = KDF_RK(RK_{t-1}, DH(K_t, K_{t-1})), RK_0 = SK.
 * Turn 1 is the initiator's and carries the prekey part until the first reply; PN is the sender's previous
 * turn's message count. Each message: AEAD(key, nonce, pt, AD(sender→recipient) ‖ prefix ‖ header).
 */
export function conversation(p: { secret: B; signedPrekeyPrivate: B; alice: Party; bob: Party; prekey: B; turns: Turn[] }): { turns: TurnOut[]; messages: WireMessage[] } {
  const keys = [p.signedPrekeyPrivate, ...p.turns.map((t) => t.ratchetPrivate)];
  let rk = p.secret;
  const turns: TurnOut[] = [];
  const messages: WireMessage[] = [];
  p.turns.forEach((turn, i) => {
    const t = i + 1;
    const expectFrom = t % 2 === 1 ? "alice" : "bob";
    if (turn.from !== expectFrom) throw new Error("turns alternate, alice first");
    const ratchetPublic = x25519Public(keys[t]);
    const step = kdfRoot(rk, x25519(keys[t], x25519Public(keys[t - 1])));
    rk = step.rootKey;
    turns.push({ ratchetPublic, rootKey: step.rootKey, chainKey: step.chainKey });
    const [from, to] = turn.from === "alice" ? [p.alice, p.bob] : [p.bob, p.alice];
    const pn = t > 2 ? p.turns[t - 3].plaintexts.length : 0;
    const prefix = t === 1 ? p.prekey : Uint8Array.of(0x11);
    const ad = sessionAd(from.identityKey, to.identityKey, from.address, to.address);
    let ck = step.chainKey;
    turn.plaintexts.forEach((plaintext, n) => {
      const { messageKey, chainKey } = kdfChain(ck);
      ck = chainKey;
      const header = ratchetHeader(ratchetPublic, pn, n);
      const { key, nonce } = messageCipherKeys(messageKey);
      const body = xchachaSeal(key, nonce, text(plaintext), cat(ad, prefix, header));
      messages.push({ turn: t, n, pn, plaintext, messageKey, wire: cat(prefix, header, body) });
    });
  });
  return { turns, messages };
}

// ----------------------------------------------------------------------------- protocol: safety numbers

/** libsignal's iteration core: h = SHA-512(version ‖ key ‖ id ‖ key), then h = SHA-512(h ‖ key), `iterations` hashes in all. */
export function fingerprintHash(key: B, id: B, iterations = 5200, version: B = new Uint8Array(2)): B {
  let h = sha512(cat(version, key, id, key));
  for (let i = 1; i < iterations; i++) h = sha512(cat(h, key));
  return h;
}
/** First 30 bytes → six 5-byte big-endian numbers mod 100,000, zero-padded. */
export function fingerprintDigits(h: B): string {
  let s = "";
  for (let i = 0; i < 30; i += 5) s += (BigInt(`0x${hex(h.subarray(i, i + 5))}`) % 100000n).toString().padStart(5, "0");
  return s;
}
export function safetyNumber(p: { ourKey: B; ourAddress: string; theirKey: B; theirAddress: string }): { ours: B; theirs: B; digits: string; qr: B } {
  const ours = fingerprintHash(p.ourKey, text(p.ourAddress));
  const theirs = fingerprintHash(p.theirKey, text(p.theirAddress));
  const [a, b] = [fingerprintDigits(ours), fingerprintDigits(theirs)];
  return { ours, theirs, digits: a < b ? a + b : b + a, qr: cat(Uint8Array.of(0x01), ours.subarray(0, 32), theirs.subarray(0, 32)) };
}

// ------------------------------------------------------------------------------- protocol: sender keys

export const SENDER_KEY_INFO = "Junction_SenderKey_MessageKeys_v1";
export const SENDER_KEY_AD = "Junction_SenderKey_AD_v1";

/** 0x21 ‖ groupId ‖ sender (varint-len UTF-8) ‖ chainId ‖ iteration ‖ chain key ‖ 0x07 ‖ signing key. */
export const senderKeyDistribution = (p: { groupId: string; sender: string; chainId: number; iteration: number; chainKey: B; signingPublic: B }): B =>
  cat(Uint8Array.of(0x21), lstr(p.groupId), lstr(p.sender), be32(p.chainId), be32(p.iteration), p.chainKey, tagged(TAG.senderSigning, p.signingPublic));

/**
 * Messages at iterations start … start + count − 1 of a chain whose key at `start` is chainKey:
 * seed = HMAC(CK, 0x01), CK' = HMAC(CK, 0x02), HKDF(seed, info, 56) → key ‖ nonce;
 * head = 0x22 ‖ chainId ‖ iteration; AD = label ‖ groupId ‖ sender ‖ head; message = head ‖ body ‖ Ed25519(AD ‖ body).
 */
export function senderKeyMessages(p: { groupId: string; sender: string; chainId: number; iteration: number; chainKey: B; signingSeed: B; plaintexts: string[] }): { iteration: number; seed: B; wire: B }[] {
  let ck = p.chainKey;
  return p.plaintexts.map((plaintext, k) => {
    const iteration = p.iteration + k;
    const seed = hmac256(ck, Uint8Array.of(1));
    ck = hmac256(ck, Uint8Array.of(2));
    const out = hkdf(seed, undefined, SENDER_KEY_INFO, 56);
    const head = cat(Uint8Array.of(0x22), be32(p.chainId), be32(iteration));
    const ad = cat(text(SENDER_KEY_AD), lstr(p.groupId), lstr(p.sender), head);
    const body = xchachaSeal(out.subarray(0, 32), out.subarray(32), text(plaintext), ad);
    return { iteration, seed, wire: cat(head, body, ed25519Sign(p.signingSeed, cat(ad, body))) };
  });
}

// -------------------------------------------------------------------------------- protocol: attachments

export const ATTACHMENT_INFO = "Junction_Attachment_v1";
export const ATTACHMENT_CHUNK = 65536;
export const ATTACHMENT_DIGEST_INFO = "Junction_Attachment_Digest_v2";

/**
 * HKDF(key, info, 64) → ChaCha20-Poly1305 key ‖ commitment; ciphertext = 0x02 ‖ u32be(65,536) ‖ commitment ‖
 * chunks, each sealed with nonce 0^7 ‖ index u32be ‖ last?1:0 and AD = header ‖ commitment. Every chunk but
 * the last is full; the last holds the rest (at least one byte unless the file is empty). Digest =
 * SHA-256(digest info ‖ u32be(chunk count) ‖ SHA-256(header ‖ commitment) ‖ SHA-256(sealed chunk 0) ‖ …).
 */
export function encryptAttachment(key: B, plaintext: B): { commitment: B; ciphertext: B; digest: B; tags: B[] } {
  const out = hkdf(key, undefined, ATTACHMENT_INFO, 64);
  const [encKey, commitment] = [out.subarray(0, 32), out.slice(32)];
  const prefix = cat(Uint8Array.of(0x02), be32(ATTACHMENT_CHUNK), commitment);
  const count = Math.max(1, Math.ceil(plaintext.length / ATTACHMENT_CHUNK));
  const chunks: B[] = [];
  for (let i = 0; i < count; i++) {
    const nonce = cat(new Uint8Array(7), be32(i), Uint8Array.of(i === count - 1 ? 1 : 0));
    chunks.push(chachaSeal(encKey, nonce, plaintext.subarray(i * ATTACHMENT_CHUNK, (i + 1) * ATTACHMENT_CHUNK), prefix));
  }
  const ciphertext = cat(prefix, ...chunks);
  const digest = sha256(cat(text(ATTACHMENT_DIGEST_INFO), be32(count), sha256(prefix), ...chunks.map((c) => sha256(c))));
  return { commitment, ciphertext, digest, tags: chunks.map((c) => c.slice(c.length - 16)) };
}
