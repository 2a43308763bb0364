// Pairwise sessions: X3DH/PQXDH setup feeding the Double Ratchet, the message wire format, and the
// session state the worker stores. Until the first reply the initiator's messages are prekey messages that
// carry what the responder needs (X3DH §3.3, PQXDH §3.3). Associated data binds both identity keys and
// both addresses, in sender → recipient order, so a message cannot be reflected or re-addressed.
//
// Sessions per peer device are kept as a record (Sesame §3, libsignal's SessionRecord): the current state
// and up to 40 archived ones, newest first. A message opens in the current state or in an archived one,
// which is then promoted; so two people who start sessions with each other at the same moment, or a
// peer that re-initiated after losing its state, heal without anyone doing anything.
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
const FLAG_KEM_ONETIME = 0x04;
/** Archived states kept per peer device (libsignal keeps 40). */
export const MAX_ARCHIVED_SESSIONS = 40;
/** A session we started and never heard back on is replaced after this long (the peer may have lost it). */
export const UNANSWERED_SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;
const AD_LABEL = utf8("Junction_AD_v1");

export interface SessionState {
  readonly ourIdentityKey: Bytes;
  readonly theirIdentityKey: Bytes;
  readonly ourAddress: string;
  readonly theirAddress: string;
  readonly initiator: boolean;
  /** Set up with PQXDH. Only states read from the first stored format can lack it; they are replaced on send. */
  readonly postQuantum: boolean;
  /** When the session was set up (ms); with `pending`, how long it has gone unanswered. */
  readonly createdAt: number;
  /** The initiator's ephemeral key (tagged): it names the session in later prekey messages. */
  readonly baseKey: Bytes;
  /** Present on the initiator until the first reply. */
  readonly pending?: PrekeyHeader;
  readonly ratchet: RatchetState;
}

export interface PrekeyStore {
  signedPrekey(id: number): Promise<SignedPrekeyRecord | undefined>;
  oneTimePrekey(id: number): Promise<OneTimePrekeyRecord | undefined>;
  /** The signed last-resort ML-KEM prekey. */
  kemPrekey(id: number): Promise<KemPrekeyRecord | undefined>;
  kemOneTimePrekey(id: number): Promise<KemPrekeyRecord | undefined>;
  /**
   * Whether a prekey message with this base key already started a session on these last-resort prekeys.
   * The caller remembers `replayGuard` from a result (until those prekeys are rotated out), so a recorded
   * first message cannot start a second session once the first has moved on.
   */
  isBaseKeyUsed(guard: ReplayGuard): Promise<boolean>;
}

