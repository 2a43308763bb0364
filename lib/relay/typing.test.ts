// typing:send against a real relay process: pushed to the recipient's live connections only, stored
// nowhere (a device that logs in later gets nothing), rate-limited per sending device, bad frames refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS, MAX_TYPING_BYTES, RELAY_LIMITS, toB64 } from "../protocol";
import type { TypingDeliver } from "../protocol/schemas";
import { call, TestDevice } from "./test/device";
import { type RelayProcess, startRelay } from "./test/relayProcess";

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  expect(await relay.stop()).toBe(0);
});

let counter = 0;
const handle = (name: string) => `messenger:${name}.${process.pid}.${++counter}`;

async function device(name: string): Promise<{ d: TestDevice; address: string; typed: TypingDeliver[] }> {
  const address = handle(name);
  const d = await new TestDevice(relay.url).signUp(address);
  const typed: TypingDeliver[] = [];
  d.s.on(EVENTS.typingDeliver, (p: TypingDeliver) => typed.push(p));
  return { d, address, typed };
}

const body = (n = 48) => toB64(new Uint8Array(n).fill(7));
const typing = (from: TestDevice, payload: unknown) => call<{ reached: string[] }>(from.s, EVENTS.typing, payload);

async function until(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("typing:send", () => {
  it("reaches only the live connections of the named device, stamped with the sender, and says so", async () => {
    const alice = await device("alice");
    const bob = await device("bob");
    const carol = await device("carol");
    const res = await typing(alice.d, { from: alice.address, signals: [{ to: bob.address, toDevice: bob.d.deviceId, body: body() }] });
    expect(res).toEqual({ ok: true, reached: [bob.d.deviceId] });
    await until(() => bob.typed.length === 1, "bob's push");
    expect(bob.typed[0]).toEqual({ from: alice.address, fromDevice: alice.d.deviceId, to: bob.address, toDevice: bob.d.deviceId, body: body() });
    expect(carol.typed).toEqual([]);
    expect(alice.typed).toEqual([]);
    // a device named with someone else's address is not pushed to
    const wrong = await typing(alice.d, { from: alice.address, signals: [{ to: carol.address, toDevice: bob.d.deviceId, body: body() }] });
    expect(wrong).toEqual({ ok: true, reached: [] });
    await new Promise((r) => setTimeout(r, 100));
    expect(bob.typed.length).toBe(1);
    for (const x of [alice, bob, carol]) x.d.disconnect();
  });

  it("stores nothing: an offline device is not reached and finds nothing when it logs in", async () => {
    const alice = await device("alice");
    const bob = await device("bob");
    bob.d.disconnect();
    const res = await typing(alice.d, { from: alice.address, signals: [{ to: bob.address, toDevice: bob.d.deviceId, body: body() }] });
    expect(res).toEqual({ ok: true, reached: [] });
    await bob.d.connect();
    const typed: TypingDeliver[] = [];
    bob.d.s.on(EVENTS.typingDeliver, (p: TypingDeliver) => typed.push(p));
    expect(await bob.d.login()).toMatchObject({ ok: true });
    const fetched = await call<{ envelopes: unknown[] }>(bob.d.s, EVENTS.fetch, {});
    expect(fetched).toMatchObject({ ok: true, envelopes: [] });
    await new Promise((r) => setTimeout(r, 200));
    expect(typed).toEqual([]);
    expect(bob.d.received).toEqual([]);
    alice.d.disconnect();
    bob.d.disconnect();
  });

  it(`is limited to a burst of ${RELAY_LIMITS.typingPerDevice.burst} per sending device, then refused with a wait`, async () => {
    const alice = await device("alice");
    const bob = await device("bob");
    const signal = { from: alice.address, signals: [{ to: bob.address, toDevice: bob.d.deviceId, body: body() }] };
    const answers = await Promise.all(Array.from({ length: RELAY_LIMITS.typingPerDevice.burst + 5 }, () => typing(alice.d, signal)));
    const refused = answers.filter((a) => !a.ok);
    expect(refused.length).toBeGreaterThanOrEqual(4);
    expect(refused[0]).toMatchObject({ ok: false, error: { code: "rate_limited", retryAfterMs: expect.any(Number) } });
    alice.d.disconnect();
    bob.d.disconnect();
  });

  it("refuses bad frames and senders that are not the connection's, and the connection stays usable", async () => {
    const alice = await device("alice");
    const bob = await device("bob");
    const to = { to: bob.address, toDevice: bob.d.deviceId };
    const bad: [unknown, string][] = [
      [{ from: alice.address, signals: [{ ...to, body: body(MAX_TYPING_BYTES + 1) }] }, "bad_request"],
      [{ from: alice.address, signals: [] }, "bad_request"],
      [{ from: alice.address, signals: [{ ...to, body: body(), extra: 1 }] }, "bad_request"],
      [{ from: alice.address, signals: [{ ...to, toDevice: "../x", body: body() }] }, "bad_request"],
      [{ from: alice.address, signals: Array.from({ length: 33 }, () => ({ ...to, body: body() })) }, "bad_request"],
      [{ from: bob.address, signals: [{ ...to, body: body() }] }, "unauthorized"],
    ];
    for (const [payload, code] of bad) expect(await typing(alice.d, payload)).toMatchObject({ ok: false, error: { code } });
    expect(bob.typed).toEqual([]);
    // not logged in: refused before anything
    const stranger = new TestDevice(relay.url);
    await stranger.connect();
    expect(await typing(stranger, { from: alice.address, signals: [{ ...to, body: body() }] })).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    expect(await typing(alice.d, { from: alice.address, signals: [{ ...to, body: body() }] })).toMatchObject({ ok: true, reached: [bob.d.deviceId] });
    for (const d of [alice.d, bob.d, stranger]) d.disconnect();
  });
});
