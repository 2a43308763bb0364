// The storage contract as one suite over a store factory: every adapter (SQLite now, Postgres later)
// runs exactly this. `reopen` (optional) opens the same database again, to prove durability.
import { afterEach, describe, expect, it } from "vitest";
import type { Address } from "../../brands";
import type { AccountRegistration, EnvelopeRecord, PrekeyCaps, RelayStore, StoredSignedPrekey } from "../storage/types";

export interface StoreFactory {
  name: string;
  open(): Promise<{ store: RelayStore; reopen?: () => Promise<RelayStore> }>;
}

let seq = 0;
const next = () => `${Date.now().toString(36)}${(++seq).toString(36)}`;

/** `n` signed one-time KEM prekeys with ids from `first` (the last-resort KEM prekey has id 1). */
function kemKeys(n: number, first = 11, tag = "kotk"): StoredSignedPrekey[] {
  return Array.from({ length: n }, (_, i) => ({ id: first + i, publicKey: `${tag}-${first + i}`, signature: `${tag}-sig-${first + i}` }));
}

const CAPS: PrekeyCaps = { oneTime: 10, kemOneTime: 6 };

// Five one-time X25519 and three one-time KEM prekeys, so the two counts are told apart.
function registration(over: Partial<AccountRegistration> = {}): AccountRegistration {
  const n = next();
  return {
    address: `messenger:user.${n}` as Address,
    brand: "messenger",
    identityKey: `ik-${n}`,
    deviceId: `device-${n}`,
    authKey: `ak-${n}`,
    signedPrekey: { id: 1, publicKey: `spk-${n}`, signature: `sig-${n}` },
    kemPrekey: { id: 1, publicKey: `kem-${n}`, signature: `kem-sig-${n}` },
    oneTimePrekeys: Array.from({ length: 5 }, (_, i) => ({ id: i + 1, publicKey: `otk-${n}-${i + 1}` })),
    kemOneTimePrekeys: kemKeys(3, 11, `kotk-${n}`),
    now: 1_000,
    ...over,
  };
}

function envelope(to: AccountRegistration, from: AccountRegistration, over: Partial<EnvelopeRecord> = {}): EnvelopeRecord {
  return { id: `env-${next()}`, from: from.address, fromDevice: from.deviceId, to: to.address, toDevice: to.deviceId, body: new Uint8Array([1, 2, 3]), ts: 5_000, ...over };
}

