// The directory against a real relay process: one-time prekeys (X25519 and ML-KEM) handed out at
// most once, also under 50 concurrent fetches; the last-resort KEM prekey in every bundle; lookups
// consume nothing; uploads refill and rotate.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS, MAX_KEM_PREKEYS_PER_UPLOAD, MAX_STORED_KEM_PREKEYS } from "../protocol";
import type { BundlesResponse, DeviceKeys } from "../protocol/schemas";
import { call, kemOneTimePrekeys, kemPrekey, oneTimePrekeys, TestDevice } from "./test/device";
import { TEST_RELAY_LIMITS } from "./test/limits";
import { type RelayProcess, startRelay } from "./test/relayProcess";

let relay: RelayProcess;
beforeAll(async () => {
  // These tests count how prekeys are handed out, many fetches from one requester: the per-pair
  // allowance (which hands out bundles without one-time prekeys past a few) is the hostile suite's.
  const limits = { ...TEST_RELAY_LIMITS, oneTimePrekeysPerPair: { burst: 10_000, perSecond: 100 }, oneTimePrekeysPerTarget: { burst: 10_000, perSecond: 100 } };
  relay = await startRelay({ env: { RELAY_LIMITS: JSON.stringify(limits) } });
});
afterAll(async () => {
  expect(await relay.stop()).toBe(0);
});

let counter = 0;
const handle = (name: string) => `instagram:@${name}_${process.pid}_${++counter}`;

