// Pairwise sessions: X3DH/PQXDH setup feeding the Double Ratchet, the message wire format, and the
// session state the worker stores. Until the first reply the initiator's messages are prekey messages that
// carry what the responder needs (X3DH §3.3, PQXDH §3.3). Associated data binds both identity keys and
// both addresses, in sender → recipient order, so a message cannot be reflected or re-addressed.
import { type Bytes, concat, equalBytes, utf8 } from "./bytes";
import { Reader, Writer } from "./codec";
import { CryptoError } from "./errors";
import { KeyTag, type KeyPair, MLKEM768_CIPHERTEXT_BYTES, decodeKey } from "./keys";
import { type KemPrekeyRecord, type OneTimePrekeyRecord, type SignedPrekeyRecord } from "./prekeys";
import {
  HEADER_BYTES,
  type RatchetState,
  initInitiator,
  initResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  readRatchet,
  skippedKeyCount,
  writeRatchet,
} from "./ratchet";
import { type PrekeyBundle, type PrekeyHeader, agreeAsInitiator, agreeAsResponder } from "./x3dh";

/** Wire message types (high nibble: protocol version 1). */
export const MESSAGE_NORMAL = 0x11;
export const MESSAGE_PREKEY = 0x12;
const FLAG_ONETIME = 0x01;
const FLAG_KEM = 0x02;
const AD_LABEL = utf8("Junction_AD_v1");

export interface SessionState {
  readonly ourIdentityKey: Bytes;
  readonly theirIdentityKey: Bytes;
  readonly ourAddress: string;
  readonly theirAddress: string;
  readonly initiator: boolean;
  /** The initiator's ephemeral key (tagged): it names the session in later prekey messages. */
  readonly baseKey: Bytes;
  /** Present on the initiator until the first reply. */
  readonly pending?: PrekeyHeader;
  readonly ratchet: RatchetState;
}

export interface PrekeyStore {
  signedPrekey(id: number): Promise<SignedPrekeyRecord | undefined>;
  oneTimePrekey(id: number): Promise<OneTimePrekeyRecord | undefined>;
  kemPrekey(id: number): Promise<KemPrekeyRecord | undefined>;
}

function lengthPrefixed(s: string): Bytes {
  return new Writer().str(s).finish();
}

interface CachedAd {
  senderKey: Bytes;
  recipientKey: Bytes;
  ad: Bytes;
}

/**
 * The associated data of a session is the same for every message, but encoding the addresses showed up
 * in backlog profiles. It is public (identity keys and addresses), so a small cache costs no secrecy; the
 * keys (copied, so a caller wiping its own never alters an entry) are compared on every hit, so a changed
 * identity never reuses an old encoding. Callers only ever concat the result, never write into it.
 */
const AD_CACHE_MAX = 256;
const adCache = new Map<string, CachedAd>();

function associatedData(senderKey: Bytes, recipientKey: Bytes, senderAddress: string, recipientAddress: string): Bytes {
  const key = `${senderAddress}\0${recipientAddress}`;
  const hit = adCache.get(key);
  if (hit && equalBytes(hit.senderKey, senderKey) && equalBytes(hit.recipientKey, recipientKey)) return hit.ad;
  const ad = concat(AD_LABEL, senderKey, recipientKey, lengthPrefixed(senderAddress), lengthPrefixed(recipientAddress));
  if (adCache.size >= AD_CACHE_MAX) adCache.clear();
  adCache.set(key, { senderKey: senderKey.slice(), recipientKey: recipientKey.slice(), ad });
  return ad;
}

const sendingAd = (s: SessionState) => associatedData(s.ourIdentityKey, s.theirIdentityKey, s.ourAddress, s.theirAddress);
const receivingAd = (s: SessionState) => associatedData(s.theirIdentityKey, s.ourIdentityKey, s.theirAddress, s.ourAddress);

function encodePrekeyHeader(h: PrekeyHeader): Bytes {
  const flags = (h.oneTimePrekeyId !== undefined ? FLAG_ONETIME : 0) | (h.kemPrekeyId !== undefined ? FLAG_KEM : 0);
  const w = new Writer().u8(MESSAGE_PREKEY).raw(h.identityKey).raw(h.baseKey).u32(h.signedPrekeyId).u8(flags);
  if (h.oneTimePrekeyId !== undefined) w.u32(h.oneTimePrekeyId);
  if (h.kemPrekeyId !== undefined && h.kemCiphertext) w.u32(h.kemPrekeyId).raw(h.kemCiphertext);
  return w.finish();
}

