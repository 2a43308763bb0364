// The storage contract as one suite over a store factory: every adapter (SQLite, Postgres) runs
// exactly this. `reopen` (optional) opens the same database again, to prove durability;
// `inspect` (optional) is a second handle on the same database, to check the mailbox counters
// against COUNT/SUM of the envelopes themselves.
import type { Kysely } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import type { Address } from "../../brands";
import type { RelayDatabase } from "../storage/schema";
import {
  type AccountRegistration,
  type EnvelopeRecord,
  LEDGER_TTL_MS,
  type MailboxQuotas,
  type PrekeyCaps,
  type RelayStore,
  type StoredSignedPrekey,
} from "../storage/types";

export interface StoreFactory {
  name: string;
  open(): Promise<{ store: RelayStore; reopen?: () => Promise<RelayStore>; inspect?: Kysely<RelayDatabase> }>;
}

let seq = 0;
const next = () => `${Date.now().toString(36)}${(++seq).toString(36)}`;

/** `n` signed one-time KEM prekeys with ids from `first` (the last-resort KEM prekey has id 1). */
export function kemKeys(n: number, first = 11, tag = "kotk"): StoredSignedPrekey[] {
  return Array.from({ length: n }, (_, i) => ({ id: first + i, publicKey: `${tag}-${first + i}`, signature: `${tag}-sig-${first + i}` }));
}

const CAPS: PrekeyCaps = { oneTime: 10, kemOneTime: 6 };
const ROOMY: MailboxQuotas = { perDeviceEnvelopes: 5_000, perDeviceBytes: 1 << 24 };
const DAY = 24 * 60 * 60 * 1000;
/** The cut-offs the relay's sweep uses at `now`, with envelopes left alone. */
const ledgerSweepAt = (now: number) => ({ envelopesBefore: 0, ledgerBefore: now - LEDGER_TTL_MS });

/**
 * The counters as kept, and as recounted from the envelopes: they must always agree. Devices with
 * nothing pending have no row.
 */
export async function countersAndTruth(db: Kysely<RelayDatabase>) {
  const kept = await db.selectFrom("device_mailbox").selectAll().orderBy("device_id").execute();
  const truth = await db
    .selectFrom("envelopes")
    .select((eb) => ["to_device", eb.fn.countAll<number>().as("n"), eb.fn.sum<number>(eb.fn("length", ["body"])).as("b")])
    .groupBy("to_device")
    .orderBy("to_device")
    .execute();
  return {
    kept: kept.map((r) => [r.device_id, Number(r.envelopes), Number(r.bytes)]),
    truth: truth.map((r) => [r.to_device, Number(r.n), Number(r.b)]),
  };
}

