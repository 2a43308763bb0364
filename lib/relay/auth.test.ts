// Register and login against a real relay process: signed challenges, replays, unknown devices,
// handle rules and first-come handles.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS } from "../protocol";
import { call, randomId, TestDevice } from "./test/device";
import { type RelayProcess, startRelay } from "./test/relayProcess";

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  expect(await relay.stop()).toBe(0);
});

const unique = () => Math.floor(Math.random() * 1e9).toString().padStart(9, "0");

describe("register and login", () => {
  it("registers an account and logs in with a signed challenge", async () => {
    const d = new TestDevice(relay.url);
    await d.connect();
    const reg = await d.register(`instagram:ALICE_${unique()}`.toLowerCase());
    expect(reg.ok).toBe(true);
    const res = await d.login();
    expect(res).toMatchObject({ ok: true });
    if (res.ok) expect(res.addresses).toHaveLength(1);
    d.disconnect();
  });

  it("normalises the handle it was given", async () => {
    const d = new TestDevice(relay.url);
    await d.connect();
    const n = unique();
    const reg = await d.register(`whatsapp:+1 555-${n}`);
    expect(reg).toEqual({ ok: true, address: `whatsapp:+1555${n}` });
    d.disconnect();
  });

  it("refuses a login signed with the wrong key", async () => {
    const d = new TestDevice(relay.url);
    await d.signUp(`messenger:bob.${unique()}`);
    const other = new TestDevice(relay.url);
    const s = await d.connect();
    const nonce = await d.challenge();
    const res = await call(s, EVENTS.login, { deviceId: d.deviceId, signature: d.sign(nonce, other.authSecret) });
    expect(res).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    // Still logged out: nothing but register and auth is served.
    const lookup = await call(s, EVENTS.lookup, { address: "messenger:bob.smith" });
    expect(lookup).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    d.disconnect();
  });

  it("refuses a replayed nonce, on the same connection and on another", async () => {
    const d = new TestDevice(relay.url);
    await d.signUp(`messenger:carol.${unique()}`);
    d.disconnect();
    const s = await d.connect();
    const nonce = await d.challenge();
    const signature = d.sign(nonce);
    expect(await call(s, EVENTS.login, { deviceId: d.deviceId, signature })).toMatchObject({ ok: true });
    expect(await call(s, EVENTS.login, { deviceId: d.deviceId, signature })).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    const s2 = await d.connect();
    await d.challenge();
    expect(await call(s2, EVENTS.login, { deviceId: d.deviceId, signature })).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    s.disconnect();
    d.disconnect();
  });

  it("refuses a login without a challenge", async () => {
    const d = new TestDevice(relay.url);
    await d.signUp(`messenger:dave.${unique()}`);
    const s = await d.connect();
    const res = await call(s, EVENTS.login, { deviceId: d.deviceId, signature: d.sign(new Uint8Array(32)) });
    expect(res).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    d.disconnect();
  });

  it("refuses an unknown device, even with a valid signature", async () => {
    const d = new TestDevice(relay.url);
    await d.connect();
    const res = await d.login();
    expect(res).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    d.disconnect();
  });

  it("serves nothing but register and auth before login", async () => {
    const d = new TestDevice(relay.url);
    const s = await d.connect();
    for (const [event, payload] of [
      [EVENTS.lookup, { address: "instagram:@x" }],
      [EVENTS.fetch, {}],
      [EVENTS.send, { from: "instagram:@x", envelopes: [{ id: randomId(), to: "instagram:@y", toDevice: randomId(), body: "AAAA" }] }],
      [EVENTS.keysStatus, { address: "instagram:@x" }],
    ] as const) {
      expect(await call(s, event, payload)).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    }
    d.disconnect();
  });

  it("gives a taken handle → handle_taken, whatever the spelling", async () => {
    const n = unique();
    const a = new TestDevice(relay.url);
    await a.signUp(`instagram:@taken_${n}`);
    const b = new TestDevice(relay.url);
    await b.connect();
    expect(await b.register(`instagram:taken_${n}`)).toMatchObject({ ok: false, error: { code: "handle_taken" } });
    a.disconnect();
    b.disconnect();
  });

  it("refuses handles that break each brand's rule, naming the rule", async () => {
    const d = new TestDevice(relay.url);
    await d.connect();
    const bad: [string, RegExp][] = [
      ["whatsapp:5551234567", /phone number/],
      ["whatsapp:+0123456789", /phone number/],
      ["whatsapp:+1555abc4567", /phone number/],
      ["instagram:@", /1–30/],
      ["instagram:@has space", /1–30/],
      [`instagram:@${"a".repeat(31)}`, /1–30/],
      ["instagram:@UPPER!", /1–30/],
      ["messenger:abcd", /5–50/],
      ["messenger:under_score", /5–50/],
      [`messenger:${"a".repeat(51)}`, /5–50/],
      ["myspace:tom", /unknown brand/],
    ];
    for (const [address, rule] of bad) {
      const res = await d.register(address);
      expect(res, address).toMatchObject({ ok: false, error: { code: "bad_request" } });
      if (!res.ok) expect(res.error.message, address).toMatch(rule);
    }
    d.disconnect();
  });

  it("gives every account its own device: a second brand is a second device, logged in on the same connection", async () => {
    const n = unique();
    const wa = new TestDevice(relay.url);
    await wa.signUp(`whatsapp:+4420${n}`);
    // the same device id cannot take a second account: nothing would then link the two brands
    expect(await wa.register(`instagram:@multi_${n}`)).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    // a second device (its own id and auth key) registers and logs in over the first one's connection
    const ig = new TestDevice(relay.url);
    ig.socket = wa.s;
    expect(await ig.register(`instagram:@multi_${n}`)).toMatchObject({ ok: true });
    expect(await ig.login()).toEqual({ ok: true, addresses: [`instagram:@multi_${n}`] });
    expect(await call(wa.s, EVENTS.keysStatus, { address: `instagram:@multi_${n}` })).toMatchObject({ ok: true, oneTimePrekeys: 5 });
    expect(await call(wa.s, EVENTS.keysStatus, { address: `whatsapp:+4420${n}` })).toMatchObject({ ok: true, oneTimePrekeys: 5 });
    // a stranger's lookups and bundles of the two show nothing in common
    const stranger = await new TestDevice(relay.url).signUp(`messenger:stranger.${n}`);
    const a = await call<{ identityKey: string; deviceIds: string[] }>(stranger.s, EVENTS.bundles, { address: `whatsapp:+4420${n}` });
    const b = await call<{ identityKey: string; deviceIds: string[] }>(stranger.s, EVENTS.bundles, { address: `instagram:@multi_${n}` });
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) {
      expect(a.deviceIds).toEqual([wa.deviceId]);
      expect(b.deviceIds).toEqual([ig.deviceId]);
      expect(a.identityKey).not.toBe(b.identityKey);
    }
    wa.disconnect();
    stranger.disconnect();
  });

  it("answers a retried registration (its ack lost) ok, and the device can log in", async () => {
    const address = `messenger:retry.${unique()}`;
    const d = new TestDevice(relay.url);
    await d.connect();
    const payload = { address, identityKey: d.identityKey, device: d.keys() };
    expect(await call(d.s, EVENTS.register, payload)).toEqual({ ok: true, address });
    expect(await call(d.s, EVENTS.register, payload)).toEqual({ ok: true, address });
    expect(await call(d.s, EVENTS.register, { ...payload, identityKey: new TestDevice(relay.url).identityKey })).toMatchObject({
      ok: false,
      error: { code: "unauthorized" },
    });
    expect(await d.login()).toEqual({ ok: true, addresses: [address] });
    d.disconnect();
  });

  it("refuses a registration that reuses an existing device id before login", async () => {
    const d = new TestDevice(relay.url);
    await d.signUp(`messenger:erin.${unique()}`);
    await d.connect();
    expect(await d.register(`messenger:mallory.${unique()}`)).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    d.disconnect();
  });
});
