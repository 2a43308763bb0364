// Store-and-forward against a real relay process: offline delivery, redelivery until acked,
// idempotent ids, isolation between devices.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS, MAX_DELIVERY_BYTES_IN_FLIGHT, MAX_ENVELOPE_BYTES, MAX_ENVELOPES_PER_DELIVERY } from "../protocol";
import type { Envelope } from "../protocol/schemas";
import { INITIAL_WINDOW_BYTES } from "./socket/connection";
import { call, envelopeBody, randomId, TestDevice } from "./test/device";
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

async function pair() {
  const alice = await new TestDevice(relay.url).signUp(handle("alice"));
  const bob = await new TestDevice(relay.url).signUp(handle("bob"));
  return { alice, bob };
}

async function addressOf(d: TestDevice): Promise<string> {
  d.disconnect();
  await d.connect();
  const res = await d.login();
  if (!res.ok) throw new Error("login failed");
  return res.addresses[0] as string;
}

function send(from: TestDevice, fromAddr: string, envelopes: { id?: string; to: string; toDevice: string; text: string }[], subset = false) {
  return call<{ stored: number; ts: number }>(from.s, EVENTS.send, {
    from: fromAddr,
    ...(subset ? { subset: true } : {}),
    envelopes: envelopes.map((e) => ({ id: e.id ?? randomId(), to: e.to, toDevice: e.toDevice, body: envelopeBody(e.text) })),
  });
}

const ids = (list: Envelope[]) => list.map((e) => e.id);

