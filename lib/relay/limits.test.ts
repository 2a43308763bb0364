// Bad input against a real relay process: every refusal has its code and the connection stays usable.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EVENTS,
  MAX_FRAME_BYTES,
  MAX_KEM_PREKEYS_PER_UPLOAD,
  MAX_KEY_BYTES,
  MAX_PREKEYS_PER_UPLOAD,
  MAX_SIGNATURE_BYTES,
  SCHEMAS,
  toB64,
} from "../protocol";
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
const handle = () => `messenger:limits.${process.pid}.${++counter}`;

async function stillWorks(d: TestDevice, address: string): Promise<void> {
  expect(await call(d.s, EVENTS.keysStatus, { address })).toMatchObject({ ok: true });
}

describe("limits and bad input", () => {
  it("answers an oversized frame with too_large and keeps the connection", async () => {
    const address = handle();
    const d = await new TestDevice(relay.url).signUp(address);
    const huge = "A".repeat(MAX_FRAME_BYTES + 10);
    const res = await call(d.s, EVENTS.send, { from: address, envelopes: [{ id: randomId(), to: address, toDevice: d.deviceId, body: huge }] });
    expect(res).toMatchObject({ ok: false, error: { code: "too_large" } });
    expect(d.s.connected).toBe(true);
    await stillWorks(d, address);
    d.disconnect();
  });

  it("answers an oversized frame before login with too_large too", async () => {
    const d = new TestDevice(relay.url);
    await d.connect();
    expect(await call(d.s, EVENTS.register, { pad: "x".repeat(MAX_FRAME_BYTES + 1) })).toMatchObject({ ok: false, error: { code: "too_large" } });
    await d.challenge();
  });

  it("answers malformed payloads with bad_request and keeps the connection", async () => {
    const address = handle();
    const d = await new TestDevice(relay.url).signUp(address);
    const malformed: [string, unknown][] = [
      [EVENTS.send, { from: address }],
      [EVENTS.send, { from: address, envelopes: [{ id: "short", to: address, toDevice: d.deviceId, body: "AAAA" }] }],
      [EVENTS.send, { from: address, envelopes: [{ id: randomId(), to: address, toDevice: d.deviceId, body: "not base64!" }] }],
      [EVENTS.send, { from: address, envelopes: [] }],
      [EVENTS.ack, { envelopes: [{ to: address, id: randomId() }], extra: true }],
      [EVENTS.fetch, { limit: -1 }],
      [EVENTS.keysStatus, "a string"],
      [EVENTS.keysStatus, null],
      [EVENTS.lookup, { address: 42 }],
    ];
    for (const [event, payload] of malformed) {
      expect(await call(d.s, event, payload), event).toMatchObject({ ok: false, error: { code: "bad_request" } });
    }
    await stillWorks(d, address);
    d.disconnect();
  });

  it("answers an unknown event with bad_request and keeps the connection", async () => {
    const address = handle();
    const d = await new TestDevice(relay.url).signUp(address);
    expect(await call(d.s, "admin:dump", {})).toMatchObject({ ok: false, error: { code: "bad_request", message: "unknown event" } });
    await stillWorks(d, address);
    d.disconnect();
  });

  it("survives events without an ack callback", async () => {
    const address = handle();
    const d = await new TestDevice(relay.url).signUp(address);
    const raw = d.s as unknown as { emit(event: string, ...args: unknown[]): void };
    raw.emit(EVENTS.keysStatus, { address });
    raw.emit(EVENTS.keysStatus);
    raw.emit("nonsense", 1, 2, 3);
    raw.emit(EVENTS.send, { from: address, envelopes: [{ id: randomId(), to: address, toDevice: d.deviceId, body: "AAAA" }] }, "not a function");
    await stillWorks(d, address);
    d.disconnect();
  });

  it("refuses a device auth key that is not a tagged ed25519 key", async () => {
    const d = new TestDevice(relay.url);
    await d.connect();
    const keys = d.keys();
    const res = await call(d.s, EVENTS.register, { address: handle(), identityKey: d.identityKey, device: { ...keys, authKey: d.identityKey } });
    expect(res).toMatchObject({ ok: false, error: { code: "bad_request" } });
    d.disconnect();
  });

  it("fits the largest register and keys:upload the schemas admit in one frame", () => {
    // Every id, key and signature at its maximum and every prekey array at its cap: still one frame,
    // so an honest client never meets too_large for its prekeys (ML-KEM keys are ~1.6 KB each).
    const key = toB64(new Uint8Array(MAX_KEY_BYTES).fill(0xff));
    const sig = toB64(new Uint8Array(MAX_SIGNATURE_BYTES).fill(0xff));
    const id = 0x7fffffff;
    const signed = { id, publicKey: key, signature: sig };
    const oneTime = Array.from({ length: MAX_PREKEYS_PER_UPLOAD }, () => ({ id, publicKey: key }));
    const kemOneTime = Array.from({ length: MAX_KEM_PREKEYS_PER_UPLOAD }, () => signed);
    const register = {
      address: `messenger:${"a".repeat(50)}`,
      identityKey: key,
      device: { deviceId: "d".repeat(64), authKey: key, signedPrekey: signed, kemPrekey: signed, oneTimePrekeys: oneTime, kemOneTimePrekeys: kemOneTime },
    };
    const upload = { address: register.address, signedPrekey: signed, kemPrekey: signed, oneTimePrekeys: oneTime, kemOneTimePrekeys: kemOneTime };
    expect(SCHEMAS[EVENTS.register].request.safeParse(register).success).toBe(true);
    expect(SCHEMAS[EVENTS.keysUpload].request.safeParse(upload).success).toBe(true);
    for (const payload of [register, upload]) expect(new TextEncoder().encode(JSON.stringify(payload)).length).toBeLessThan(MAX_FRAME_BYTES);
  });

  it("accepts a register with full batches of real-sized one-time prekeys of both kinds", async () => {
    const address = handle();
    const d = await new TestDevice(relay.url).signUp(address, MAX_PREKEYS_PER_UPLOAD, MAX_KEM_PREKEYS_PER_UPLOAD);
    expect(await call(d.s, EVENTS.keysStatus, { address })).toMatchObject({
      ok: true,
      oneTimePrekeys: MAX_PREKEYS_PER_UPLOAD,
      kemOneTimePrekeys: MAX_KEM_PREKEYS_PER_UPLOAD,
    });
    d.disconnect();
  });
});
