// lib/crypto objects built from a known-answer vector (lib/crypto/vectors/kat): the parties' identity key
// pairs, the responder's prekey store and the bundle the initiator fetches. Test-only.
import { fromHex } from "../bytes";
import { kemKeygen } from "../kem";
import { type KeyPair } from "../keys";
import { type KemPrekeyRecord, type OneTimePrekeyRecord, type SignedPrekeyRecord } from "../prekeys";
import { type PrekeyStore, type ReplayGuard } from "../session";
import { type PrekeyBundle } from "../x3dh";
import { type DhKeyPair } from "../x25519";
import { type PqxdhCaseExpected, type PqxdhCaseInput } from "./katBuild";

export interface KatCase { inputs: PqxdhCaseInput; expected: PqxdhCaseExpected }

export const aliceIdentity = (c: KatCase): KeyPair => ({ publicKey: fromHex(c.expected.aliceIdentityKey), privateKey: fromHex(c.inputs.alice.identitySeed) });
export const bobIdentity = (c: KatCase): KeyPair => ({ publicKey: fromHex(c.expected.bob.identityKey), privateKey: fromHex(c.inputs.bob.identitySeed) });

/** A raw X25519 key pair from the vector's private key and the reference's tagged public key. */
export const dhPair = (privateKey: string, taggedPublic: string): DhKeyPair => ({ publicKey: fromHex(taggedPublic).slice(1), privateKey: fromHex(privateKey) });

export interface KatPrekeys {
  signed: SignedPrekeyRecord;
  oneTime?: OneTimePrekeyRecord;
  kem: KemPrekeyRecord;
  kemOneTime?: KemPrekeyRecord;
  /** The KEM prekey record the vector's message encapsulated to. */
  usedKem: KemPrekeyRecord;
  /** Bob's store; `usedBaseKeys` is its replay-guard memory (filled by `remember`). */
  store: PrekeyStore;
  remember(guard: ReplayGuard): void;
}

const guardKey = (g: ReplayGuard) => `${g.signedPrekeyId}|${g.kemPrekeyId}|${Array.from(g.baseKey).join(",")}`;

function kemRecord(id: number, keygenSeed: string, publicKey: string, signature: string): KemPrekeyRecord {
  return { id, publicKey: fromHex(publicKey), secretKey: kemKeygen(fromHex(keygenSeed)).secretKey, signature: fromHex(signature), createdAt: 0 };
}

/** Bob's prekey records and store, exactly as the vector fixes them; the ML-KEM secret keys come from keygen(seed). */
export function bobPrekeys(c: KatCase): KatPrekeys {
  const { inputs: i, expected: e } = c;
  const signed: SignedPrekeyRecord = {
    id: e.bob.signedPrekey.id,
    publicKey: fromHex(e.bob.signedPrekey.publicKey),
    privateKey: fromHex(i.prekeys.signedPrekey.privateKey),
    signature: fromHex(e.bob.signedPrekey.signature),
    createdAt: 0,
  };
  const oneTime: OneTimePrekeyRecord | undefined = e.bob.oneTimePrekey && i.prekeys.oneTimePrekey && {
    id: e.bob.oneTimePrekey.id,
    publicKey: fromHex(e.bob.oneTimePrekey.publicKey),
    privateKey: fromHex(i.prekeys.oneTimePrekey.privateKey),
  };
  const kem = kemRecord(e.bob.kemPrekey.id, i.prekeys.kemPrekey.keygenSeed, e.bob.kemPrekey.publicKey, e.bob.kemPrekey.signature);
  const kemOneTime = e.bob.kemOneTimePrekey && i.prekeys.kemOneTimePrekey &&
    kemRecord(e.bob.kemOneTimePrekey.id, i.prekeys.kemOneTimePrekey.keygenSeed, e.bob.kemOneTimePrekey.publicKey, e.bob.kemOneTimePrekey.signature);
  const used = new Set<string>();
  const store: PrekeyStore = {
    signedPrekey: async (id) => (id === signed.id ? signed : undefined),
    oneTimePrekey: async (id) => (oneTime && id === oneTime.id ? oneTime : undefined),
    kemPrekey: async (id) => (id === kem.id ? kem : undefined),
    kemOneTimePrekey: async (id) => (kemOneTime && id === kemOneTime.id ? kemOneTime : undefined),
    isBaseKeyUsed: async (g) => used.has(guardKey(g)),
  };
  return { signed, oneTime, kem, kemOneTime, usedKem: kemOneTime ?? kem, store, remember: (g) => used.add(guardKey(g)) };
}

/** The bundle the relay would serve for Bob. */
export function bobBundle(c: KatCase): PrekeyBundle {
  const b = c.expected.bob;
  return {
    identityKey: fromHex(b.identityKey),
    deviceId: "device-0001",
    signedPrekey: { id: b.signedPrekey.id, publicKey: fromHex(b.signedPrekey.publicKey), signature: fromHex(b.signedPrekey.signature) },
    oneTimePrekey: b.oneTimePrekey && { id: b.oneTimePrekey.id, publicKey: fromHex(b.oneTimePrekey.publicKey) },
    kemPrekey: { id: b.kemPrekey.id, publicKey: fromHex(b.kemPrekey.publicKey), signature: fromHex(b.kemPrekey.signature) },
    kemOneTimePrekey: b.kemOneTimePrekey && { id: b.kemOneTimePrekey.id, publicKey: fromHex(b.kemOneTimePrekey.publicKey), signature: fromHex(b.kemOneTimePrekey.signature) },
  };
}