describe("mailbox", () => {
  it("holds an envelope for an offline device, delivers it on login, redelivers until acked, then it is gone", async () => {
    const { alice, bob } = await pair();
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    bob.disconnect();

    const id = randomId();
    const sent = await send(alice, aliceAddr, [{ id, to: bobAddr, toDevice: bob.deviceId, text: "hello bob" }]);
    expect(sent).toMatchObject({ ok: true, stored: 1 });

    await bob.connect();
    expect(await bob.login()).toMatchObject({ ok: true });
    await bob.waitFor((r) => ids(r).includes(id));
    const got = bob.received.find((e) => e.id === id);
    expect(got).toMatchObject({ from: aliceAddr, fromDevice: alice.deviceId, to: bobAddr, toDevice: bob.deviceId, body: envelopeBody("hello bob") });

    // Not acked: a reconnect brings it again.
    bob.disconnect();
    bob.received.length = 0;
    await bob.connect();
    await bob.login();
    await bob.waitFor((r) => ids(r).includes(id), "redelivery");

    expect(await call(bob.s, EVENTS.ack, { envelopes: [{ to: bobAddr, id }] })).toEqual({ ok: true, deleted: 1 });
    bob.disconnect();
    await bob.connect();
    await bob.login();
    expect(await call(bob.s, EVENTS.fetch, {})).toEqual({ ok: true, envelopes: [], more: false });
    alice.disconnect();
    bob.disconnect();
  });

  it("pushes to an online device at once and stamps the sender", async () => {
    const { alice, bob } = await pair();
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    const id = randomId();
    expect(await send(alice, aliceAddr, [{ id, to: bobAddr, toDevice: bob.deviceId, text: "live" }])).toMatchObject({ ok: true });
    await bob.waitFor((r) => ids(r).includes(id));
    expect(bob.received[0]).toMatchObject({ from: aliceAddr, fromDevice: alice.deviceId });
    alice.disconnect();
    bob.disconnect();
  });

  it("pushes to every online connection of the recipient device, and an ack on one settles both", async () => {
    const { alice, bob } = await pair();
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    const tab = new TestDevice(relay.url, bob);
    await tab.connect();
    expect(await tab.login()).toMatchObject({ ok: true });
    const id = randomId();
    await send(alice, aliceAddr, [{ id, to: bobAddr, toDevice: bob.deviceId, text: "both" }]);
    await bob.waitFor((r) => ids(r).includes(id));
    await tab.waitFor((r) => ids(r).includes(id));
    expect(await call(tab.s, EVENTS.ack, { envelopes: [{ to: bobAddr, id }] })).toEqual({ ok: true, deleted: 1 });
    expect(await call(bob.s, EVENTS.fetch, {})).toEqual({ ok: true, envelopes: [], more: false });
    alice.disconnect();
    bob.disconnect();
    tab.disconnect();
  });

  it("stores and delivers the same envelope id once, also when resent after the ack", async () => {
    const { alice, bob } = await pair();
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    const id = randomId();
    const env = { id, to: bobAddr, toDevice: bob.deviceId, text: "once" };
    expect(await send(alice, aliceAddr, [env])).toMatchObject({ ok: true, stored: 1 });
    expect(await send(alice, aliceAddr, [env])).toMatchObject({ ok: true, stored: 0 });
    const later = randomId();
    await send(alice, aliceAddr, [{ id: later, to: bobAddr, toDevice: bob.deviceId, text: "later" }]);
    await bob.waitFor((r) => ids(r).includes(later));
    expect(ids(bob.received).filter((x) => x === id)).toHaveLength(1);

    await call(bob.s, EVENTS.ack, { envelopes: [{ to: bobAddr, id }, { to: bobAddr, id: later }] });
    expect(await send(alice, aliceAddr, [env])).toMatchObject({ ok: true, stored: 0 });
    expect(await call(bob.s, EVENTS.fetch, {})).toEqual({ ok: true, envelopes: [], more: false });
    alice.disconnect();
    bob.disconnect();
  });

  it("lets no sender shadow another's envelope by reusing its id, and an ack naming the sender settles only that one", async () => {
    const { alice, bob } = await pair();
    const mallory = await new TestDevice(relay.url).signUp(handle("mallory"));
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    const malloryAddr = await addressOf(mallory);
    const id = randomId();
    // Mallory knows the id Alice will use and sends first: both are stored, both delivered
    expect(await send(mallory, malloryAddr, [{ id, to: bobAddr, toDevice: bob.deviceId, text: "decoy" }])).toMatchObject({ ok: true, stored: 1 });
    expect(await send(alice, aliceAddr, [{ id, to: bobAddr, toDevice: bob.deviceId, text: "real" }])).toMatchObject({ ok: true, stored: 1 });
    await bob.waitFor((r) => r.filter((e) => e.id === id).length === 2, "both envelopes of the id");
    expect(bob.received.filter((e) => e.id === id).map((e) => e.fromDevice).sort()).toEqual([alice.deviceId, mallory.deviceId].sort());
    // acking Mallory's leaves Alice's waiting
    expect(await call(bob.s, EVENTS.ack, { envelopes: [{ to: bobAddr, id, fromDevice: mallory.deviceId }] })).toEqual({ ok: true, deleted: 1 });
    const left = await call<{ envelopes: Envelope[] }>(bob.s, EVENTS.fetch, {});
    expect(left.ok && left.envelopes.map((e) => [e.id, e.fromDevice])).toEqual([[id, alice.deviceId]]);
    expect(await call(bob.s, EVENTS.ack, { envelopes: [{ to: bobAddr, id, fromDevice: alice.deviceId }] })).toEqual({ ok: true, deleted: 1 });
    for (const d of [alice, bob, mallory]) d.disconnect();
  });

  it("pages large mail by bytes, and says there is more when the byte budget cut the page", async () => {
    const { alice, bob } = await pair();
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    bob.disconnect();
    const big = "x".repeat(MAX_ENVELOPE_BYTES - 16);
    let sent = 0;
    // more than MAX_DELIVERY_BYTES_IN_FLIGHT in all, 7 per send (a frame holds 7 of these)
    for (let i = 0; i < Math.ceil(MAX_DELIVERY_BYTES_IN_FLIGHT / MAX_ENVELOPE_BYTES / 7) + 1; i++) {
      expect(await send(alice, aliceAddr, Array.from({ length: 7 }, () => ({ to: bobAddr, toDevice: bob.deviceId, text: big })))).toMatchObject({ ok: true, stored: 7 });
      sent += 7;
    }
    await bob.connect();
    await bob.login();
    const page = await call<{ envelopes: Envelope[]; more: boolean }>(bob.s, EVENTS.fetch, {});
    expect(page.ok).toBe(true);
    if (page.ok) {
      const bytes = page.envelopes.reduce((n, e) => n + e.body.length * 0.75, 0);
      expect(page.envelopes.length).toBeLessThan(sent);
      expect(bytes).toBeLessThanOrEqual(MAX_DELIVERY_BYTES_IN_FLIGHT + MAX_ENVELOPE_BYTES);
      expect(page.more).toBe(true);
    }
    alice.disconnect();
    bob.disconnect();
  });

  it("never lets a device receive or ack another device's envelopes", async () => {
    const { alice, bob } = await pair();
    const mallory = await new TestDevice(relay.url).signUp(handle("mallory"));
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    const malloryAddr = await addressOf(mallory);
    bob.disconnect();

    const secret = randomId();
    await send(alice, aliceAddr, [{ id: secret, to: bobAddr, toDevice: bob.deviceId, text: "for bob only" }]);
    // Mallory acks Bob's envelope by its id and address: nothing is deleted.
    expect(await call(mallory.s, EVENTS.ack, { envelopes: [{ to: bobAddr, id: secret }] })).toEqual({ ok: true, deleted: 0 });
    const sentinel = randomId();
    await send(alice, aliceAddr, [{ id: sentinel, to: malloryAddr, toDevice: mallory.deviceId, text: "for mallory" }]);
    await mallory.waitFor((r) => ids(r).includes(sentinel));
    expect(ids(mallory.received)).not.toContain(secret);
    const fetched = await call<{ envelopes: Envelope[] }>(mallory.s, EVENTS.fetch, {});
    expect(fetched.ok && ids(fetched.envelopes)).toEqual([sentinel]);

    await bob.connect();
    await bob.login();
    await bob.waitFor((r) => ids(r).includes(secret));
    alice.disconnect();
    bob.disconnect();
    mallory.disconnect();
  });

  it("refuses a send from an account the connection is not logged in for, and to unknown devices", async () => {
    const { alice, bob } = await pair();
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    expect(await send(alice, bobAddr, [{ to: aliceAddr, toDevice: alice.deviceId, text: "forged" }])).toMatchObject({
      ok: false,
      error: { code: "unauthorized" },
    });
    // a device the account does not have: the batch does not cover its devices (docs/PROTOCOL.md, stale_devices)
    const stray = randomId();
    expect(await send(alice, aliceAddr, [{ to: bobAddr, toDevice: stray, text: "x" }])).toMatchObject({
      ok: false,
      error: { code: "stale_devices", devices: [{ address: bobAddr, missing: [bob.deviceId], extra: [stray] }] },
    });
    // a repair to chosen devices is not held to cover them all, and an unknown device is still unknown
    expect(await send(alice, aliceAddr, [{ to: bobAddr, toDevice: stray, text: "x" }], true)).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(await send(alice, aliceAddr, [{ to: handle("ghost"), toDevice: bob.deviceId, text: "x" }])).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
    // A batch with one bad recipient stores nothing at all.
    const good = randomId();
    await send(alice, aliceAddr, [
      { id: good, to: bobAddr, toDevice: bob.deviceId, text: "a" },
      { to: bobAddr, toDevice: randomId(), text: "b" },
    ], true);
    const fetched = await call<{ envelopes: Envelope[] }>(bob.s, EVENTS.fetch, {});
    expect(fetched.ok && ids(fetched.envelopes)).not.toContain(good);
    alice.disconnect();
    bob.disconnect();
  });

  it("delivers a large backlog in storage order, page after page as the device acks", async () => {
    const { alice, bob } = await pair();
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    bob.disconnect();
    const sent: string[] = [];
    for (let batch = 0; batch < 3; batch++) {
      const envs = Array.from({ length: 100 }, () => ({ id: randomId(), to: bobAddr, toDevice: bob.deviceId, text: "m" }));
      sent.push(...envs.map((e) => e.id));
      expect(await send(alice, aliceAddr, envs)).toMatchObject({ ok: true, stored: 100 });
    }
    await bob.connect();
    bob.s.on(EVENTS.deliver, (payload) => {
      // The socket may close before the last ack returns; the test only needs the acks to be sent.
      call(bob.s, EVENTS.ack, { envelopes: payload.envelopes.map((e) => ({ to: e.to, id: e.id })) }).catch(() => {});
    });
    await bob.login();
    await bob.waitFor((r) => r.length >= 300, "300 envelopes");
    expect(ids(bob.received)).toEqual(sent);
    alice.disconnect();
    bob.disconnect();
  });

  it("keeps at most its window unacked, opening with INITIAL_WINDOW_BYTES and growing as the device acks, in order, and redelivers the unacked after a reconnect", async () => {
    const { alice, bob } = await pair();
    const aliceAddr = await addressOf(alice);
    const bobAddr = await addressOf(bob);
    bob.disconnect();
    // bodies of 32 KiB: the byte window, not the count, is what bounds each step
    const body = "b".repeat(32 * 1024);
    const size = new TextEncoder().encode(body).length;
    const total = Math.ceil((2 * MAX_DELIVERY_BYTES_IN_FLIGHT) / size);
    const sent: string[] = [];
    while (sent.length < total) {
      const envs = Array.from({ length: Math.min(20, total - sent.length) }, () => ({ id: randomId(), to: bobAddr, toDevice: bob.deviceId, text: body }));
      sent.push(...envs.map((e) => e.id));
      expect(await send(alice, aliceAddr, envs)).toMatchObject({ ok: true, stored: envs.length });
    }
    const pages: number[] = [];
    await bob.connect();
    bob.s.on(EVENTS.deliver, (payload) => pages.push(payload.envelopes.length));
    await bob.login();
    const fits = (bytes: number) => Math.floor(bytes / size);
    // a new connection gets INITIAL_WINDOW_BYTES until it acks: a reader that never acks pins no more
    await bob.waitFor((r) => r.length >= fits(INITIAL_WINDOW_BYTES), "the first window");
    await call(bob.s, EVENTS.lookup, { address: bobAddr });
    expect(ids(bob.received)).toEqual(sent.slice(0, fits(INITIAL_WINDOW_BYTES)));

    // each ack doubles the byte window up to MAX_DELIVERY_BYTES_IN_FLIGHT; pushes stay in storage order
    let acked = 0;
    let windowBytes = INITIAL_WINDOW_BYTES;
    while (windowBytes < MAX_DELIVERY_BYTES_IN_FLIGHT) {
      const page = sent.slice(acked, acked + 8);
      expect(await call(bob.s, EVENTS.ack, { envelopes: page.map((id) => ({ to: bobAddr, id })) })).toEqual({ ok: true, deleted: page.length });
      acked += page.length;
      windowBytes = Math.min(MAX_DELIVERY_BYTES_IN_FLIGHT, windowBytes * 2);
      await bob.waitFor((r) => r.length >= acked + fits(windowBytes), `a window of ${windowBytes} bytes`);
      await call(bob.s, EVENTS.lookup, { address: bobAddr });
      expect(ids(bob.received)).toEqual(sent.slice(0, acked + fits(windowBytes)));
    }
    expect(Math.max(...pages)).toBeLessThanOrEqual(MAX_ENVELOPES_PER_DELIVERY);

    // a new connection starts again at the oldest unacked envelope, with the first window; the acked never come back
    bob.disconnect();
    bob.received.length = 0;
    await bob.connect();
    await bob.login();
    await bob.waitFor((r) => r.length >= fits(INITIAL_WINDOW_BYTES), "the first window again");
    await call(bob.s, EVENTS.lookup, { address: bobAddr });
    expect(ids(bob.received)).toEqual(sent.slice(acked, acked + fits(INITIAL_WINDOW_BYTES)));

    // acking everything as it comes empties the mailbox: nothing is delivered twice after its ack
    const rest = sent.slice(acked);
    let done = 0;
    while (done < rest.length) {
      await bob.waitFor((r) => r.length > done, "more");
      const chunk = ids(bob.received).slice(done, done + MAX_ENVELOPES_PER_DELIVERY);
      expect(await call(bob.s, EVENTS.ack, { envelopes: chunk.map((id) => ({ to: bobAddr, id })) })).toEqual({ ok: true, deleted: chunk.length });
      done += chunk.length;
    }
    expect(ids(bob.received)).toEqual(rest);
    expect(await call(bob.s, EVENTS.fetch, {})).toEqual({ ok: true, envelopes: [], more: false });
    alice.disconnect();
    bob.disconnect();
  });
});
