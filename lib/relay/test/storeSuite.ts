// The storage contract as one suite over a store factory: every adapter (SQLite now, Postgres later)
// runs exactly this. `reopen` (optional) opens the same database again, to prove durability.
import { afterEach, describe, expect, it } from "vitest";
import type { Address } from "../../brands";
import type { AccountRegistration, EnvelopeRecord, RelayStore } from "../storage/types";

export interface StoreFactory {
  name: string;
  open(): Promise<{ store: RelayStore; reopen?: () => Promise<RelayStore> }>;
}

let seq = 0;
const next = () => `${Date.now().toString(36)}${(++seq).toString(36)}`;

function registration(over: Partial<AccountRegistration> = {}): AccountRegistration {
  const n = next();
  return {
    address: `messenger:user.${n}` as Address,
    brand: "messenger",
    identityKey: `ik-${n}`,
    deviceId: `device-${n}`,
    authKey: `ak-${n}`,
    signedPrekey: { id: 1, publicKey: `spk-${n}`, signature: `sig-${n}` },
    oneTimePrekeys: Array.from({ length: 5 }, (_, i) => ({ id: i + 1, publicKey: `otk-${n}-${i + 1}` })),
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
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 5, signedPrekeyId: 1 });
    });

    it("answers a repeated registration ok without replacing anything", async () => {
      const { store } = await fresh();
      const reg = registration();
      await store.registerAccount(reg, "new_device", 8);
      await store.claimBundles(reg.address);
      expect(await store.registerAccount(reg, "new_device", 8)).toBe("ok");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 4, signedPrekeyId: 1 });
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

    it("hands out each one-time prekey once under 50 concurrent claims, then only the signed prekey", async () => {
      const { store } = await fresh();
      const reg = registration({ oneTimePrekeys: Array.from({ length: 20 }, (_, i) => ({ id: i, publicKey: `k${i}` })) });
      await store.registerAccount(reg, "new_device", 8);
      const claims = await Promise.all(Array.from({ length: 50 }, () => store.claimBundles(reg.address)));
      const ids = claims.flatMap((c) => c?.bundles.flatMap((b) => (b.oneTimePrekey ? [b.oneTimePrekey.id] : [])) ?? []);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      const last = claims[49]?.bundles[0];
      expect(last).toEqual({ deviceId: reg.deviceId, signedPrekey: reg.signedPrekey });
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 0, signedPrekeyId: 1 });
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
      expect(await store.updateKeys(reg.address, reg.deviceId, { signedPrekey: spk, oneTimePrekeys: [{ id: 100, publicKey: "n" }] }, 10)).toBe("ok");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 6, signedPrekeyId: 2 });
      const many = Array.from({ length: 5 }, (_, i) => ({ id: 200 + i, publicKey: "x" }));
      expect(await store.updateKeys(reg.address, reg.deviceId, { oneTimePrekeys: many }, 10)).toBe("too_many");
      expect(await store.keyStatus(reg.address, reg.deviceId)).toEqual({ oneTimePrekeys: 6, signedPrekeyId: 2 });
      expect(await store.updateKeys(reg.address, "other-device", { signedPrekey: spk }, 10)).toBe("not_found");
      expect((await store.claimBundles(reg.address))?.bundles[0]?.signedPrekey).toEqual(spk);
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