export function storeSuite(factory: StoreFactory): void {
  describe(`store contract: ${factory.name}`, () => {
    const open: RelayStore[] = [];
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });
    const fresh = async () => {
      const opened = await factory.open();
      open.push(opened.store);
      return opened;
    };

    it("registers an account with its first device and finds it again", async () => {
      const { store } = await fresh();
      const reg = registration();
      expect(await store.registerAccount(reg, "new_device", 8)).toBe("ok");
      expect(await store.getDevice(reg.deviceId)).toEqual({ deviceId: reg.deviceId, authKey: reg.authKey });
      expect(await store.getAccount(reg.address)).toEqual({ address: reg.address, identityKey: reg.identityKey, deviceIds: [reg.deviceId] });
      expect(await store.accountsOfDevice(reg.deviceId)).toEqual([reg.address]);
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 5, signedPrekeyId: 1, kemOneTimePrekeys: 3, kemPrekeyId: 1 });
    });

    it("answers a repeated registration ok without replacing anything", async () => {
      const { store } = await fresh();
      const reg = registration();
      await store.registerAccount(reg, "new_device", 8);
      await store.claimBundles(reg.address);
      expect(await store.registerAccount(reg, "new_device", 8)).toBe("ok");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 4, signedPrekeyId: 1, kemOneTimePrekeys: 2, kemPrekeyId: 1 });
      expect(await store.registerAccount({ ...reg, identityKey: "another" }, "new_device", 8)).toBe("device_exists");
    });

    it("refuses a taken handle and writes nothing of the refused registration", async () => {
      const { store } = await fresh();
      const first = registration();
      await store.registerAccount(first, "new_device", 8);
      const second = registration({ address: first.address });
      expect(await store.registerAccount(second, "new_device", 8)).toBe("handle_taken");
      expect(await store.getDevice(second.deviceId)).toBeNull();
    });

    it("adds accounts to an existing device only with its auth key, one per brand, up to the cap", async () => {
      const { store } = await fresh();
      const first = registration();
      await store.registerAccount(first, "new_device", 2);
      const same = { deviceId: first.deviceId, authKey: first.authKey };
      expect(await store.registerAccount(registration({ ...same }), "new_device", 2)).toBe("device_exists");
      expect(await store.registerAccount(registration({ deviceId: first.deviceId, authKey: "other" }), "existing_device", 2)).toBe("auth_key_mismatch");
      expect(await store.registerAccount(registration(), "existing_device", 2)).toBe("unknown_device");
      expect(await store.registerAccount(registration({ ...same }), "existing_device", 2)).toBe("brand_taken");
      const insta = registration({ ...same, brand: "instagram", address: `instagram:@u_${next()}` as Address });
      expect(await store.registerAccount(insta, "existing_device", 2)).toBe("ok");
      const wa = registration({ ...same, brand: "whatsapp", address: "whatsapp:+15550001111" as Address });
      expect(await store.registerAccount(wa, "existing_device", 2)).toBe("too_many_accounts");
      expect((await store.accountsOfDevice(first.deviceId)).sort()).toEqual([first.address, insta.address].sort());
    });

    it("hands out each one-time prekey of either kind once under 50 concurrent claims, then only the last-resort keys", async () => {
      const { store } = await fresh();
      const kem = kemKeys(15);
      const reg = registration({ oneTimePrekeys: Array.from({ length: 20 }, (_, i) => ({ id: i, publicKey: `k${i}` })), kemOneTimePrekeys: kem });
      await store.registerAccount(reg, "new_device", 8);
      const claims = await Promise.all(Array.from({ length: 50 }, () => store.claimBundles(reg.address)));
      const bundles = claims.flatMap((c) => c?.bundles ?? []);
      const ids = bundles.flatMap((b) => (b.oneTimePrekey ? [b.oneTimePrekey.id] : []));
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      const kemClaimed = bundles.flatMap((b) => (b.kemOneTimePrekey ? [b.kemOneTimePrekey] : []));
      expect(kemClaimed).toHaveLength(15);
      expect(new Set(kemClaimed.map((k) => k.id)).size).toBe(15);
      // Handed out whole, signature included, and always next to the last-resort KEM prekey.
      expect([...kemClaimed].sort((a, b) => a.id - b.id)).toEqual(kem);
      for (const b of bundles) expect(b.kemPrekey).toEqual(reg.kemPrekey);
      const last = claims[49]?.bundles[0];
      expect(last).toEqual({ deviceId: reg.deviceId, signedPrekey: reg.signedPrekey, kemPrekey: reg.kemPrekey });
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 0, signedPrekeyId: 1, kemOneTimePrekeys: 0, kemPrekeyId: 1 });
    });

    it("claims one-time KEM prekeys independently of the X25519 ones, lowest id first", async () => {
      const { store } = await fresh();
      const reg = registration({ oneTimePrekeys: [], kemOneTimePrekeys: [...kemKeys(1, 30), ...kemKeys(1, 20)] });
      await store.registerAccount(reg, "new_device", 8);
      const first = (await store.claimBundles(reg.address))?.bundles[0];
      expect(first).toEqual({ deviceId: reg.deviceId, signedPrekey: reg.signedPrekey, kemPrekey: reg.kemPrekey, kemOneTimePrekey: kemKeys(1, 20)[0] });
      expect((await store.claimBundles(reg.address))?.bundles[0]?.kemOneTimePrekey?.id).toBe(30);
      expect((await store.claimBundles(reg.address))?.bundles[0]).toEqual({ deviceId: reg.deviceId, signedPrekey: reg.signedPrekey, kemPrekey: reg.kemPrekey });
    });

    it("claims only for the asked devices and names the missing ones; null for an unknown address", async () => {
      const { store } = await fresh();
      const reg = registration();
      await store.registerAccount(reg, "new_device", 8);
      const res = await store.claimBundles(reg.address, [reg.deviceId, "nope-device"]);
      expect(res?.bundles.map((b) => b.deviceId)).toEqual([reg.deviceId]);
      expect(res?.missing).toEqual(["nope-device"]);
      expect(await store.claimBundles("messenger:nobody.here" as Address)).toBeNull();
    });

    it("rotates the signed prekey, refills one-time prekeys and refuses to keep more than the cap", async () => {
      const { store } = await fresh();
      const reg = registration();
      await store.registerAccount(reg, "new_device", 8);
      const spk = { id: 2, publicKey: "spk2", signature: "sig2" };
      expect(await store.updateKeys(reg.address, reg.deviceId, { signedPrekey: spk, oneTimePrekeys: [{ id: 100, publicKey: "n" }] }, CAPS)).toBe("ok");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 6, signedPrekeyId: 2, kemOneTimePrekeys: 3, kemPrekeyId: 1 });
      const many = Array.from({ length: 5 }, (_, i) => ({ id: 200 + i, publicKey: "x" }));
      expect(await store.updateKeys(reg.address, reg.deviceId, { oneTimePrekeys: many }, CAPS)).toBe("too_many");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 6, signedPrekeyId: 2, kemOneTimePrekeys: 3, kemPrekeyId: 1 });
      expect(await store.updateKeys(reg.address, "other-device", { signedPrekey: spk }, CAPS)).toBe("not_found");
      expect((await store.claimBundles(reg.address))?.bundles[0]?.signedPrekey).toEqual(spk);
    });

    it("rotates the last-resort KEM prekey and refills one-time KEM prekeys under their own cap", async () => {
      const { store } = await fresh();
      const reg = registration();
      await store.registerAccount(reg, "new_device", 8);
      const kem2 = { id: 2, publicKey: "kem2", signature: "kem-sig2" };
      // Id 11 is already stored: the re-upload replaces its key and signature.
      const refill = [{ id: 11, publicKey: "kotk-new-11", signature: "kotk-new-sig-11" }, ...kemKeys(2, 40)];
      expect(await store.updateKeys(reg.address, reg.deviceId, { kemPrekey: kem2, kemOneTimePrekeys: refill }, CAPS)).toBe("ok");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 5, signedPrekeyId: 1, kemOneTimePrekeys: 5, kemPrekeyId: 2 });
      const bundle = (await store.claimBundles(reg.address))?.bundles[0];
      expect(bundle?.kemPrekey).toEqual(kem2);
      expect(bundle?.kemOneTimePrekey).toEqual(refill[0]);
      // 4 stored + 3 > 6: refused whole, also the X25519 keys and the signed prekey that came with it.
      const spk = { id: 9, publicKey: "spk9", signature: "sig9" };
      const over = { signedPrekey: spk, kemPrekey: { ...kem2, id: 3 }, oneTimePrekeys: [{ id: 300, publicKey: "y" }], kemOneTimePrekeys: kemKeys(3, 50) };
      expect(await store.updateKeys(reg.address, reg.deviceId, over, CAPS)).toBe("too_many_kem");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 4, signedPrekeyId: 1, kemOneTimePrekeys: 4, kemPrekeyId: 2 });
      expect(await store.updateKeys(reg.address, reg.deviceId, { kemOneTimePrekeys: kemKeys(2, 50) }, CAPS)).toBe("ok");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toMatchObject({ kemOneTimePrekeys: 6 });
    });

    it("stores a key named twice in one upload once, with the later key", async () => {
      const { store } = await fresh();
      const reg = registration({ oneTimePrekeys: [], kemOneTimePrekeys: [] });
      await store.registerAccount(reg, "new_device", 8);
      const twice = { oneTimePrekeys: [{ id: 7, publicKey: "a" }, { id: 7, publicKey: "b" }], kemOneTimePrekeys: [...kemKeys(1, 8, "x"), ...kemKeys(1, 8, "y")] };
      expect(await store.updateKeys(reg.address, reg.deviceId, twice, CAPS)).toBe("ok");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toMatchObject({ oneTimePrekeys: 1, kemOneTimePrekeys: 1 });
      expect((await store.claimBundles(reg.address))?.bundles[0]).toMatchObject({ oneTimePrekey: { id: 7, publicKey: "b" }, kemOneTimePrekey: kemKeys(1, 8, "y")[0] });
    });

    it("stores a batch atomically: an unknown recipient device stores none of it", async () => {
      const { store } = await fresh();
      const a = registration();
      const b = registration();
      await store.registerAccount(a, "new_device", 8);
      await store.registerAccount(b, "new_device", 8);
      const res = await store.storeEnvelopes([envelope(b, a), envelope(b, a, { toDevice: "ghost-device" })]);
      expect(res).toEqual({ ok: false, unknown: { to: b.address, toDevice: "ghost-device" } });
      expect(await store.pendingEnvelopes(b.deviceId, 0, 10)).toEqual([]);
    });

    it("keeps envelopes in storage order, stores an id once, and remembers it after the delete", async () => {
      const { store } = await fresh();
      const a = registration();
      const b = registration();
      await store.registerAccount(a, "new_device", 8);
      await store.registerAccount(b, "new_device", 8);
      const e1 = envelope(b, a, { body: new Uint8Array([9, 9]) });
      const e2 = envelope(b, a);
      expect(await store.storeEnvelopes([e1, e2, e1])).toEqual({ ok: true, stored: 2, deviceIds: [b.deviceId] });
      const pending = await store.pendingEnvelopes(b.deviceId, 0, 10);
      expect(pending.map((p) => p.id)).toEqual([e1.id, e2.id]);
      expect(pending[0]).toMatchObject({ ...e1, body: new Uint8Array([9, 9]) });
      expect((await store.pendingEnvelopes(b.deviceId, pending[0]?.seq ?? 0, 10)).map((p) => p.id)).toEqual([e2.id]);
      expect(await store.deleteEnvelopes(b.deviceId, [{ to: b.address, id: e1.id }])).toBe(1);
      expect(await store.storeEnvelopes([e1])).toEqual({ ok: true, stored: 0, deviceIds: [] });
      expect((await store.pendingEnvelopes(b.deviceId, 0, 10)).map((p) => p.id)).toEqual([e2.id]);
    });

    it("deletes only the calling device's envelopes", async () => {
      const { store } = await fresh();
      const a = registration();
      const b = registration();
      await store.registerAccount(a, "new_device", 8);
      await store.registerAccount(b, "new_device", 8);
      const e = envelope(b, a);
      await store.storeEnvelopes([e]);
      expect(await store.deleteEnvelopes(a.deviceId, [{ to: b.address, id: e.id }])).toBe(0);
      expect(await store.pendingEnvelopes(b.deviceId, 0, 10)).toHaveLength(1);
    });

    it("expires envelopes and remembered ids stored before the cut-off", async () => {
      const { store } = await fresh();
      const a = registration();
      const b = registration();
      await store.registerAccount(a, "new_device", 8);
      await store.registerAccount(b, "new_device", 8);
      const old = envelope(b, a, { ts: 100 });
      const young = envelope(b, a, { ts: 200 });
      await store.storeEnvelopes([old, young]);
      expect(await store.deleteExpired(150)).toBe(1);
      expect((await store.pendingEnvelopes(b.deviceId, 0, 10)).map((p) => p.id)).toEqual([young.id]);
      // Forgotten with its envelope: after the TTL the id may be used again.
      expect(await store.storeEnvelopes([{ ...old, ts: 300 }])).toMatchObject({ ok: true, stored: 1 });
    });

    it("keeps what it acknowledged across a reopen", async () => {
      const opened = await fresh();
      if (!opened.reopen) return;
      const a = registration();
      const b = registration();
      await opened.store.registerAccount(a, "new_device", 8);
      await opened.store.registerAccount(b, "new_device", 8);
      const e = envelope(b, a);
      await opened.store.storeEnvelopes([e]);
      await opened.store.close();
      open.splice(open.indexOf(opened.store), 1);
      const again = await opened.reopen();
      open.push(again);
      expect((await again.pendingEnvelopes(b.deviceId, 0, 10)).map((p) => p.id)).toEqual([e.id]);
      expect(await again.getAccount(a.address)).toMatchObject({ identityKey: a.identityKey });
    });
  });
}
