// devices:publish against a real relay process: an account's device list is stored only when its
// account key signed it, it names the account and the publishing device, and its version grows; the
// newest comes back with directory:lookup. A relay client that tries to add a device to someone else's
// account, or to bring back an older list, is refused and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DeviceList, generateIdentityKeyPair, type KeyPair, openDeviceList, signDeviceList } from "../crypto";
import { EVENTS, fromB64, toB64 } from "../protocol";
import { call, randomId, TestDevice } from "./test/device";
import { type RelayProcess, startRelay } from "./test/relayProcess";

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  expect(await relay.stop()).toBe(0);
});

let counter = 0;
interface Account {
  d: TestDevice;
  address: string;
  key: KeyPair;
}

async function account(name: string): Promise<Account> {
  const address = `messenger:${name}.${process.pid}.${++counter}`;
  const key = generateIdentityKeyPair();
  const d = await new TestDevice(relay.url, undefined, toB64(key.publicKey)).signUp(address);
  return { d, address, key };
}

const deviceKey = generateIdentityKeyPair().publicKey;
function list(a: Account, version: number, deviceIds = [a.d.deviceId]): DeviceList {
  return { address: a.address, version, timestamp: 1_000 + version, devices: deviceIds.map((deviceId, i) => ({ deviceId, identityKey: deviceKey, linkedAt: i })) };
}
const publish = (a: Account, signed: Uint8Array, from = a.address) => call<{ version: number }>(a.d.s, EVENTS.devicesPublish, { from, list: toB64(signed) });
const lookup = (by: Account, address: string) => call<{ deviceList?: string }>(by.d.s, EVENTS.lookup, { address });

describe("devices:publish", () => {
  it("stores a list the account key signed and hands the newest out with directory:lookup", async () => {
    const alice = await account("alice");
    const bob = await account("bob");
    expect(await lookup(bob, alice.address)).not.toHaveProperty("deviceList");
    expect(await publish(alice, signDeviceList(alice.key, list(alice, 1)))).toEqual({ ok: true, version: 1 });
    const v2 = signDeviceList(alice.key, list(alice, 2, [alice.d.deviceId, "laptop-0001"]));
    expect(await publish(alice, v2)).toEqual({ ok: true, version: 2 });
    // publishing the same list again is fine (a client that lost the answer retries)
    expect(await publish(alice, v2)).toEqual({ ok: true, version: 2 });
    const seen = await lookup(bob, alice.address);
    expect(seen.ok && seen.deviceList).toBe(toB64(v2));
    // and Bob checks it himself under Alice's account key
    const opened = openDeviceList(alice.key.publicKey, alice.address, fromB64((seen as { deviceList: string }).deviceList));
    expect(opened.devices.map((d) => d.deviceId).sort()).toEqual([alice.d.deviceId, "laptop-0001"].sort());
    for (const x of [alice, bob]) x.d.disconnect();
  });

  it("refuses a list another key signed, another account's list, an older or forked version, and changes nothing", async () => {
    const alice = await account("alice");
    const mallory = await account("mallory");
    const v3 = signDeviceList(alice.key, list(alice, 3));
    expect(await publish(alice, v3)).toMatchObject({ ok: true });
    // Mallory's key over a list naming Alice and one more device of Mallory's choosing
    const forged = signDeviceList(mallory.key, list(alice, 4, [alice.d.deviceId, mallory.d.deviceId]));
    expect(await publish(alice, forged)).toMatchObject({ ok: false, error: { code: "bad_request" } });
    // Mallory publishing for Alice's address from her own connection
    expect(await publish(mallory, signDeviceList(alice.key, list(alice, 5)), alice.address)).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    // Alice's own key over Mallory's address: a list is only ever its own account's
    expect(await publish(alice, signDeviceList(alice.key, { ...list(alice, 6), address: mallory.address }))).toMatchObject({ ok: false, error: { code: "bad_request" } });
    // a list without the device that publishes it
    expect(await publish(alice, signDeviceList(alice.key, list(alice, 7, ["laptop-0001"])))).toMatchObject({ ok: false, error: { code: "bad_request" } });
    // an older version, and a second list at the stored version: a removed device cannot come back
    expect(await publish(alice, signDeviceList(alice.key, list(alice, 2)))).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(await publish(alice, signDeviceList(alice.key, list(alice, 3, [alice.d.deviceId, "laptop-0002"])))).toMatchObject({ ok: false, error: { code: "conflict" } });
    // garbage
    expect(await publish(alice, new Uint8Array(80).fill(1))).toMatchObject({ ok: false, error: { code: "bad_request" } });
    const seen = await lookup(mallory, alice.address);
    expect(seen.ok && seen.deviceList).toBe(toB64(v3));
    for (const x of [alice, mallory]) x.d.disconnect();
  });
});