describe("directory", () => {
  it("never hands out the same one-time prekey of either kind twice across 50 concurrent bundle fetches", async () => {
    const address = handle("target");
    const target = await new TestDevice(relay.url).signUp(address, 30, 20);
    const keys = target.registered as DeviceKeys;
    const fetchers = await Promise.all(Array.from({ length: 5 }, (_, i) => new TestDevice(relay.url).signUp(handle(`fetcher${i}`))));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call<BundlesResponse>((fetchers[i % 5] as TestDevice).s, EVENTS.bundles, { address })),
    );
    const handedOut: number[] = [];
    const kemHandedOut: number[] = [];
    for (const res of results) {
      expect(res.ok).toBe(true);
      if (!res.ok) continue;
      expect(res.bundles).toHaveLength(1);
      const bundle = res.bundles[0];
      expect(bundle?.deviceId).toBe(target.deviceId);
      expect(bundle?.signedPrekey.id).toBe(1);
      // The last-resort KEM prekey goes with every bundle, one-time KEM prekey or not.
      expect(bundle?.kemPrekey).toEqual(keys.kemPrekey);
      if (bundle?.oneTimePrekey) handedOut.push(bundle.oneTimePrekey.id);
      if (bundle?.kemOneTimePrekey) {
        expect(keys.kemOneTimePrekeys).toContainEqual(bundle.kemOneTimePrekey);
        kemHandedOut.push(bundle.kemOneTimePrekey.id);
      }
    }
    expect(handedOut).toHaveLength(30);
    expect(new Set(handedOut).size).toBe(30);
    expect(kemHandedOut).toHaveLength(20);
    expect(new Set(kemHandedOut).size).toBe(20);
    expect(await call(target.s, EVENTS.keysStatus, { address })).toEqual({
      ok: true,
      oneTimePrekeys: 0,
      signedPrekeyId: 1,
      kemOneTimePrekeys: 0,
      kemPrekeyId: keys.kemPrekey.id,
    });
    for (const d of [target, ...fetchers]) d.disconnect();
  });

  it("returns only the signed and last-resort KEM prekeys when none are left, and refills and rotates after an upload", async () => {
    const address = handle("empty");
    const target = await new TestDevice(relay.url).signUp(address, 0);
    const keys = target.registered as DeviceKeys;
    const asker = await new TestDevice(relay.url).signUp(handle("asker"));
    const empty = await call<BundlesResponse>(asker.s, EVENTS.bundles, { address });
    expect(empty.ok && empty.bundles[0]).toEqual({ deviceId: target.deviceId, signedPrekey: keys.signedPrekey, kemPrekey: keys.kemPrekey });

    const fresh = oneTimePrekeys(3);
    const freshKem = kemOneTimePrekeys(2);
    const spk = { id: 2, publicKey: fresh[0]?.publicKey as string, signature: fresh[1]?.publicKey as string };
    const kem = kemPrekey();
    expect(await call(target.s, EVENTS.keysUpload, { address, signedPrekey: spk, kemPrekey: kem, oneTimePrekeys: fresh, kemOneTimePrekeys: freshKem })).toEqual({
      ok: true,
      oneTimePrekeys: 3,
      signedPrekeyId: 2,
      kemOneTimePrekeys: 2,
      kemPrekeyId: kem.id,
    });
    const full = await call<BundlesResponse>(asker.s, EVENTS.bundles, { address });
    expect(full.ok && full.bundles[0]).toEqual({
      deviceId: target.deviceId,
      signedPrekey: spk,
      kemPrekey: kem,
      oneTimePrekey: fresh[0],
      kemOneTimePrekey: freshKem[0],
    });
    target.disconnect();
    asker.disconnect();
  });

  it("hands out one-time KEM prekeys one per fetch until they are used up, then only the last-resort one", async () => {
    const address = handle("kem");
    const target = await new TestDevice(relay.url).signUp(address, 3, 2);
    const keys = target.registered as DeviceKeys;
    const asker = await new TestDevice(relay.url).signUp(handle("asker"));
    const fetched: BundlesResponse["bundles"] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call<BundlesResponse>(asker.s, EVENTS.bundles, { address });
      if (!res.ok) throw new Error(res.error.code);
      fetched.push(...res.bundles);
    }
    expect(fetched.map((b) => b.kemOneTimePrekey)).toEqual([keys.kemOneTimePrekeys?.[0], keys.kemOneTimePrekeys?.[1], undefined]);
    expect(fetched[2]).toEqual({ deviceId: target.deviceId, signedPrekey: keys.signedPrekey, kemPrekey: keys.kemPrekey, oneTimePrekey: keys.oneTimePrekeys[2] });
    expect(await call(target.s, EVENTS.keysStatus, { address })).toEqual({
      ok: true,
      oneTimePrekeys: 0,
      signedPrekeyId: 1,
      kemOneTimePrekeys: 0,
      kemPrekeyId: keys.kemPrekey.id,
    });
    target.disconnect();
    asker.disconnect();
  });

  it("refuses a register without a KEM prekey, and too many one-time KEM prekeys per upload or kept", async () => {
    const d = new TestDevice(relay.url);
    await d.connect();
    const { kemPrekey: _dropped, ...classical } = d.keys(2);
    const address = handle("classical");
    expect(await call(d.s, EVENTS.register, { address, identityKey: d.identityKey, device: classical })).toMatchObject({
      ok: false,
      error: { code: "bad_request" },
    });
    const tooMany = { ...d.keys(2), kemOneTimePrekeys: kemOneTimePrekeys(MAX_KEM_PREKEYS_PER_UPLOAD + 1) };
    expect(await call(d.s, EVENTS.register, { address, identityKey: d.identityKey, device: tooMany })).toMatchObject({
      ok: false,
      error: { code: "bad_request" },
    });
    // Neither refusal registered anything: the same device and address still sign up.
    await d.signUp(address, 2, MAX_KEM_PREKEYS_PER_UPLOAD);
    const batches = Math.floor(MAX_STORED_KEM_PREKEYS / MAX_KEM_PREKEYS_PER_UPLOAD) - 1;
    for (let i = 0; i < batches; i++) {
      expect(await call(d.s, EVENTS.keysUpload, { address, kemOneTimePrekeys: kemOneTimePrekeys(MAX_KEM_PREKEYS_PER_UPLOAD) })).toMatchObject({ ok: true });
    }
    const over = await call(d.s, EVENTS.keysUpload, { address, oneTimePrekeys: oneTimePrekeys(1), kemOneTimePrekeys: kemOneTimePrekeys(1) });
    expect(over).toMatchObject({ ok: false, error: { code: "bad_request", message: `at most ${MAX_STORED_KEM_PREKEYS} one-time kem prekeys are kept` } });
    expect(await call(d.s, EVENTS.keysStatus, { address })).toMatchObject({ ok: true, oneTimePrekeys: 2, kemOneTimePrekeys: MAX_STORED_KEM_PREKEYS });
    d.disconnect();
  });

  it("looks an address up without consuming prekeys, whatever spelling is given", async () => {
    const address = handle("looked");
    const target = await new TestDevice(relay.url).signUp(address, 4);
    const asker = await new TestDevice(relay.url).signUp(handle("asker"));
    const res = await call(asker.s, EVENTS.lookup, { address: ` ${address.replace("@", "")} ` });
    // whether it exists and its identity key: no device ids, which come only with bundles
    expect(res).toEqual({ ok: true, address, identityKey: target.identityKey });
    expect(await call(target.s, EVENTS.keysStatus, { address })).toMatchObject({ ok: true, oneTimePrekeys: 4, kemOneTimePrekeys: 4 });
    expect(await call(asker.s, EVENTS.lookup, { address: handle("nobody") })).toMatchObject({ ok: false, error: { code: "not_found" } });
    target.disconnect();
    asker.disconnect();
  });

  it("lets a device upload keys only for its own accounts", async () => {
    const mine = handle("mine");
    const theirs = handle("theirs");
    const me = await new TestDevice(relay.url).signUp(mine);
    const them = await new TestDevice(relay.url).signUp(theirs, 0);
    expect(await call(me.s, EVENTS.keysUpload, { address: theirs, oneTimePrekeys: oneTimePrekeys(2) })).toMatchObject({
      ok: false,
      error: { code: "unauthorized" },
    });
    expect(await call(them.s, EVENTS.keysStatus, { address: theirs })).toMatchObject({ ok: true, oneTimePrekeys: 0 });
    me.disconnect();
    them.disconnect();
  });
});
