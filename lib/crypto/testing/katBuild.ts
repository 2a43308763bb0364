// The known-answer vectors of lib/crypto/vectors/kat as functions of their inputs, on the independent
// reference (nodeReference.ts) only. scripts/make-kat-vectors.ts writes { inputs, expected = build(inputs) };
// lib/crypto/kat.test.ts recomputes build(inputs) and requires the committed `expected`, then runs lib/crypto
// on the same bytes. All byte strings are lower-case hex. Inputs are seeds and private keys; ML-KEM-768 (which
// Node lacks) enters only as fixed public key, ciphertext and shared secret, made once by the generator.
import * as R from "./nodeReference";

type Hex = string;

// ------------------------------------------------------------------------------------------- shared

/** An ML-KEM-768 prekey: ml_kem768.keygen(keygenSeed) (d ‖ z, 64 bytes) gives publicKey (raw, 1,184 bytes). */
export interface KemKeyInput { id: number; keygenSeed: Hex; publicKey: Hex }

/** ml_kem768.encapsulate(publicKey, randomness) to the KEM prekey the message uses. */
export interface EncapsulationInput { randomness: Hex; ciphertext: Hex; sharedSecret: Hex }

export interface PartyInput { identitySeed: Hex; address: string }

export interface PrekeysInput {
  signedPrekey: { id: number; privateKey: Hex };
  oneTimePrekey?: { id: number; privateKey: Hex };
  /** The signed last-resort ML-KEM prekey, always in the bundle. */
  kemPrekey: KemKeyInput;
  /** A signed one-time ML-KEM prekey: when present, the one the initiator encapsulates to (flag 0x04). */
  kemOneTimePrekey?: KemKeyInput;
  encapsulation: EncapsulationInput;
}

export interface PublicPrekeys {
  identityKey: Hex;
  signedPrekey: { id: number; publicKey: Hex; signature: Hex };
  oneTimePrekey?: { id: number; publicKey: Hex };
  kemPrekey: { id: number; publicKey: Hex; signature: Hex };
  kemOneTimePrekey?: { id: number; publicKey: Hex; signature: Hex };
}

const H = R.hex;
const U = R.unhex;
const identityKey = (seed: Hex) => R.tagged(R.TAG.identity, R.ed25519Public(U(seed)));

/** The KEM prekey a message with these prekeys encapsulates to. */
export const usedKemPrekey = (k: PrekeysInput): KemKeyInput => k.kemOneTimePrekey ?? k.kemPrekey;

/** Tagged public keys and the identity key's signatures over them (Ed25519 is deterministic). */
function publicPrekeys(bobSeed: Hex, k: PrekeysInput): PublicPrekeys {
  const seed = U(bobSeed);
  const spk = R.tagged(R.TAG.signedPrekey, R.x25519Public(U(k.signedPrekey.privateKey)));
  const signedKem = (p: KemKeyInput) => {
    const key = R.tagged(R.TAG.kemPrekey, U(p.publicKey));
    return { id: p.id, publicKey: H(key), signature: H(R.ed25519Sign(seed, key)) };
  };
  return {
    identityKey: H(identityKey(bobSeed)),
    signedPrekey: { id: k.signedPrekey.id, publicKey: H(spk), signature: H(R.ed25519Sign(seed, spk)) },
    oneTimePrekey: k.oneTimePrekey && { id: k.oneTimePrekey.id, publicKey: H(R.tagged(R.TAG.oneTimePrekey, R.x25519Public(U(k.oneTimePrekey.privateKey)))) },
    kemPrekey: signedKem(k.kemPrekey),
    kemOneTimePrekey: k.kemOneTimePrekey && signedKem(k.kemOneTimePrekey),
  };
}

// --------------------------------------------------------------------------------------------- PQXDH

export interface PqxdhCaseInput { name: string; alice: PartyInput; bob: PartyInput; prekeys: PrekeysInput; baseKeyPrivate: Hex }
export interface PqxdhCaseExpected {
  aliceIdentityKey: Hex;
  bob: PublicPrekeys;
  /** The prekey header as the responder receives it. */
  header: { identityKey: Hex; baseKey: Hex; signedPrekeyId: number; oneTimePrekeyId?: number; kemPrekeyId: number; kemOneTime: boolean; kemCiphertext: Hex };
  dh: Hex[];
  secret: Hex;
}