describe("device lists in registration, bundles and sends", () => {
  const registerWith = async (signer: KeyPair, key: KeyPair, name: string) => {
    const address = `messenger:${name}.${process.pid}.${++counter}`;
    const d = new TestDevice(relay.url, undefined, toB64(key.publicKey));
    await d.connect();
    const first: DeviceList = { address, version: 1, timestamp: 1, devices: [{ deviceId: d.deviceId, identityKey: key.publicKey, linkedAt: 1 }] };
    const res = await call(d.s, EVENTS.register, { address, identityKey: d.identityKey, device: d.keys(), deviceList: toB64(signDeviceList(signer, first)) });
    return { d, address, res, first };
  };

  it("stores the first list with the account, refuses the registration whole when the account key did not sign it, and serves the list with bundles", async () => {
    const key = generateIdentityKeyPair();
    const forged = await registerWith(generateIdentityKeyPair(), key, "forged");
    expect(forged.res).toMatchObject({ ok: false, error: { code: "bad_request" } });
    const bob = await account("bob");
    // nothing of the refused registration is stored
    expect(await lookup(bob, forged.address)).toMatchObject({ ok: false, error: { code: "not_found" } });
    const good = await registerWith(key, key, "good");
    expect(good.res).toMatchObject({ ok: true });
    const bundles = await call<{ deviceList?: string; deviceIds: string[] }>(bob.d.s, EVENTS.bundles, { address: good.address });
    expect(bundles.ok && bundles.deviceIds).toEqual([good.d.deviceId]);
    const opened = openDeviceList(key.publicKey, good.address, fromB64((bundles as { deviceList: string }).deviceList));
    expect(opened).toMatchObject({ version: 1, devices: [{ deviceId: good.d.deviceId }] });
    for (const x of [forged.d, good.d, bob.d]) x.disconnect();
  });

  it("refuses a send that does not cover the recipient's devices exactly (stale_devices), and stores none of it", async () => {
    const alice = await account("alice");
    const bob = await account("bob");
    const send = (envelopes: { to: string; toDevice: string }[]) =>
      call(alice.d.s, EVENTS.send, { from: alice.address, envelopes: envelopes.map((e) => ({ id: randomId(), ...e, body: toB64(new Uint8Array([1, 2, 3])) })) });
    // my own account: a device it does not have is extra there too
    expect(await send([{ to: bob.address, toDevice: bob.d.deviceId }, { to: alice.address, toDevice: "not-alices-device" }])).toMatchObject({
      ok: false,
      error: { code: "stale_devices", devices: [{ address: alice.address, missing: [], extra: ["not-alices-device"] }] },
    });
    expect(await send([{ to: bob.address, toDevice: "not-bobs-device" }])).toMatchObject({
      ok: false,
      error: { code: "stale_devices", devices: [{ address: bob.address, missing: [bob.d.deviceId], extra: ["not-bobs-device"] }] },
    });
    expect(bob.d.received).toHaveLength(0);
    expect(await send([{ to: bob.address, toDevice: bob.d.deviceId }])).toMatchObject({ ok: true, stored: 1 });
    await bob.d.waitFor((r) => r.length === 1);
    for (const x of [alice, bob]) x.d.disconnect();
  });
});

