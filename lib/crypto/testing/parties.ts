// Test fixtures: a device with its prekeys in memory and a bundle as the directory would serve it.
// Used by the tests and the benchmark only; nothing here is mocked, it is the real key material.
import { type KeyPair, generateIdentityKeyPair } from "../keys";
import {
  type KemPrekeyRecord,
  type OneTimePrekeyRecord,
  type SignedPrekeyRecord,
  generateKemPrekey,
  generateOneTimePrekeys,
  generateSignedPrekey,
} from "../prekeys";
import { type PrekeyStore, type ReplayGuard } from "../session";
import { type PrekeyBundle } from "../x3dh";

export interface Device {
  address: string;
  identity: KeyPair;
  signed: SignedPrekeyRecord;
  oneTime: Map<number, OneTimePrekeyRecord>;
  kem?: KemPrekeyRecord;
  kemOneTime: Map<number, KemPrekeyRecord>;
  /** Base keys remembered by the replay guard, as the engine stores them after a commit. */
  usedBaseKeys: Set<string>;
  store: PrekeyStore;
}

export function replayGuardKey(g: ReplayGuard): string {
  return `${g.signedPrekeyId}|${g.kemPrekeyId}|${Array.from(g.baseKey).join(",")}`;
}

export async function makeDevice(address: string, opts: { kem?: boolean; oneTime?: number; kemOneTime?: number } = {}): Promise<Device> {
  const identity = generateIdentityKeyPair();
  const signed = await generateSignedPrekey(identity, 1);
  const oneTime = new Map((await generateOneTimePrekeys(100, opts.oneTime ?? 3)).map((r) => [r.id, r]));
  const kem = opts.kem === false ? undefined : generateKemPrekey(identity, 7);
  const kemOneTime = new Map<number, KemPrekeyRecord>();
  for (let i = 0; i < (opts.kemOneTime ?? 0); i++) kemOneTime.set(200 + i, generateKemPrekey(identity, 200 + i));
  const usedBaseKeys = new Set<string>();
  const store: PrekeyStore = {
    signedPrekey: async (id) => (id === signed.id ? signed : undefined),
    oneTimePrekey: async (id) => oneTime.get(id),
    kemPrekey: async (id) => (kem && id === kem.id ? kem : undefined),
    kemOneTimePrekey: async (id) => kemOneTime.get(id),
    isBaseKeyUsed: async (g) => usedBaseKeys.has(replayGuardKey(g)),
  };
  return { address, identity, signed, oneTime, kem, kemOneTime, usedBaseKeys, store };
}

/** Hands out a bundle as the relay would, consuming one one-time prekey if any is left. */
export function bundleOf(d: Device, opts: { oneTime?: boolean; kem?: boolean; kemOneTime?: boolean } = {}): PrekeyBundle {
  const first = opts.oneTime === false ? undefined : d.oneTime.values().next().value;
  const firstKem = opts.kemOneTime === false || opts.kem === false ? undefined : d.kemOneTime.values().next().value;
  return {
    identityKey: d.identity.publicKey,
    deviceId: "device-0001",
    signedPrekey: { id: d.signed.id, publicKey: d.signed.publicKey, signature: d.signed.signature },
    oneTimePrekey: first ? { id: first.id, publicKey: first.publicKey } : undefined,
    kemPrekey: d.kem && opts.kem !== false ? { id: d.kem.id, publicKey: d.kem.publicKey, signature: d.kem.signature } : undefined,
    kemOneTimePrekey: firstKem ? { id: firstKem.id, publicKey: firstKem.publicKey, signature: firstKem.signature } : undefined,
  };
}
