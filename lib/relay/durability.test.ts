// Crash safety and what the relay leaves on disk, against a real relay process.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EVENTS, toB64 } from "../protocol";
import { call, randomId, TestDevice } from "./test/device";
import { startRelay, tempDataDir } from "./test/relayProcess";

let counter = 0;
const handle = (name: string) => `messenger:${name}.${process.pid}.${++counter}`;

/** The same device on a new connection (the relay restarted on another port). */
function sameDevice(d: TestDevice, url: string): TestDevice {
  return new TestDevice(url, d);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The marker's raw bytes and its base64url text at each of the three byte alignments. */
function needles(marker: Uint8Array): Buffer[] {
  const out = [Buffer.from(marker)];
  for (let shift = 0; shift < 3; shift++) {
    const text = toB64(new Uint8Array([...new Uint8Array(shift), ...marker]));
    out.push(Buffer.from(text.slice(4, -4)));
  }
  return out;
}

function filesContaining(dir: string, marker: Uint8Array): string[] {
  const hits: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    if (needles(marker).some((n) => bytes.includes(n))) hits.push(file);
  }
  return hits;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A relay on a fresh data directory with Alice signed up and Bob signed up, then offline. */
async function aliceAndOfflineBob(env: Record<string, string> = {}) {
  const dataDir = tempDataDir();
  const relay = await startRelay({ dataDir, env });
  const aliceAddr = handle("alice");
  const bobAddr = handle("bob");
  const alice = await new TestDevice(relay.url).signUp(aliceAddr);
  const bob = await new TestDevice(relay.url).signUp(bobAddr);
  bob.disconnect();
  return { dataDir, relay, aliceAddr, bobAddr, alice, bob };
}

describe("durability", () => {
  // The SQLite store on the event loop (the default) and on a thread of its own (SQLITE_THREAD=1):
  // either way a send is acked only once it is on disk.
  describe.each([
    ["on the event loop", {}],
    ["on its own thread", { SQLITE_THREAD: "1" }],
  ] as [string, Record<string, string>][])("with the store %s", (_mode, env) => {
    it("delivers an envelope acked before the relay was killed with SIGKILL", async () => {
      const set = await aliceAndOfflineBob(env);
      const { dataDir, aliceAddr, bobAddr, alice, bob } = set;
      let relay = set.relay;
      const id = randomId();
      const body = toB64(new Uint8Array(randomBytes(500)));
      expect(await call(alice.s, EVENTS.send, { from: aliceAddr, envelopes: [{ id, to: bobAddr, toDevice: bob.deviceId, body }] })).toMatchObject({
        ok: true,
        stored: 1,
      });
      await relay.kill();
      alice.disconnect();

      relay = await startRelay({ dataDir, env });
      const bob2 = sameDevice(bob, relay.url);
      await bob2.connect();
      expect(await bob2.login()).toMatchObject({ ok: true });
      await bob2.waitFor((r) => r.some((e) => e.id === id && e.body === body));
      bob2.disconnect();
      expect(await relay.stop()).toBe(0);
    });

    it("keeps every envelope whose send was acked when SIGTERM arrives mid-flight, and exits 0", async () => {
      const set = await aliceAndOfflineBob(env);
      const { dataDir, aliceAddr, bobAddr, alice, bob } = set;
      let relay = set.relay;
      const batches = Array.from({ length: 20 }, () =>
        Array.from({ length: 50 }, () => ({ id: randomId(), to: bobAddr, toDevice: bob.deviceId, body: toB64(new Uint8Array(randomBytes(64))) })),
      );
      const send = (envelopes: (typeof batches)[number]) => call(alice.s, EVENTS.send, { from: aliceAddr, envelopes }).catch(() => null);
      const first = send(batches[0] ?? []);
      expect(await first).toMatchObject({ ok: true, stored: 50 });
      const sends = [first, ...batches.slice(1).map(send)];
      const code = await relay.stop();
      expect(code).toBe(0);
      const acked = (await Promise.all(sends)).flatMap((res, i) => (res?.ok ? (batches[i] ?? []).map((e) => e.id) : []));
      alice.disconnect();
      expect(acked.length).toBeGreaterThanOrEqual(50);

      relay = await startRelay({ dataDir, env });
      const bob2 = sameDevice(bob, relay.url);
      await bob2.connect();
      bob2.s.on(EVENTS.deliver, (p) => {
        call(bob2.s, EVENTS.ack, { envelopes: p.envelopes.map((e) => ({ to: e.to, id: e.id })) }).catch(() => {});
      });
      expect(await bob2.login()).toMatchObject({ ok: true });
      await bob2.waitFor((r) => acked.every((id) => r.some((e) => e.id === id)), "every acked envelope");
      bob2.disconnect();
      expect(await relay.stop()).toBe(0);
    });
  });

  it("leaves no bytes of an envelope's plaintext marker in its database or log files once acked", async () => {
    const { dataDir, relay, aliceAddr, bobAddr, alice, bob } = await aliceAndOfflineBob();
    const marker = new Uint8Array([...new TextEncoder().encode("PLAINTEXT-MARKER:"), ...randomBytes(24)]);
    const sizes = [100, 3000, 20_000];
    const envelopes = sizes.map((size) => {
      const body = new Uint8Array(randomBytes(size));
      body.set(marker, Math.floor(size / 3));
      return { id: randomId(), to: bobAddr, toDevice: bob.deviceId, body: toB64(body) };
    });
    expect(await call(alice.s, EVENTS.send, { from: aliceAddr, envelopes })).toMatchObject({ ok: true, stored: 3 });
    // The scan can see the marker: while the envelopes wait, it is in the database files.
    expect(filesContaining(dataDir, marker).length).toBeGreaterThan(0);

    await bob.connect();
    await bob.login();
    await bob.waitFor((r) => r.length === 3);
    expect(await call(bob.s, EVENTS.ack, { envelopes: envelopes.map((e) => ({ to: e.to, id: e.id })) })).toEqual({ ok: true, deleted: 3 });
    await until(() => filesContaining(dataDir, marker).length === 0, "the relay to scrub deleted envelopes");
    alice.disconnect();
    bob.disconnect();
    expect(await relay.stop()).toBe(0);
    expect(filesContaining(dataDir, marker)).toEqual([]);
    expect(readFileSync(join(dataDir, "relay.log"), "utf8")).toContain('"msg":"stats"');
  });
});