export function buildPqxdh(i: PqxdhCaseInput): PqxdhCaseExpected {
  const out = R.pqxdh({
    aliceIdentitySeed: U(i.alice.identitySeed),
    bobIdentitySeed: U(i.bob.identitySeed),
    signedPrekeyPrivate: U(i.prekeys.signedPrekey.privateKey),
    oneTimePrekeyPrivate: i.prekeys.oneTimePrekey && U(i.prekeys.oneTimePrekey.privateKey),
    baseKeyPrivate: U(i.baseKeyPrivate),
    kemSharedSecret: U(i.prekeys.encapsulation.sharedSecret),
  });
  return {
    aliceIdentityKey: H(identityKey(i.alice.identitySeed)),
    bob: publicPrekeys(i.bob.identitySeed, i.prekeys),
    header: {
      identityKey: H(identityKey(i.alice.identitySeed)),
      baseKey: H(R.tagged(R.TAG.ratchet, R.x25519Public(U(i.baseKeyPrivate)))),
      signedPrekeyId: i.prekeys.signedPrekey.id,
      oneTimePrekeyId: i.prekeys.oneTimePrekey?.id,
      kemPrekeyId: usedKemPrekey(i.prekeys).id,
      kemOneTime: i.prekeys.kemOneTimePrekey !== undefined,
      kemCiphertext: i.prekeys.encapsulation.ciphertext,
    },
    dh: out.dh.map(H),
    secret: H(out.secret),
  };
}

// ------------------------------------------------------------------------------------------- session

export interface SessionCaseInput extends PqxdhCaseInput {
  turns: { from: "alice" | "bob"; ratchetPrivate: Hex; plaintexts: string[] }[];
}
export interface SessionCaseExpected extends PqxdhCaseExpected {
  prekeyPrefix: Hex;
  turns: { ratchetPublic: Hex; rootKey: Hex; chainKey: Hex }[];
  messages: { turn: number; n: number; pn: number; plaintext: string; messageKey: Hex; wire: Hex }[];
}

export function buildSession(i: SessionCaseInput): SessionCaseExpected {
  const agreed = buildPqxdh(i);
  const h = agreed.header;
  const prefix = R.prekeyPrefix({
    identityKey: U(h.identityKey),
    baseKey: U(h.baseKey),
    signedPrekeyId: h.signedPrekeyId,
    oneTimePrekeyId: h.oneTimePrekeyId,
    kemPrekeyId: h.kemPrekeyId,
    kemCiphertext: U(h.kemCiphertext),
    kemOneTime: h.kemOneTime,
  });
  const conv = R.conversation({
    secret: U(agreed.secret),
    signedPrekeyPrivate: U(i.prekeys.signedPrekey.privateKey),
    alice: { identityKey: U(agreed.aliceIdentityKey), address: i.alice.address },
    bob: { identityKey: U(agreed.bob.identityKey), address: i.bob.address },
    prekey: prefix,
    turns: i.turns.map((t) => ({ from: t.from, ratchetPrivate: U(t.ratchetPrivate), plaintexts: t.plaintexts })),
  });
  return {
    ...agreed,
    prekeyPrefix: H(prefix),
    turns: conv.turns.map((t) => ({ ratchetPublic: H(t.ratchetPublic), rootKey: H(t.rootKey), chainKey: H(t.chainKey) })),
    messages: conv.messages.map((m) => ({ turn: m.turn, n: m.n, pn: m.pn, plaintext: m.plaintext, messageKey: H(m.messageKey), wire: H(m.wire) })),
  };
}

// ------------------------------------------------------------------------------------- safety numbers

export interface SafetyInput { alice: PartyInput; bob: PartyInput }
export interface SafetyExpected { aliceIdentityKey: Hex; bobIdentityKey: Hex; aliceHash: Hex; bobHash: Hex; digits: string; aliceQr: Hex; bobQr: Hex }

export function buildSafety(i: SafetyInput): SafetyExpected {
  const [a, b] = [identityKey(i.alice.identitySeed), identityKey(i.bob.identitySeed)];
  const fromAlice = R.safetyNumber({ ourKey: a, ourAddress: i.alice.address, theirKey: b, theirAddress: i.bob.address });
  const fromBob = R.safetyNumber({ ourKey: b, ourAddress: i.bob.address, theirKey: a, theirAddress: i.alice.address });
  if (fromAlice.digits !== fromBob.digits) throw new Error("safety numbers differ by side");
  return { aliceIdentityKey: H(a), bobIdentityKey: H(b), aliceHash: H(fromAlice.ours), bobHash: H(fromAlice.theirs), digits: fromAlice.digits, aliceQr: H(fromAlice.qr), bobQr: H(fromBob.qr) };
}