interface ParsedMessage {
  /** Everything before the ratchet header: the prekey part, or just the type byte. */
  prefix: Bytes;
  prekey?: PrekeyHeader;
  header: Bytes;
  body: Bytes;
}

function parseMessage(c: Bytes): ParsedMessage {
  const r = new Reader(c, "bad_message");
  const type = r.u8();
  let prekey: PrekeyHeader | undefined;
  if (type === MESSAGE_PREKEY) {
    const identityKey = r.raw(33);
    const baseKey = r.raw(33);
    decodeKey(KeyTag.identity, identityKey);
    decodeKey(KeyTag.ratchet, baseKey);
    const signedPrekeyId = r.u32();
    const flags = r.u8();
    if (flags & ~(FLAG_ONETIME | FLAG_KEM)) throw new CryptoError("bad_message", "unknown flags");
    const oneTimePrekeyId = flags & FLAG_ONETIME ? r.u32() : undefined;
    let kemPrekeyId: number | undefined;
    let kemCiphertext: Bytes | undefined;
    if (flags & FLAG_KEM) {
      kemPrekeyId = r.u32();
      kemCiphertext = r.raw(MLKEM768_CIPHERTEXT_BYTES);
    }
    prekey = { identityKey, baseKey, signedPrekeyId, oneTimePrekeyId, kemPrekeyId, kemCiphertext };
  } else if (type !== MESSAGE_NORMAL) {
    throw new CryptoError("bad_message", "unknown message type");
  }
  const prefixLength = c.length - r.remaining;
  const header = r.raw(HEADER_BYTES);
  const body = r.rest();
  return { prefix: c.subarray(0, prefixLength), prekey, header, body };
}

export async function initiateSession(p: { ourIdentity: KeyPair; ourAddress: string; theirAddress: string; bundle: PrekeyBundle }): Promise<SessionState> {
  const { secret, header, theirSignedPrekey } = await agreeAsInitiator(p.ourIdentity, p.bundle);
  const ratchet = await initInitiator(secret, theirSignedPrekey);
  return {
    ourIdentityKey: p.ourIdentity.publicKey,
    theirIdentityKey: p.bundle.identityKey,
    ourAddress: p.ourAddress,
    theirAddress: p.theirAddress,
    initiator: true,
    baseKey: header.baseKey,
    pending: header,
    ratchet,
  };
}

export async function encrypt(state: SessionState, plaintext: Bytes): Promise<{ state: SessionState; ciphertext: Bytes }> {
  // The prekey part is bound into the AEAD's associated data, so none of its bytes can be altered.
  const prefix = state.pending ? encodePrekeyHeader(state.pending) : new Uint8Array([MESSAGE_NORMAL]);
  const out = ratchetEncrypt(state.ratchet, plaintext, concat(sendingAd(state), prefix));
  return { state: { ...state, ratchet: out.state }, ciphertext: concat(prefix, out.header, out.body) };
}

export interface DecryptResult {
  state: SessionState;
  plaintext: Bytes;
  theirIdentityKey: Bytes;
  usedOneTimePrekeyId?: number;
  newSession: boolean;
}

async function startFromPrekey(
  p: { ourIdentity: KeyPair; ourAddress: string; theirAddress: string; prekeys: PrekeyStore },
  m: ParsedMessage & { prekey: PrekeyHeader },
): Promise<DecryptResult> {
  const h = m.prekey;
  const spk = await p.prekeys.signedPrekey(h.signedPrekeyId);
  if (!spk) throw new CryptoError("unknown_prekey", "unknown signed prekey");
  const opk = h.oneTimePrekeyId !== undefined ? await p.prekeys.oneTimePrekey(h.oneTimePrekeyId) : undefined;
  if (h.oneTimePrekeyId !== undefined && !opk) throw new CryptoError("unknown_prekey", "unknown one-time prekey");
  const kem = h.kemPrekeyId !== undefined ? await p.prekeys.kemPrekey(h.kemPrekeyId) : undefined;
  if (h.kemPrekeyId !== undefined && !kem) throw new CryptoError("unknown_prekey", "unknown kem prekey");

  const spkPair = { publicKey: decodeKey(KeyTag.signedPrekey, spk.publicKey), privateKey: spk.privateKey };
  const secret = await agreeAsResponder(p.ourIdentity, h, {
    signedPrekey: spkPair,
    oneTimePrekey: opk ? { publicKey: decodeKey(KeyTag.oneTimePrekey, opk.publicKey), privateKey: opk.privateKey } : undefined,
    kemSecretKey: kem?.secretKey,
  });
  const fresh: SessionState = {
    ourIdentityKey: p.ourIdentity.publicKey,
    theirIdentityKey: h.identityKey,
    ourAddress: p.ourAddress,
    theirAddress: p.theirAddress,
    initiator: false,
    baseKey: h.baseKey,
    ratchet: initResponder(secret, spkPair),
  };
  const out = await ratchetDecrypt(fresh.ratchet, m.header, m.body, concat(receivingAd(fresh), m.prefix));
  return {
    state: { ...fresh, ratchet: out.state },
    plaintext: out.plaintext,
    theirIdentityKey: h.identityKey,
    usedOneTimePrekeyId: h.oneTimePrekeyId,
    newSession: true,
  };
}