/** Names a session start that used no one-time prekey: replayable unless remembered. */
export interface ReplayGuard {
  signedPrekeyId: number;
  kemPrekeyId: number;
  baseKey: Bytes;
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

/**
 * A session's associated data joined with a message's prefix. Every message of a session carries the same
 * prekey part (about 1.2 kB with the KEM ciphertext) until the peer answers, so a backlog joined the same
 * bytes once per message, each time a fresh buffer outside the JavaScript heap. The last join is kept; a hit
 * needs the same associated data (the cache above hands out one array per session) and a prefix equal byte
 * for byte (copied, so the caller's buffer may change). Public bytes only; callers never write into it.
 */
let lastJoin: { ad: Bytes; prefix: Bytes; joined: Bytes } | undefined;

function joinPrefix(ad: Bytes, prefix: Bytes): Bytes {
  const hit = lastJoin;
  if (hit && hit.ad === ad && equalBytes(hit.prefix, prefix)) return hit.joined;
  const joined = concat(ad, prefix);
  lastJoin = { ad, prefix: prefix.slice(), joined };
  return joined;
}

const sendingAd = (s: SessionState) => associatedData(s.ourIdentityKey, s.theirIdentityKey, s.ourAddress, s.theirAddress);
const receivingAd = (s: SessionState) => associatedData(s.theirIdentityKey, s.ourIdentityKey, s.theirAddress, s.ourAddress);

function encodePrekeyHeader(h: PrekeyHeader): Bytes {
  const flags =
    (h.oneTimePrekeyId !== undefined ? FLAG_ONETIME : 0) |
    (h.kemPrekeyId !== undefined ? FLAG_KEM : 0) |
    (h.kemPrekeyId !== undefined && h.kemOneTime ? FLAG_KEM_ONETIME : 0);
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

/** `legacy` reads prekey parts without a KEM part, as stored by the first session format; never from the wire. */
function parseMessage(c: Bytes, legacy = false): ParsedMessage {
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
    if (flags & ~(FLAG_ONETIME | FLAG_KEM | FLAG_KEM_ONETIME)) throw new CryptoError("bad_message", "unknown flags");
    if (!(flags & FLAG_KEM) && !legacy) throw new CryptoError("downgrade", "prekey message without post-quantum part");
    if (flags & FLAG_KEM_ONETIME && !(flags & FLAG_KEM)) throw new CryptoError("bad_message", "unknown flags");
    const oneTimePrekeyId = flags & FLAG_ONETIME ? r.u32() : undefined;
    let kemPrekeyId: number | undefined;
    let kemCiphertext: Bytes | undefined;
    if (flags & FLAG_KEM) {
      kemPrekeyId = r.u32();
      kemCiphertext = r.raw(MLKEM768_CIPHERTEXT_BYTES);
    }
    const kemOneTime = flags & FLAG_KEM_ONETIME ? true : undefined;
    prekey = { identityKey, baseKey, signedPrekeyId, oneTimePrekeyId, kemPrekeyId, kemOneTime, kemCiphertext };
  } else if (type !== MESSAGE_NORMAL) {
    throw new CryptoError("bad_message", "unknown message type");
  }
  const prefixLength = c.length - r.remaining;
  const header = r.raw(HEADER_BYTES);
  const body = r.rest();
  return { prefix: c.subarray(0, prefixLength), prekey, header, body };
}

export async function initiateSession(p: {
  ourIdentity: KeyPair;
  ourAddress: string;
  theirAddress: string;
  bundle: PrekeyBundle;
  now?: number;
}): Promise<SessionState> {
  const { secret, header, theirSignedPrekey } = await agreeAsInitiator(p.ourIdentity, p.bundle);
  const ratchet = await initInitiator(secret, theirSignedPrekey);
  return {
    ourIdentityKey: p.ourIdentity.publicKey,
    theirIdentityKey: p.bundle.identityKey,
    ourAddress: p.ourAddress,
    theirAddress: p.theirAddress,
    initiator: true,
    postQuantum: true,
    createdAt: p.now ?? Date.now(),
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
  usedKemOneTimePrekeyId?: number;
  newSession: boolean;
  /** Set when a new session started on last-resort prekeys only: remember it (PrekeyStore.isBaseKeyUsed). */
  replayGuard?: ReplayGuard;
}

/** The sessions with one peer device: the one we send on, and older ones still good for receiving. */
export interface SessionRecord {
  readonly current?: SessionState;
  /** Newest first, at most MAX_ARCHIVED_SESSIONS. */
  readonly archived: readonly SessionState[];
}

export interface RecordDecryptResult extends DecryptResult {
  record: SessionRecord;
  /** Where the message opened: the current state, an archived one (now promoted to current), or a new session. */
  openedIn: "current" | "archived" | "new";
}

interface DecryptParams {
  ourIdentity: KeyPair;
  ourAddress: string;
  theirAddress: string;
  ciphertext: Bytes;
  prekeys: PrekeyStore;
  now?: number;
}

async function startFromPrekey(p: DecryptParams, m: ParsedMessage & { prekey: PrekeyHeader }): Promise<DecryptResult> {
  const h = m.prekey;
  if (h.kemPrekeyId === undefined || !h.kemCiphertext) throw new CryptoError("downgrade", "prekey message without post-quantum part");
  const usesOneTime = h.oneTimePrekeyId !== undefined || h.kemOneTime === true;
  const replayGuard = usesOneTime ? undefined : { signedPrekeyId: h.signedPrekeyId, kemPrekeyId: h.kemPrekeyId, baseKey: h.baseKey };
  // With a one-time key, a replay fails by itself (its private half is deleted once used); without one,
  // only the memory of base keys already seen stops a recorded first message from starting a session again.
  if (replayGuard && (await p.prekeys.isBaseKeyUsed(replayGuard))) throw new CryptoError("duplicate", "prekey message replayed");
  const spk = await p.prekeys.signedPrekey(h.signedPrekeyId);
  if (!spk) throw new CryptoError("unknown_prekey", "unknown signed prekey");
  const opk = h.oneTimePrekeyId !== undefined ? await p.prekeys.oneTimePrekey(h.oneTimePrekeyId) : undefined;
  if (h.oneTimePrekeyId !== undefined && !opk) throw new CryptoError("unknown_prekey", "unknown one-time prekey");
  const kem = h.kemOneTime ? await p.prekeys.kemOneTimePrekey(h.kemPrekeyId) : await p.prekeys.kemPrekey(h.kemPrekeyId);
  if (!kem) throw new CryptoError("unknown_prekey", "unknown kem prekey");

  const spkPair = { publicKey: decodeKey(KeyTag.signedPrekey, spk.publicKey), privateKey: spk.privateKey };
  const secret = await agreeAsResponder(p.ourIdentity, h, {
    signedPrekey: spkPair,
    oneTimePrekey: opk ? { publicKey: decodeKey(KeyTag.oneTimePrekey, opk.publicKey), privateKey: opk.privateKey } : undefined,
    kemSecretKey: kem.secretKey,
  });
  const fresh: SessionState = {
    ourIdentityKey: p.ourIdentity.publicKey,
    theirIdentityKey: h.identityKey,
    ourAddress: p.ourAddress,
    theirAddress: p.theirAddress,
    initiator: false,
    postQuantum: true,
    createdAt: p.now ?? Date.now(),
    baseKey: h.baseKey,
    ratchet: initResponder(secret, spkPair),
  };
  const out = await ratchetDecrypt(fresh.ratchet, m.header, m.body, concat(receivingAd(fresh), m.prefix));
  return {
    state: { ...fresh, ratchet: out.state },
    plaintext: out.plaintext,
    theirIdentityKey: h.identityKey,
    usedOneTimePrekeyId: h.oneTimePrekeyId,
    usedKemOneTimePrekeyId: h.kemOneTime ? h.kemPrekeyId : undefined,
    newSession: true,
    replayGuard,
  };
}

/** Decrypts in one existing state; throws without changing anything when the message does not open. */
async function openIn(s: SessionState, m: ParsedMessage, p: DecryptParams): Promise<DecryptResult> {
  if (m.prekey && !equalBytes(s.theirIdentityKey, m.prekey.identityKey)) throw new CryptoError("bad_message", "identity key mismatch");
  // The addresses come from the envelope as the relay stamped it: a message re-addressed on the way fails
  // to authenticate rather than landing in this session.
  const ad = receivingAd({ ...s, ourAddress: p.ourAddress, theirAddress: p.theirAddress });
  const out = await ratchetDecrypt(s.ratchet, m.header, m.body, joinPrefix(ad, m.prefix));
  // Any authenticated message from the responder proves it holds the session: stop sending prekey messages.
  const state: SessionState = { ...s, pending: undefined, ratchet: out.state };
  return { state, plaintext: out.plaintext, theirIdentityKey: s.theirIdentityKey, newSession: false };
}

function statesOf(record: SessionRecord): SessionState[] {
  return record.current ? [record.current, ...record.archived] : [...record.archived];
}

/** The record with `state` as current and every other state archived, newest first, within the bound. */
function withCurrent(states: readonly SessionState[], state: SessionState): SessionRecord {
  return { current: state, archived: states.slice(0, MAX_ARCHIVED_SESSIONS) };
}

/**
 * Decrypts with a session record. A prekey message goes to the state its base key names (current or
 * archived), or starts a new session that becomes current while the old current is archived. A normal
 * message is tried in the current state, then in the archived ones; the state that opens it is promoted,
 * so the next message is sent in the session the peer is using. A failure changes nothing.
 */
export async function decryptRecord(p: DecryptParams & { record: SessionRecord }): Promise<RecordDecryptResult> {
  const m = parseMessage(p.ciphertext);
  const states = statesOf(p.record);
  const hasCurrent = p.record.current !== undefined;
  const promote = (i: number, r: DecryptResult): RecordDecryptResult => ({
    ...r,
    record: withCurrent(states.filter((_, j) => j !== i), r.state),
    openedIn: i === 0 && hasCurrent ? "current" : "archived",
  });

  if (m.prekey) {
    const baseKey = m.prekey.baseKey;
    const i = states.findIndex((s) => !s.initiator && equalBytes(s.baseKey, baseKey));
    if (i >= 0) return promote(i, await openIn(states[i], m, p));
    const r = await startFromPrekey(p, { ...m, prekey: m.prekey });
    return { ...r, record: withCurrent(states, r.state), openedIn: "new" };
  }
  if (states.length === 0) throw new CryptoError("no_session", "no session");
  let failure: unknown;
  for (let i = 0; i < states.length; i++) {
    try {
      return promote(i, await openIn(states[i], m, p));
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      // the header names a chain this state has already received on: it is this state's duplicate
      if (error.code === "duplicate") throw error;
      failure ??= error;
    }
  }
  throw failure;
}

/** Decrypts with a single state (no archive): the record API with an empty archive. */
export function decrypt(p: DecryptParams & { state?: SessionState }): Promise<DecryptResult> {
  return decryptRecord({ ...p, record: { current: p.state, archived: [] } });
}

/**
 * Whether a state should no longer carry new messages: set up without the post-quantum part (read from the
 * first stored format), or started by us and never answered for UNANSWERED_SESSION_TTL_MS. The caller
 * archives it and starts a fresh session from a new bundle.
 */
export function sessionNeedsReplacing(state: SessionState, now: number): boolean {
  if (!state.postQuantum) return true;
  return state.pending !== undefined && now - state.createdAt > UNANSWERED_SESSION_TTL_MS;
}

/** The record after `state` replaces the current one, which is archived. */
export function archiveCurrent(record: SessionRecord, state?: SessionState): SessionRecord {
  const states = statesOf(record);
  return state ? withCurrent(states, state) : { current: undefined, archived: states.slice(0, MAX_ARCHIVED_SESSIONS) };
}

export function sessionTheirIdentityKey(state: SessionState): Bytes {
  return state.theirIdentityKey;
}

export function sessionIsPostQuantum(state: SessionState): boolean {
  return state.postQuantum;
}

/** For tests and diagnostics: how many skipped message keys the session holds. */
export function sessionSkippedKeys(state: SessionState): number {
  return skippedKeyCount(state.ratchet);
}

// Stored form: [format][flags: 1 initiator, 2 post-quantum][created at (format 2)][identity keys][addresses]
// [base key][pending?][ratchet]. Format 1 states (no flags beyond initiator, no creation time) stay readable:
// they count as not post-quantum, so the next send replaces them with a PQXDH session.
const SESSION_FORMAT = 2;
const FLAG_INITIATOR = 1;
const FLAG_PQ = 2;

export function serializeSession(s: SessionState): Bytes {
  const w = new Writer().u8(SESSION_FORMAT).u8((s.initiator ? FLAG_INITIATOR : 0) | (s.postQuantum ? FLAG_PQ : 0));
  w.varint(s.createdAt);
  w.raw(s.ourIdentityKey).raw(s.theirIdentityKey).str(s.ourAddress).str(s.theirAddress).raw(s.baseKey);
  w.optional(s.pending, (h) => w.bytes(encodePrekeyHeader(h)));
  writeRatchet(w, s.ratchet);
  return w.finish();
}

function readSession(r: Reader): SessionState {
  const format = r.u8();
  if (format !== 1 && format !== SESSION_FORMAT) throw new CryptoError("bad_state", "unknown session version");
  const flags = r.u8();
  if (flags > (format === 1 ? FLAG_INITIATOR : FLAG_INITIATOR | FLAG_PQ)) throw new CryptoError("bad_state", "invalid session flags");
  const createdAt = format === 1 ? 0 : r.varint();
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
    const parsed = parseMessage(concat(raw, new Uint8Array(HEADER_BYTES)), format === 1);
    if (!parsed.prekey) throw new CryptoError("bad_state", "invalid pending prekey");
    return parsed.prekey;
  });
  const ratchet = readRatchet(r);
  return {
    ourIdentityKey,
    theirIdentityKey,
    ourAddress,
    theirAddress,
    initiator: (flags & FLAG_INITIATOR) !== 0,
    postQuantum: (flags & FLAG_PQ) !== 0,
    createdAt,
    baseKey,
    pending,
    ratchet,
  };
}

export function deserializeSession(bytes: Bytes): SessionState {
  const r = new Reader(bytes);
  const state = readSession(r);
  r.end();
  return state;
}

// Archived states: [format 1][count][length-prefixed session]…, newest first.
const ARCHIVE_FORMAT = 1;

export function serializeArchive(states: readonly SessionState[]): Bytes {
  const w = new Writer().u8(ARCHIVE_FORMAT).varint(states.length);
  for (const s of states.slice(0, MAX_ARCHIVED_SESSIONS)) w.bytes(serializeSession(s));
  return w.finish();
}

export function deserializeArchive(bytes: Bytes): SessionState[] {
  const r = new Reader(bytes);
  if (r.u8() !== ARCHIVE_FORMAT) throw new CryptoError("bad_state", "unknown archive version");
  const count = r.varint();
  if (count > MAX_ARCHIVED_SESSIONS) throw new CryptoError("bad_state", "too many archived sessions");
  const out: SessionState[] = [];
  for (let i = 0; i < count; i++) out.push(deserializeSession(r.bytes(1 << 20)));
  r.end();
  return out;
}