/** libsignal's fingerprint_test_v1 inputs: Curve25519 identity keys (type 0x05) and stable ids as bytes. */
export interface LibsignalFingerprintInput { aliceIdentity: Hex; bobIdentity: Hex; aliceStableId: string; bobStableId: string; iterations: number; version: number }
export interface LibsignalFingerprintExpected { displayable: string; aliceScannable: Hex; bobScannable: Hex }

/** CombinedFingerprints protobuf: 08 version, 12 {0a 20 local}, 1a {0a 20 remote} (fixed layout for one-byte version). */
const scannable = (version: number, local: Uint8Array, remote: Uint8Array) =>
  R.cat(Uint8Array.of(0x08, version, 0x12, 0x22, 0x0a, 0x20), local.subarray(0, 32), Uint8Array.of(0x1a, 0x22, 0x0a, 0x20), remote.subarray(0, 32));

export function buildLibsignalFingerprint(i: LibsignalFingerprintInput): LibsignalFingerprintExpected {
  const a = R.fingerprintHash(U(i.aliceIdentity), R.text(i.aliceStableId), i.iterations);
  const b = R.fingerprintHash(U(i.bobIdentity), R.text(i.bobStableId), i.iterations);
  const [da, db] = [R.fingerprintDigits(a), R.fingerprintDigits(b)];
  return { displayable: da < db ? da + db : db + da, aliceScannable: H(scannable(i.version, a, b)), bobScannable: H(scannable(i.version, b, a)) };
}

// ---------------------------------------------------------------------------------------- sender keys

export interface SenderKeyInput { groupId: string; sender: string; chainId: number; iteration: number; chainKey: Hex; signingSeed: Hex; plaintexts: string[] }
export interface SenderKeyExpected { signingKey: Hex; distribution: Hex; messages: { iteration: number; plaintext: string; seed: Hex; wire: Hex }[] }

export function buildSenderKey(i: SenderKeyInput): SenderKeyExpected {
  const signingPublic = R.ed25519Public(U(i.signingSeed));
  const base = { groupId: i.groupId, sender: i.sender, chainId: i.chainId, iteration: i.iteration, chainKey: U(i.chainKey) };
  const messages = R.senderKeyMessages({ ...base, signingSeed: U(i.signingSeed), plaintexts: i.plaintexts });
  return {
    signingKey: H(R.tagged(R.TAG.senderSigning, signingPublic)),
    distribution: H(R.senderKeyDistribution({ ...base, signingPublic })),
    messages: messages.map((m, k) => ({ iteration: m.iteration, plaintext: i.plaintexts[k], seed: H(m.seed), wire: H(m.wire) })),
  };
}

// ---------------------------------------------------------------------------------------- attachments

export interface AttachmentInput { name: string; key: Hex; plaintextLabel: string; plaintextLength: number }
export interface AttachmentExpected { commitment: Hex; digest: Hex; plaintextSha256: Hex; ciphertextLength: number; prefix: Hex; chunkTags: Hex[] }

/** The plaintext of an attachment vector: SHA-256(label ‖ u32be(i)) blocks (see R.detBytes). */
export const attachmentPlaintext = (i: AttachmentInput) => R.detBytes(i.plaintextLabel, i.plaintextLength);

/** The JSON pins the ciphertext by its digest (SHA-256 of every byte) rather than holding 150 KB of hex. */
export function buildAttachment(i: AttachmentInput): AttachmentExpected & { ciphertext: Uint8Array } {
  const plaintext = attachmentPlaintext(i);
  const out = R.encryptAttachment(U(i.key), plaintext);
  return {
    commitment: H(out.commitment),
    digest: H(out.digest),
    plaintextSha256: H(R.sha256(plaintext)),
    ciphertextLength: out.ciphertext.length,
    prefix: H(out.ciphertext.subarray(0, 37)),
    chunkTags: out.tags.map(H),
    ciphertext: out.ciphertext,
  };
}

// ------------------------------------------------------------------------------------------ the files

export interface VectorFile<I, E> { description: string; cases: { inputs: I; expected: E }[] }
export type PqxdhFile = VectorFile<PqxdhCaseInput, PqxdhCaseExpected>;
export type SessionFile = VectorFile<SessionCaseInput, SessionCaseExpected>;
export interface SafetyFile {
  description: string;
  junction: { inputs: SafetyInput; expected: SafetyExpected };
  libsignal: { source: string; inputs: LibsignalFingerprintInput; published: LibsignalFingerprintExpected };
}
export type SenderKeyFile = VectorFile<SenderKeyInput, SenderKeyExpected>;
export type AttachmentFile = VectorFile<AttachmentInput, AttachmentExpected>;