// Five one-time X25519 and three one-time KEM prekeys, so the two counts are told apart.
export function registration(over: Partial<AccountRegistration> = {}): AccountRegistration {
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

export function envelope(to: AccountRegistration, from: AccountRegistration, over: Partial<EnvelopeRecord> = {}): EnvelopeRecord {
  return { id: `env-${next()}`, from: from.address, fromDevice: from.deviceId, to: to.address, toDevice: to.deviceId, body: new Uint8Array([1, 2, 3]), ts: 5_000, ...over };
}

export function storeSuite(factory: StoreFactory): void {
  describe(`store contract: ${factory.name}`, () => {
    const open: RelayStore[] = [];
    const handles: Kysely<RelayDatabase>[] = [];
    afterEach(async () => {
      for (const h of handles.splice(0)) await h.destroy();
      for (const s of open.splice(0)) await s.close();
    });
    const fresh = async () => {
      const opened = await factory.open();
      open.push(opened.store);
      if (opened.inspect) handles.push(opened.inspect);
      return opened;
    };
    /** Two (or more) registered parties on a fresh store. */
    const parties = async (n = 2) => {
      const opened = await fresh();
      const regs = Array.from({ length: n }, () => registration());
      for (const reg of regs) expect(await opened.store.registerAccount(reg, "new_device", 8)).toBe("ok");
      return { ...opened, regs };
    };
    const expectCountersTrue = async (inspect: Kysely<RelayDatabase> | undefined) => {
      if (!inspect) return;
      const { kept, truth } = await countersAndTruth(inspect);
      expect(kept).toEqual(truth);
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

    it("keeps an account's device list whose version only grows, also under concurrent puts", async () => {
      const { store } = await fresh();
      const reg = registration();
      await store.registerAccount(reg, "new_device", 8);
      expect(await store.putDeviceList(reg.address, 2, "list-2")).toBe("stored");
      expect(await store.putDeviceList(reg.address, 2, "list-2")).toBe("unchanged");
      expect(await store.putDeviceList(reg.address, 2, "another-2")).toBe("stale");
      expect(await store.putDeviceList(reg.address, 1, "list-1")).toBe("stale");
      expect((await store.getAccount(reg.address))?.deviceList).toEqual({ version: 2, signed: "list-2" });
      expect(await store.putDeviceList("messenger:nobody.at.all", 1, "x")).toBe("not_found");
      // twenty versions racing: whatever the order, the highest is what stays
      const versions = Array.from({ length: 20 }, (_, i) => i + 3).sort(() => Math.random() - 0.5);
      await Promise.all(versions.map((v) => store.putDeviceList(reg.address, v, `list-${v}`)));
      expect((await store.getAccount(reg.address))?.deviceList).toEqual({ version: 22, signed: "list-22" });
    });

    it("adds a linked device under an account with a newer list, and a later list's removal takes its rows, mail and login", async () => {
      const { store, regs: [a, b] } = await parties();
      const laptop = registration({ address: a!.address, identityKey: a!.identityKey });
      expect(await store.addCompanion({ ...laptop, identityKey: "another" }, { version: 2, signed: "l2" }, 5)).toBe("key_mismatch");
      expect(await store.addCompanion({ ...laptop, address: "messenger:nobody.at.all" as never }, { version: 2, signed: "l2" }, 5)).toBe("not_found");
      expect(await store.putDeviceList(a!.address, 3, "l3")).toBe("stored");
      expect(await store.addCompanion(laptop, { version: 3, signed: "other-3" }, 5)).toBe("stale");
      expect(await store.addCompanion(laptop, { version: 4, signed: "l4" }, 2)).toBe("ok");
      // a repeat whose answer was lost
      expect(await store.addCompanion(laptop, { version: 4, signed: "l4" }, 2)).toBe("ok");
      expect(await store.addCompanion(registration({ address: a!.address, identityKey: a!.identityKey }), { version: 5, signed: "l5" }, 2)).toBe("too_many_devices");
      expect(await store.addCompanion({ ...laptop, address: b!.address, identityKey: b!.identityKey }, { version: 9, signed: "b9" }, 5)).toBe("device_exists");
      expect(await store.getAccount(a!.address)).toMatchObject({ deviceIds: [a!.deviceId, laptop.deviceId], deviceList: { version: 4, signed: "l4" } });
      expect(await store.accountsOfDevice(laptop.deviceId)).toEqual([a!.address]);
      const toLaptop = envelope(laptop, b!);
      expect(await store.storeEnvelopes([toLaptop, envelope(a!, b!)], ROOMY)).toMatchObject({ ok: true, stored: 2 });

      expect(await store.removeDevices(a!.address, [a!.deviceId])).toEqual([laptop.deviceId]);
      expect(await store.removeDevices(a!.address, [a!.deviceId])).toEqual([]);
      expect((await store.getAccount(a!.address))?.deviceIds).toEqual([a!.deviceId]);
      expect(await store.getDevice(laptop.deviceId)).toBeNull();
      expect(await store.pendingEnvelopes(laptop.deviceId, 0, 10)).toEqual([]);
      expect(await store.pendingEnvelopes(a!.deviceId, 0, 10)).toHaveLength(1);
      expect((await store.mailboxStats()).envelopes).toBe(1);
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
      const { store, regs: [a, b] } = await parties();
      const res = await store.storeEnvelopes([envelope(b!, a!), envelope(b!, a!, { toDevice: "ghost-device" })], ROOMY);
      expect(res).toEqual({ ok: false, reason: "unknown_device", to: b!.address, toDevice: "ghost-device" });
      expect(await store.pendingEnvelopes(b!.deviceId, 0, 10)).toEqual([]);
      expect(await store.mailboxStats()).toEqual({ devices: 0, envelopes: 0, bytes: 0, largestDeviceBytes: 0 });
    });

    it("keeps envelopes in storage order, stores an id once, and remembers it after the delete", async () => {
      const { store, regs: [a, b] } = await parties();
      const e1 = envelope(b!, a!, { body: new Uint8Array([9, 9]) });
      const e2 = envelope(b!, a!);
      expect(await store.storeEnvelopes([e1, e2, e1], ROOMY)).toEqual({ ok: true, stored: 2, deviceIds: [b!.deviceId] });
      const pending = await store.pendingEnvelopes(b!.deviceId, 0, 10);
      expect(pending.map((p) => p.id)).toEqual([e1.id, e2.id]);
      expect(pending[0]).toMatchObject({ ...e1, body: new Uint8Array([9, 9]) });
      expect((await store.pendingEnvelopes(b!.deviceId, pending[0]?.seq ?? 0, 10)).map((p) => p.id)).toEqual([e2.id]);
      expect(await store.storeEnvelopes([e1, e2], ROOMY)).toEqual({ ok: true, stored: 0, deviceIds: [] });
      expect(await store.deleteEnvelopes(b!.deviceId, [{ to: b!.address, id: e1.id }])).toBe(1);
      expect(await store.storeEnvelopes([e1], ROOMY)).toEqual({ ok: true, stored: 0, deviceIds: [] });
      expect((await store.pendingEnvelopes(b!.deviceId, 0, 10)).map((p) => p.id)).toEqual([e2.id]);
    });

    it("pages pending mail by count and by body bytes: the longest prefix within the budget, at least one", async () => {
      const { store, regs: [a, b] } = await parties();
      const KB = 1024;
      // 60 envelopes: 50 of 20 KiB, then one of 1.5 MiB, then 9 of 40 KiB
      const sizes = [...Array<number>(50).fill(20 * KB), 1536 * KB, ...Array<number>(9).fill(40 * KB)];
      const all = sizes.map((n) => envelope(b!, a!, { body: new Uint8Array(n).fill(n % 251) }));
      for (let i = 0; i < all.length; i += 10) expect(await store.storeEnvelopes(all.slice(i, i + 10), { perDeviceEnvelopes: 5_000, perDeviceBytes: 1 << 28 })).toMatchObject({ ok: true });
      const seqs = (await store.pendingEnvelopes(b!.deviceId, 0, 100)).map((p) => p.seq);
      expect(seqs).toHaveLength(60);
      /** What a page must be: from `from` (index), up to `limit`, while the sum stays within `budget`, at least one. */
      const expected = (from: number, limit: number, budget: number) => {
        const ids: string[] = [];
        let bytes = 0;
        for (let i = from; i < all.length && ids.length < limit; i++) {
          if (ids.length > 0 && bytes + sizes[i]! > budget) break;
          bytes += sizes[i]!;
          ids.push(all[i]!.id);
        }
        return ids;
      };
      const cases: [from: number, limit: number, budget: number][] = [
        [0, 200, 4096 * KB], // all 60 (2,896 KiB)
        [0, 200, 1024 * KB], // cut inside the first rows: 51 would be over
        [0, 200, 700 * KB], // 35 × 20 KiB = 700 KiB exactly: past the first 32 rows
        [0, 40, 4096 * KB], // cut by count past the first rows
        [0, 10, 4096 * KB], // cut by count within them
        [10, 200, 1200 * KB],
        [50, 200, 1024 * KB], // one envelope over the budget goes alone
        [50, 200, 4096 * KB],
        [49, 200, 1200 * KB], // 20 KiB, then the large one is over
        [0, 200, 64 * KB], // a small budget
        [55, 200, 2048 * KB],
        [20, 200, 2120 * KB], // 30 small ones, then the large one is over by 16 KiB, within the first 32 rows
        [19, 200, 2170 * KB], // the first 32 rows fit, the next one is over what is left: not taken
        [60, 200, 4096 * KB], // nothing after the last
      ];
      for (const [from, limit, budget] of cases) {
        const after = from === 0 ? 0 : seqs[from - 1]!;
        const page = await store.pendingEnvelopes(b!.deviceId, after, limit, budget);
        expect(page.map((p) => p.id), `from ${from}, limit ${limit}, budget ${budget / KB} KiB`).toEqual(expected(from, limit, budget));
        for (const p of page) expect(p.body.byteLength).toBe(sizes[all.findIndex((e) => e.id === p.id)]);
      }
    });

    it("stores another sender device's envelope with the same id: no one can shadow an id", async () => {
      const { store, inspect, regs: [a, b, c] } = await parties(3);
      const mine = envelope(b!, a!, { body: new Uint8Array([1]) });
      // c learnt the id and sends first: before the ledger included the sender, a's send was dropped.
      const shadow = envelope(b!, c!, { id: mine.id, body: new Uint8Array([6, 6, 6]) });
      expect(await store.storeEnvelopes([shadow], ROOMY)).toMatchObject({ ok: true, stored: 1 });
      expect(await store.storeEnvelopes([mine], ROOMY)).toMatchObject({ ok: true, stored: 1 });
      expect(await store.storeEnvelopes([mine, shadow], ROOMY)).toMatchObject({ ok: true, stored: 0 });
      const pending = await store.pendingEnvelopes(b!.deviceId, 0, 10);
      expect(pending.map((p) => [p.id, p.fromDevice])).toEqual([[mine.id, c!.deviceId], [mine.id, a!.deviceId]]);
      // An ack naming the sender deletes only that sender's envelope of the id.
      expect(await store.deleteEnvelopes(b!.deviceId, [{ to: b!.address, id: mine.id, fromDevice: c!.deviceId }])).toBe(1);
      expect((await store.pendingEnvelopes(b!.deviceId, 0, 10)).map((p) => p.fromDevice)).toEqual([a!.deviceId]);
      await expectCountersTrue(inspect);
      expect(await store.deleteEnvelopes(b!.deviceId, [{ to: b!.address, id: mine.id }])).toBe(1);
      await expectCountersTrue(inspect);
    });

    it("deletes only the calling device's envelopes", async () => {
      const { store, regs: [a, b] } = await parties();
      const e = envelope(b!, a!);
      await store.storeEnvelopes([e], ROOMY);
      expect(await store.deleteEnvelopes(a!.deviceId, [{ to: b!.address, id: e.id }])).toBe(0);
      expect(await store.pendingEnvelopes(b!.deviceId, 0, 10)).toHaveLength(1);
      expect(await store.mailboxStats()).toMatchObject({ envelopes: 1 });
    });

    it("expires envelopes stored before the cut-off, and still stores a pending one only once", async () => {
      const { store, inspect, regs: [a, b] } = await parties();
      const old = envelope(b!, a!, { ts: 100 });
      const young = envelope(b!, a!, { ts: 200 });
      await store.storeEnvelopes([old, young], ROOMY);
      // Both ledger rows (day 0) go too: what still protects `young` is that it is pending.
      expect(await store.deleteExpired({ envelopesBefore: 150, ledgerBefore: DAY })).toEqual({ envelopes: 1, ledgerRows: 2 });
      expect((await store.pendingEnvelopes(b!.deviceId, 0, 10)).map((p) => p.id)).toEqual([young.id]);
      // A full mailbox answers the retry instead of refusing it: it costs no quota.
      expect(await store.storeEnvelopes([young], { perDeviceEnvelopes: 1, perDeviceBytes: 3 })).toEqual({ ok: true, stored: 0, deviceIds: [] });
      expect(await store.storeEnvelopes([young], ROOMY)).toEqual({ ok: true, stored: 0, deviceIds: [] });
      // Forgotten with its envelope and ledger row: after both TTLs the id may be used again.
      expect(await store.storeEnvelopes([{ ...old, ts: 300 }], ROOMY)).toMatchObject({ ok: true, stored: 1 });
      await expectCountersTrue(inspect);
    });

    it("recognises a resend for the ledger TTL, forgets it within a day after, and keeps only its day", async () => {
      const { store, inspect, regs: [a, b] } = await parties();
      const t0 = 20_000 * DAY + 5 * 60 * 60 * 1000;
      const e = envelope(b!, a!, { ts: t0 });
      await store.storeEnvelopes([e], ROOMY);
      expect(await store.deleteEnvelopes(b!.deviceId, [{ to: b!.address, id: e.id }])).toBe(1);
      // Swept at t0 + 7 days - 1 ms: the row stays, the resend is recognised.
      expect(await store.deleteExpired(ledgerSweepAt(t0 + LEDGER_TTL_MS - 1))).toEqual({ envelopes: 0, ledgerRows: 0 });
      expect(await store.storeEnvelopes([{ ...e, ts: t0 + LEDGER_TTL_MS - 1 }], ROOMY)).toMatchObject({ ok: true, stored: 0 });
      if (inspect) expect(await inspect.selectFrom("envelope_ledger").select("day").execute()).toEqual([{ day: 20_000 }]);
      // At t0 + 8 days the day of t0 is over 7 days past: the row is gone and the id is new again.
      expect(await store.deleteExpired(ledgerSweepAt(t0 + 8 * DAY))).toEqual({ envelopes: 0, ledgerRows: 1 });
      expect(await store.storeEnvelopes([{ ...e, ts: t0 + 8 * DAY }], ROOMY)).toMatchObject({ ok: true, stored: 1 });
    });

    it("expires more than one sweep batch, keeping the counters", async () => {
      const { store, inspect, regs: [a, b, c] } = await parties(3);
      const many = Array.from({ length: 1_250 }, (_, i) => envelope(i % 2 ? b! : c!, a!, { ts: 100, body: new Uint8Array(1 + (i % 7)) }));
      expect(await store.storeEnvelopes(many, ROOMY)).toMatchObject({ ok: true, stored: 1_250 });
      await store.storeEnvelopes([envelope(b!, a!, { ts: 500 })], ROOMY);
      await expectCountersTrue(inspect);
      expect(await store.deleteExpired({ envelopesBefore: 200, ledgerBefore: DAY })).toEqual({ envelopes: 1_250, ledgerRows: 1_251 });
      await expectCountersTrue(inspect);
      expect(await store.mailboxStats()).toEqual({ devices: 1, envelopes: 1, bytes: 3, largestDeviceBytes: 3 });
    });

    it("sweeps expired ledger rows over several pages of the ledger and keeps the young ones between them", async () => {
      const { store, inspect, regs: [a, b] } = await parties();
      // Acked at once, so only their ledger rows stay: 1,300 of day 0 and 1,200 of day 1, interleaved in key order.
      for (const [count, ts] of [[1_300, 100], [1_200, DAY + 100]] as const) {
        const batch = Array.from({ length: count }, () => envelope(b!, a!, { ts }));
        expect(await store.storeEnvelopes(batch, ROOMY)).toMatchObject({ ok: true, stored: count });
        expect(await store.deleteEnvelopes(b!.deviceId, batch.map((e) => ({ to: e.to, id: e.id })))).toBe(count);
      }
      expect(await store.deleteExpired({ envelopesBefore: 0, ledgerBefore: DAY })).toEqual({ envelopes: 0, ledgerRows: 1_300 });
      if (inspect) {
        const left = await inspect.selectFrom("envelope_ledger").select((eb) => ["day", eb.fn.countAll<number>().as("n")]).groupBy("day").execute();
        expect(left.map((r) => ({ day: Number(r.day), n: Number(r.n) }))).toEqual([{ day: 1, n: 1_200 }]);
      }
      expect(await store.deleteExpired({ envelopesBefore: 0, ledgerBefore: DAY })).toEqual({ envelopes: 0, ledgerRows: 0 });
      expect(await store.deleteExpired({ envelopesBefore: 0, ledgerBefore: 2 * DAY })).toEqual({ envelopes: 0, ledgerRows: 1_200 });
    });

    it("refuses a whole batch over the per-device envelope quota, and takes it after acks", async () => {
      const { store, inspect, regs: [a, b, c] } = await parties(3);
      const quotas: MailboxQuotas = { perDeviceEnvelopes: 3, perDeviceBytes: 1_000 };
      const [e1, e2, e3, e4] = Array.from({ length: 4 }, () => envelope(b!, a!));
      expect(await store.storeEnvelopes([e1!, e2!], quotas)).toMatchObject({ ok: true, stored: 2 });
      const before = await store.mailboxStats();
      // c's envelope fits, b's do not: none of the batch is stored, not even in the ledger.
      const toC = envelope(c!, a!);
      expect(await store.storeEnvelopes([toC, e3!, e4!], quotas)).toEqual({ ok: false, reason: "quota_exceeded", to: b!.address, toDevice: b!.deviceId });
      expect((await store.pendingEnvelopes(b!.deviceId, 0, 10)).map((p) => p.id)).toEqual([e1!.id, e2!.id]);
      expect(await store.pendingEnvelopes(c!.deviceId, 0, 10)).toEqual([]);
      expect(await store.mailboxStats()).toEqual(before);
      await expectCountersTrue(inspect);
      expect(await store.storeEnvelopes([e3!], quotas)).toMatchObject({ ok: true, stored: 1 });
      // Full: a resend of what is stored is answered, not refused; anything new is refused.
      expect(await store.storeEnvelopes([e1!, e3!], quotas)).toEqual({ ok: true, stored: 0, deviceIds: [] });
      expect(await store.storeEnvelopes([e4!], quotas)).toMatchObject({ ok: false, reason: "quota_exceeded" });
      await store.deleteEnvelopes(b!.deviceId, [{ to: b!.address, id: e1!.id }]);
      expect(await store.storeEnvelopes([toC, e4!], quotas)).toEqual({ ok: true, stored: 2, deviceIds: [c!.deviceId, b!.deviceId] });
      await expectCountersTrue(inspect);
    });

    it("refuses a whole batch over the per-device byte quota, also a first batch alone", async () => {
      const { store, inspect, regs: [a, b, c] } = await parties(3);
      const quotas: MailboxQuotas = { perDeviceEnvelopes: 100, perDeviceBytes: 10 };
      const big = envelope(b!, a!, { body: new Uint8Array(6) });
      const five = envelope(b!, a!, { body: new Uint8Array(5) });
      const four = envelope(b!, a!, { body: new Uint8Array(4) });
      expect(await store.storeEnvelopes([big], quotas)).toMatchObject({ ok: true, stored: 1 });
      expect(await store.storeEnvelopes([five], quotas)).toEqual({ ok: false, reason: "quota_exceeded", to: b!.address, toDevice: b!.deviceId });
      expect(await store.storeEnvelopes([four], quotas)).toMatchObject({ ok: true, stored: 1 });
      expect(await store.mailboxStats()).toEqual({ devices: 1, envelopes: 2, bytes: 10, largestDeviceBytes: 10 });
      await store.deleteEnvelopes(b!.deviceId, [{ to: b!.address, id: big.id }]);
      expect(await store.storeEnvelopes([five], quotas)).toMatchObject({ ok: true, stored: 1 });
      // Nothing pending for c yet, and the batch alone is too big: no row for c appears.
      const first = [envelope(c!, a!, { body: new Uint8Array(6) }), envelope(c!, a!, { body: new Uint8Array(6) })];
      expect(await store.storeEnvelopes(first, quotas)).toMatchObject({ ok: false, reason: "quota_exceeded", toDevice: c!.deviceId });
      expect(await store.mailboxStats()).toEqual({ devices: 1, envelopes: 2, bytes: 9, largestDeviceBytes: 9 });
      await expectCountersTrue(inspect);
      expect(await store.storeEnvelopes([envelope(b!, a!)], { perDeviceEnvelopes: -1, perDeviceBytes: 10 }).catch((e: Error) => e.message)).toBe("invalid quota");
    });

    it("reports pending mail in aggregate, and counters that agree with the envelopes through store, ack and expiry", async () => {
      const { store, inspect, regs: [a, b, c] } = await parties(3);
      expect(await store.mailboxStats()).toEqual({ devices: 0, envelopes: 0, bytes: 0, largestDeviceBytes: 0 });
      const toB = [envelope(b!, a!, { body: new Uint8Array(10), ts: 100 }), envelope(b!, c!, { body: new Uint8Array(20) })];
      const toC = [envelope(c!, a!, { body: new Uint8Array(7) })];
      await store.storeEnvelopes([...toB, ...toC], ROOMY);
      expect(await store.mailboxStats()).toEqual({ devices: 2, envelopes: 3, bytes: 37, largestDeviceBytes: 30 });
      await expectCountersTrue(inspect);
      await store.deleteEnvelopes(b!.deviceId, [{ to: b!.address, id: toB[1]!.id }]);
      expect(await store.mailboxStats()).toEqual({ devices: 2, envelopes: 2, bytes: 17, largestDeviceBytes: 10 });
      await expectCountersTrue(inspect);
      await store.deleteExpired({ envelopesBefore: 1_000, ledgerBefore: 0 });
      expect(await store.mailboxStats()).toEqual({ devices: 1, envelopes: 1, bytes: 7, largestDeviceBytes: 7 });
      await expectCountersTrue(inspect);
      await store.deleteEnvelopes(c!.deviceId, [{ to: c!.address, id: toC[0]!.id }]);
      expect(await store.mailboxStats()).toEqual({ devices: 0, envelopes: 0, bytes: 0, largestDeviceBytes: 0 });
      await expectCountersTrue(inspect);
    });

    it("keeps what it acknowledged, and what it remembers, across a reopen", async () => {
      const opened = await fresh();
      if (!opened.reopen) return;
      const a = registration();
      const b = registration();
      await opened.store.registerAccount(a, "new_device", 8);
      await opened.store.registerAccount(b, "new_device", 8);
      const e = envelope(b, a);
      const acked = envelope(b, a);
      await opened.store.storeEnvelopes([e, acked], ROOMY);
      await opened.store.deleteEnvelopes(b.deviceId, [{ to: b.address, id: acked.id }]);
      await opened.store.close();
      open.splice(open.indexOf(opened.store), 1);
      const again = await opened.reopen();
      open.push(again);
      expect((await again.pendingEnvelopes(b.deviceId, 0, 10)).map((p) => p.id)).toEqual([e.id]);
      expect(await again.getAccount(a.address)).toMatchObject({ identityKey: a.identityKey });
      // The ledger key came back with the database: the hash of the acked envelope still matches.
      expect(await again.storeEnvelopes([acked], ROOMY)).toEqual({ ok: true, stored: 0, deviceIds: [] });
      expect(await again.mailboxStats()).toEqual({ devices: 1, envelopes: 1, bytes: 3, largestDeviceBytes: 3 });
    });
  });
}