export async function decrypt(p: {
  state?: SessionState;
  ourIdentity: KeyPair;
  ourAddress: string;
  theirAddress: string;
  ciphertext: Bytes;
  prekeys: PrekeyStore;
}): Promise<DecryptResult> {
  const m = parseMessage(p.ciphertext);
  const s = p.state;
  if (m.prekey) {
    const inSession = s !== undefined && !s.initiator && equalBytes(s.baseKey, m.prekey.baseKey);
    if (!inSession) return startFromPrekey(p, { ...m, prekey: m.prekey });
    if (!equalBytes(s.theirIdentityKey, m.prekey.identityKey)) throw new CryptoError("bad_message", "identity key mismatch");
  }
  if (!s) throw new CryptoError("no_session", "no session");
  // The addresses come from the envelope as the relay stamped it: a message re-addressed on the way fails
  // to authenticate rather than landing in this session.
  const ad = receivingAd({ ...s, ourAddress: p.ourAddress, theirAddress: p.theirAddress });
  const out = await ratchetDecrypt(s.ratchet, m.header, m.body, concat(ad, m.prefix));
  // Any authenticated message from the responder proves it holds the session: stop sending prekey messages.
  const state: SessionState = { ...s, pending: undefined, ratchet: out.state };
  return { state, plaintext: out.plaintext, theirIdentityKey: s.theirIdentityKey, newSession: false };
}

export function sessionTheirIdentityKey(state: SessionState): Bytes {
  return state.theirIdentityKey;
}

/** For tests and diagnostics: how many skipped message keys the session holds. */
export function sessionSkippedKeys(state: SessionState): number {
  return skippedKeyCount(state.ratchet);
}

// Stored form: [format 1][flags][identity keys][addresses][base key][pending?][ratchet]. A later format
// adds a number and keeps this reader, so old states stay readable.
const SESSION_FORMAT = 1;

export function serializeSession(s: SessionState): Bytes {
  const w = new Writer().u8(SESSION_FORMAT).u8(s.initiator ? 1 : 0);
  w.raw(s.ourIdentityKey).raw(s.theirIdentityKey).str(s.ourAddress).str(s.theirAddress).raw(s.baseKey);
  w.optional(s.pending, (h) => w.bytes(encodePrekeyHeader(h)));
  writeRatchet(w, s.ratchet);
  return w.finish();
}

export function deserializeSession(bytes: Bytes): SessionState {
  const r = new Reader(bytes);
  const format = r.u8();
  if (format !== SESSION_FORMAT) throw new CryptoError("bad_state", "unknown session version");
  const flags = r.u8();
  if (flags > 1) throw new CryptoError("bad_state", "invalid session flags");
  const ourIdentityKey = r.raw(33);
  const theirIdentityKey = r.raw(33);
  decodeKey(KeyTag.identity, ourIdentityKey);
  decodeKey(KeyTag.identity, theirIdentityKey);
  const ourAddress = r.str(256);
  const theirAddress = r.str(256);
  const baseKey = r.raw(33);
  decodeKey(KeyTag.ratchet, baseKey);
  const pending = r.optional(() => {
    const raw = r.bytes(4096);
    const parsed = parseMessage(concat(raw, new Uint8Array(HEADER_BYTES)));
    if (!parsed.prekey) throw new CryptoError("bad_state", "invalid pending prekey");
    return parsed.prekey;
  });
  const ratchet = readRatchet(r);
  r.end();
  return { ourIdentityKey, theirIdentityKey, ourAddress, theirAddress, initiator: flags === 1, baseKey, pending, ratchet };
}
