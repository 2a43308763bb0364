// provision:listen / provision:send against a real relay process: the channel a new device is linked
// through. Messages reach the other connections on the same channel only, before anyone logs in, and
// nothing is stored: a connection that listens later gets nothing of what was sent before.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS, PROVISIONING_LISTEN_MS, toB64 } from "../protocol";
import type { ProvisionDeliver } from "../protocol/schemas";
import { call, TestDevice } from "./test/device";
import { type RelayProcess, startRelay } from "./test/relayProcess";

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  expect(await relay.stop()).toBe(0);
});

const channel = () => toB64(globalThis.crypto.getRandomValues(new Uint8Array(16)));
const body = (n: number) => toB64(new Uint8Array(n).fill(n % 251));

async function side(): Promise<{ d: TestDevice; got: ProvisionDeliver[] }> {
  const d = new TestDevice(relay.url);
  await d.connect();
  const got: ProvisionDeliver[] = [];
  d.s.on(EVENTS.provisionDeliver, (p: ProvisionDeliver) => got.push(p));
  return { d, got };
}

const listen = (d: TestDevice, ch: string) => call<{ expiresInMs: number }>(d.s, EVENTS.provisionListen, { channel: ch });
const send = (d: TestDevice, ch: string, b: string) => call<Record<string, never>>(d.s, EVENTS.provisionSend, { channel: ch, body: b });
const settle = () => new Promise((r) => setTimeout(r, 300));

describe("provisioning channel", () => {
  it("carries messages both ways between the two sides of one channel, before login, and to no one else", async () => {
    const [fresh, primary, stranger] = await Promise.all([side(), side(), side()]);
    const ch = channel();
    expect(await listen(fresh.d, ch)).toEqual({ ok: true, expiresInMs: PROVISIONING_LISTEN_MS });
    expect(await listen(primary.d, ch)).toMatchObject({ ok: true });
    expect(await listen(stranger.d, channel())).toMatchObject({ ok: true });
    expect(await send(primary.d, ch, body(100))).toEqual({ ok: true });
    expect(await send(fresh.d, ch, body(200_000))).toEqual({ ok: true });
    await settle();
    expect(fresh.got).toEqual([{ channel: ch, body: body(100) }]);
    expect(primary.got).toEqual([{ channel: ch, body: body(200_000) }]);
    expect(stranger.got).toEqual([]);
    for (const x of [fresh, primary, stranger]) x.d.disconnect();
  });

  it("stores nothing: a side that listens after a message was sent never gets it", async () => {
    const [first, late] = await Promise.all([side(), side()]);
    const ch = channel();
    await listen(first.d, ch);
    await send(first.d, ch, body(10));
    await listen(late.d, ch);
    await settle();
    expect(late.got).toEqual([]);
    // a connection listens on one channel at a time: moving on leaves the first
    const next = channel();
    await listen(late.d, next);
    await send(first.d, ch, body(11));
    await settle();
    expect(late.got).toEqual([]);
    for (const x of [first, late]) x.d.disconnect();
  });

  it("refuses a malformed channel or an oversized message", async () => {
    const a = await side();
    expect(await listen(a.d, toB64(new Uint8Array(8)))).toMatchObject({ ok: false, error: { code: "bad_request" } });
    expect(await send(a.d, channel(), toB64(new Uint8Array(300 * 1024 + 1)))).toMatchObject({ ok: false });
    a.d.disconnect();
  });
});