describe("a linked device registers under an account", () => {
  it("only with a newer list the account key signed that names it; a later list without it removes it", async () => {
    const alice = await account("alice");
    const bob = await account("bob");
    expect(await publish(alice, signDeviceList(alice.key, list(alice, 1)))).toMatchObject({ ok: true });
    const laptop = new TestDevice(relay.url, undefined, toB64(alice.key.publicKey));
    await laptop.connect();
    const join = (signed: Uint8Array, identityKey = laptop.identityKey) =>
      call(laptop.s, EVENTS.register, { address: alice.address, identityKey, device: laptop.keys(), deviceList: toB64(signed), companion: true });
    const both = [alice.d.deviceId, laptop.deviceId];
    // signed by another key, not naming the device, not newer, or under another account key: refused
    expect(await join(signDeviceList(bob.key, list(alice, 2, both)))).toMatchObject({ ok: false, error: { code: "bad_request" } });
    expect(await join(signDeviceList(alice.key, list(alice, 2)))).toMatchObject({ ok: false, error: { code: "bad_request" } });
    expect(await join(signDeviceList(alice.key, list(alice, 1, both)))).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(await join(signDeviceList(bob.key, list(alice, 2, both)), toB64(bob.key.publicKey))).toMatchObject({ ok: false, error: { code: "bad_request" } });
    const bundlesOf = () => call<{ deviceIds: string[] }>(bob.d.s, EVENTS.bundles, { address: alice.address, deviceIds: [] });
    expect(await bundlesOf()).toMatchObject({ deviceIds: [alice.d.deviceId] });
    const v2 = signDeviceList(alice.key, list(alice, 2, both));
    expect(await join(v2)).toMatchObject({ ok: true });
    expect(await laptop.login()).toMatchObject({ ok: true, addresses: [alice.address] });
    expect(((await bundlesOf()) as { deviceIds: string[] }).deviceIds.sort()).toEqual([...both].sort());
    expect(await lookup(bob, alice.address)).toMatchObject({ deviceList: toB64(v2) });
    // Bob writes to both; then Alice's list without the laptop removes it: its mail, its registration and
    // its login go, and its connection is handed the list (its proof) and closed
    const pushed = new Promise<{ address: string; list: string }>((resolve) => laptop.s.once(EVENTS.devicesRemoved, resolve));
    const dropped = new Promise<void>((resolve) => laptop.s.once("disconnect", () => resolve()));
    const sent = await call(bob.d.s, EVENTS.send, {
      from: bob.address,
      envelopes: both.map((d) => ({ id: randomId(), to: alice.address, toDevice: d, body: toB64(new Uint8Array([7])) })),
    });
    expect(sent).toMatchObject({ ok: true, stored: 2 });
    const v3 = signDeviceList(alice.key, list(alice, 3));
    expect(await publish(alice, v3)).toMatchObject({ ok: true, version: 3 });
    expect(await pushed).toEqual({ address: alice.address, list: toB64(v3) });
    await dropped;
    expect(await bundlesOf()).toMatchObject({ deviceIds: [alice.d.deviceId] });
    // the laptop's login is gone with it
    await laptop.connect();
    expect(await laptop.login()).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    // a send that still names it is stale; one to Alice's primary alone goes
    expect(await call(bob.d.s, EVENTS.send, { from: bob.address, envelopes: both.map((d) => ({ id: randomId(), to: alice.address, toDevice: d, body: "Bw" })) })).toMatchObject({
      ok: false,
      error: { code: "stale_devices", devices: [{ address: alice.address, missing: [], extra: [laptop.deviceId] }] },
    });
    for (const x of [alice.d, bob.d, laptop]) x.disconnect();
  });
});
