// The directory against a real relay process: one-time prekeys handed out at most once, also under
// 50 concurrent fetches; lookups consume nothing; uploads refill and rotate.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS } from "../protocol";
import type { BundlesResponse } from "../protocol/schemas";
import { call, oneTimePrekeys, TestDevice } from "./test/device";
import { type RelayProcess, startRelay } from "./test/relayProcess";

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  expect(await relay.stop()).toBe(0);
});

let counter = 0;
const handle = (name: string) => `instagram:@${name}_${process.pid}_${++counter}`;

describe("directory", () => {
  it("never hands out the same one-time prekey twice across 50 concurrent bundle fetches", async () => {
    const address = handle("target");
    const target = await new TestDevice(relay.url).signUp(address, 30);
    const fetchers = await Promise.all(Array.from({ length: 5 }, (_, i) => new TestDevice(relay.url).signUp(handle(`fetcher${i}`))));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call<BundlesResponse>((fetchers[i % 5] as TestDevice).s, EVENTS.bundles, { address })),
    );
    const handedOut: number[] = [];
    for (const res of results) {
      expect(res.ok).toBe(true);
      if (!res.ok) continue;
      expect(res.bundles).toHaveLength(1);
      const bundle = res.bundles[0];
      expect(bundle?.deviceId).toBe(target.deviceId);
      expect(bundle?.signedPrekey.id).toBe(1);
      if (bundle?.oneTimePrekey) handedOut.push(bundle.oneTimePrekey.id);
    }
    expect(handedOut).toHaveLength(30);
    expect(new Set(handedOut).size).toBe(30);
    expect(await call(target.s, EVENTS.keysStatus, { address })).toEqual({ ok: true, oneTimePrekeys: 0, signedPrekeyId: 1 });
    for (const d of [target, ...fetchers]) d.disconnect();
  });

  it("returns only the signed prekey when none are left, and refills after an upload", async () => {
    const address = handle("empty");
    const target = await new TestDevice(relay.url).signUp(address, 0);
    const asker = await new TestDevice(relay.url).signUp(handle("asker"));
    const empty = await call<BundlesResponse>(asker.s, EVENTS.bundles, { address });
    expect(empty.ok && empty.bundles[0]).toEqual({ deviceId: target.deviceId, signedPrekey: expect.objectContaining({ id: 1 }) });

    const fresh = oneTimePrekeys(3);
    const spk = { id: 2, publicKey: fresh[0]?.publicKey as string, signature: fresh[1]?.publicKey as string };
    expect(await call(target.s, EVENTS.keysUpload, { address, signedPrekey: spk, oneTimePrekeys: fresh })).toEqual({
      ok: true,
      oneTimePrekeys: 3,
      signedPrekeyId: 2,
    });
    const full = await call<BundlesResponse>(asker.s, EVENTS.bundles, { address });
    expect(full.ok && full.bundles[0]).toMatchObject({ signedPrekey: spk, oneTimePrekey: fresh[0] });
    target.disconnect();
    asker.disconnect();
  });

  it("looks an address up without consuming prekeys, whatever spelling is given", async () => {
    const address = handle("looked");
    const target = await new TestDevice(relay.url).signUp(address, 4);
    const asker = await new TestDevice(relay.url).signUp(handle("asker"));
    const res = await call(asker.s, EVENTS.lookup, { address: ` ${address.replace("@", "")} ` });
    expect(res).toEqual({ ok: true, address, identityKey: target.identityKey, deviceIds: [target.deviceId] });
    expect(await call(target.s, EVENTS.keysStatus, { address })).toMatchObject({ ok: true, oneTimePrekeys: 4 });
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
