// Sender Keys for groups (libsignal's group cipher, as summarised in SPECS.md): per sender per group a
// chain key and an Ed25519 signing key. The distribution message travels over the pairwise sessions; every
// group message is encrypted once, signed, and fanned out. Message seed = HMAC(ck, 0x01), next chain key =
// HMAC(ck, 0x02), and the seed expands to an XChaCha20-Poly1305 key and nonce. Out-of-order delivery uses
// the same bounds as the pairwise ratchet. Rotation starts a new chain; receivers keep a few old ones.
import { ed25519 } from "@noble/curves/ed25519.js";
import { type Bytes, concat, randomBytes, utf8 } from "./bytes";
import { Reader, Writer } from "./codec";
import { CryptoError } from "./errors";
import { KeyTag, SIGNATURE_BYTES, decodeKey, encodeKey, signWith, verifyWith } from "./keys";
import { hkdfSha256, hmacSha256, xchachaOpen, xchachaSeal } from "./primitives";
import { MAX_SKIP, MAX_STORED_SKIPPED } from "./ratchet";

export const SENDER_KEY_INFO = utf8("Junction_SenderKey_MessageKeys_v1");
const AD_LABEL = utf8("Junction_SenderKey_AD_v1");
export const SENDER_KEY_DISTRIBUTION = 0x21;
export const SENDER_KEY_MESSAGE = 0x22;
/** Chains kept per sender: the newest plus older ones for messages still in flight after a rotation. */
export const MAX_SENDER_KEY_STATES = 5;

export interface SenderKeyState {
  readonly chainId: number;
  readonly iteration: number;
  readonly chainKey: Bytes;
  /** Tagged Ed25519 public key (0x07). */
  readonly signingKey: Bytes;
  /** Only in the sender's own record. */
  readonly signingPrivateKey?: Bytes;
  /** iteration → message key, oldest first. */
  readonly skipped: ReadonlyMap<number, Bytes>;
}

export interface SenderKeyRecord {
  readonly groupId: string;
  /** The sending device, e.g. `brand:handle/deviceId`: bound into every message. */
  readonly sender: string;
  /** Newest first. */
  readonly states: readonly SenderKeyState[];
}

const CK_MESSAGE = new Uint8Array([0x01]);
const CK_NEXT = new Uint8Array([0x02]);

function newChain(): SenderKeyState {
  const { secretKey, publicKey } = ed25519.keygen();
  const id = new DataView(randomBytes(4).buffer).getUint32(0) >>> 1;
  return { chainId: id, iteration: 0, chainKey: randomBytes(32), signingKey: encodeKey(KeyTag.senderSigning, publicKey), signingPrivateKey: secretKey, skipped: new Map() };
}

/** Our own sender key for a group. */
export function createSenderKey(p: { groupId: string; sender: string }): SenderKeyRecord {
  return { groupId: p.groupId, sender: p.sender, states: [newChain()] };
}

/** A new chain and signing key, e.g. after a member leaves; distribute it again to everyone who stays. */
export function rotateSenderKey(record: SenderKeyRecord): SenderKeyRecord {
  return { ...record, states: [newChain()] };
}

/** What each member receives over its pairwise session. Carries the current chain position, not its past. */
export function senderKeyDistribution(record: SenderKeyRecord): Bytes {
  const s = record.states[0];
  if (!s?.signingPrivateKey) throw new CryptoError("bad_state", "not our sender key");
  return new Writer().u8(SENDER_KEY_DISTRIBUTION).str(record.groupId).str(record.sender).u32(s.chainId).u32(s.iteration)
    .raw(s.chainKey).raw(s.signingKey).finish();
}

/**
 * Adds a chain from a distribution message. `expected` comes from the pairwise session that delivered it,
 * so a member cannot install a chain in someone else's name.
 */
export function processSenderKeyDistribution(record: SenderKeyRecord | undefined, distribution: Bytes, expected: { groupId: string; sender: string }): SenderKeyRecord {
  const r = new Reader(distribution, "bad_message");
  if (r.u8() !== SENDER_KEY_DISTRIBUTION) throw new CryptoError("bad_message", "not a sender key distribution");
  const groupId = r.str();
  const sender = r.str();
  const chainId = r.u32();
  const iteration = r.u32();
  const chainKey = r.raw(32);
  const signingKey = r.raw(33);
  r.end();
  decodeKey(KeyTag.senderSigning, signingKey);
  if (groupId !== expected.groupId || sender !== expected.sender) throw new CryptoError("bad_message", "distribution for another group or sender");
  if (record && (record.groupId !== groupId || record.sender !== sender)) throw new CryptoError("bad_state", "record for another group or sender");
  const existing = record?.states.find((s) => s.chainId === chainId);
  // A re-sent distribution for a chain we already hold must not rewind it (that would re-open used keys).
  if (existing) return record!;
  const state: SenderKeyState = { chainId, iteration, chainKey, signingKey, skipped: new Map() };
  const older = record?.states ?? [];
  return { groupId, sender, states: [state, ...older].slice(0, MAX_SENDER_KEY_STATES) };
}

function messageKeys(seed: Bytes): { key: Bytes; nonce: Bytes } {
  const out = hkdfSha256(seed, undefined, SENDER_KEY_INFO, 56);
  return { key: out.subarray(0, 32), nonce: out.subarray(32, 56) };
}

function associatedData(record: SenderKeyRecord, head: Bytes): Bytes {
  return concat(AD_LABEL, new Writer().str(record.groupId).str(record.sender).finish(), head);
}

export function groupEncrypt(record: SenderKeyRecord, plaintext: Bytes): { record: SenderKeyRecord; ciphertext: Bytes } {
  const s = record.states[0];
  if (!s?.signingPrivateKey) throw new CryptoError("bad_state", "not our sender key");
  if (s.iteration >= 0xffffffff) throw new CryptoError("bad_state", "chain exhausted");
  const seed = hmacSha256(s.chainKey, CK_MESSAGE);
  const head = new Writer().u8(SENDER_KEY_MESSAGE).u32(s.chainId).u32(s.iteration).finish();
  const { key, nonce } = messageKeys(seed);
  const ad = associatedData(record, head);
  const body = xchachaSeal(key, nonce, plaintext, ad);
  const signature = signWith(s.signingPrivateKey, concat(ad, body));
  const next: SenderKeyState = { ...s, iteration: s.iteration + 1, chainKey: hmacSha256(s.chainKey, CK_NEXT) };
  return { record: { ...record, states: [next, ...record.states.slice(1)] }, ciphertext: concat(head, body, signature) };
}

function withSkipped(existing: ReadonlyMap<number, Bytes>, added: Map<number, Bytes>, remove?: number): Map<number, Bytes> {
  const out = new Map(existing);
  if (remove !== undefined) out.delete(remove);
  for (const [k, v] of added) out.set(k, v);
  const excess = out.size - MAX_STORED_SKIPPED;
  if (excess > 0) {
    let i = 0;
    for (const k of out.keys()) {
      if (i++ >= excess) break;
      out.delete(k);
    }
  }
  return out;
}

/** Verifies the signature before anything else; returns the new record only with a plaintext. */
export function groupDecrypt(record: SenderKeyRecord, ciphertext: Bytes): { record: SenderKeyRecord; plaintext: Bytes } {
  if (ciphertext.length < 9 + 16 + SIGNATURE_BYTES || ciphertext[0] !== SENDER_KEY_MESSAGE) {
    throw new CryptoError("bad_message", "not a sender key message");
  }
  const head = ciphertext.subarray(0, 9);
  const body = ciphertext.subarray(9, ciphertext.length - SIGNATURE_BYTES);
  const signature = ciphertext.subarray(ciphertext.length - SIGNATURE_BYTES);
  const r = new Reader(head, "bad_message");
  r.u8();
  const chainId = r.u32();
  const iteration = r.u32();
  const index = record.states.findIndex((s) => s.chainId === chainId);
  if (index < 0) throw new CryptoError("no_session", "unknown sender key chain");
  const s = record.states[index];
  const ad = associatedData(record, head);
  if (!verifyWith(KeyTag.senderSigning, s.signingKey, concat(ad, body), signature)) {
    throw new CryptoError("bad_signature", "group message signature does not verify");
  }

  let next: SenderKeyState;
  let seed: Bytes;
  if (iteration < s.iteration) {
    const stored = s.skipped.get(iteration);
    if (!stored) throw new CryptoError("duplicate", "message already received");
    seed = stored;
    next = { ...s, skipped: withSkipped(s.skipped, new Map(), iteration) };
  } else {
    if (iteration - s.iteration > MAX_SKIP) throw new CryptoError("too_far", "too many skipped messages");
    const added = new Map<number, Bytes>();
    let ck = s.chainKey;
    for (let i = s.iteration; i < iteration; i++) {
      added.set(i, hmacSha256(ck, CK_MESSAGE));
      ck = hmacSha256(ck, CK_NEXT);
    }
    seed = hmacSha256(ck, CK_MESSAGE);
    next = { ...s, iteration: iteration + 1, chainKey: hmacSha256(ck, CK_NEXT), skipped: added.size ? withSkipped(s.skipped, added) : s.skipped };
  }
  const { key, nonce } = messageKeys(seed);
  const plaintext = xchachaOpen(key, nonce, body, ad);
  const states = record.states.slice();
  states[index] = next;
  return { record: { ...record, states }, plaintext };
}

const FORMAT = 1;

export function serializeSenderKey(record: SenderKeyRecord): Bytes {
  const w = new Writer().u8(FORMAT).str(record.groupId).str(record.sender).varint(record.states.length);
  for (const s of record.states) {
    w.u32(s.chainId).varint(s.iteration).raw(s.chainKey).raw(s.signingKey);
    w.optional(s.signingPrivateKey, (k) => w.raw(k));
    w.varint(s.skipped.size);
    for (const [i, k] of s.skipped) w.varint(i).raw(k);
  }
  return w.finish();
}

export function deserializeSenderKey(bytes: Bytes): SenderKeyRecord {
  const r = new Reader(bytes);
  if (r.u8() !== FORMAT) throw new CryptoError("bad_state", "unknown sender key version");
  const groupId = r.str();
  const sender = r.str();
  const count = r.varint();
  if (count > MAX_SENDER_KEY_STATES) throw new CryptoError("bad_state", "too many sender key states");
  const states: SenderKeyState[] = [];
  for (let n = 0; n < count; n++) {
    const chainId = r.u32();
    const iteration = r.varint();
    const chainKey = r.raw(32);
    const signingKey = r.raw(33);
    decodeKey(KeyTag.senderSigning, signingKey);
    const signingPrivateKey = r.optional(() => r.raw(32));
    const size = r.varint();
    if (size > MAX_STORED_SKIPPED) throw new CryptoError("bad_state", "too many skipped keys");
    const skipped = new Map<number, Bytes>();
    for (let i = 0; i < size; i++) skipped.set(r.varint(), r.raw(32));
    states.push({ chainId, iteration, chainKey, signingKey, signingPrivateKey, skipped });
  }
  r.end();
  return { groupId, sender, states };
}
