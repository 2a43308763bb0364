// The server in-process with an injected clock: rate limits, envelope expiry, security headers.
import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ENVELOPE_TTL_MS, EVENTS } from "../protocol";
import type { Envelope } from "../protocol/schemas";
import { type RunningServer, startServer } from "./server";
import { call, envelopeBody, randomId, TestDevice } from "./test/device";
import { tempDataDir } from "./test/relayProcess";

const running: RunningServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(opts: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  const server = await startServer({ port: 0, relayOnly: true, logToStdout: false, ...opts });
  running.push(server);
  return server;
}

describe("in-process server", () => {
  it("answers floods with rate_limited and serves the connection again once tokens are back", async () => {
    let clock = 1_000_000;
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const server = await start({ dataDir, now: () => clock, rateLimits: { events: { burst: 30, perSecond: 10 }, directory: { burst: 3, perSecond: 1 } } });
    const address = `messenger:flood.${process.pid}`;
    const d = await new TestDevice(server.url).signUp(address);
    const lookups = await Promise.all(Array.from({ length: 5 }, () => call(d.s, EVENTS.lookup, { address })));
    expect(lookups.filter((r) => r.ok)).toHaveLength(3);
    expect(lookups.filter((r) => !r.ok && r.error.code === "rate_limited")).toHaveLength(2);
    const flood = await Promise.all(Array.from({ length: 40 }, () => call(d.s, EVENTS.keysStatus, { address })));
    expect(flood.some((r) => !r.ok && r.error.code === "rate_limited")).toBe(true);
    clock += 10_000;
    expect(await call(d.s, EVENTS.lookup, { address })).toMatchObject({ ok: true });
    d.disconnect();
  });

  it("deletes envelopes older than 30 days, at start, and keeps younger ones", async () => {
    let clock = Date.UTC(2030, 0, 1);
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    let server = await start({ dataDir, now: () => clock });
    const alice = await new TestDevice(server.url).signUp(`messenger:alice.${process.pid}`);
    const bobAddr = `messenger:bob.${process.pid}`;
    const bob = await new TestDevice(server.url).signUp(bobAddr);
    bob.disconnect();
    const send = (id: string) =>
      call(alice.s, EVENTS.send, { from: `messenger:alice.${process.pid}`, envelopes: [{ id, to: bobAddr, toDevice: bob.deviceId, body: envelopeBody(id) }] });
    const old = randomId();
    const young = randomId();
    expect(await send(old)).toMatchObject({ ok: true, stored: 1 });
    clock += 29 * 24 * 3600 * 1000;
    expect(await send(young)).toMatchObject({ ok: true, stored: 1 });
    alice.disconnect();
    await server.close();
    running.splice(running.indexOf(server), 1);

    clock = Date.UTC(2030, 0, 1) + ENVELOPE_TTL_MS + 1;
    server = await start({ dataDir, now: () => clock });
    const bob2 = new TestDevice(server.url, bob);
    await bob2.connect();
    expect(await bob2.login()).toMatchObject({ ok: true });
    const fetched = await call<{ envelopes: Envelope[] }>(bob2.s, EVENTS.fetch, {});
    expect(fetched.ok && fetched.envelopes.map((e) => e.id)).toEqual([young]);
    bob2.disconnect();
  });

  it("sets a fresh nonce CSP and the security headers on every HTTP response", async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const server = await start({ dataDir });
    const a = await fetch(`${server.url}/healthz`);
    const b = await fetch(`${server.url}/healthz`);
    expect(await a.text()).toBe("ok");
    const csp = a.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{16,}' 'strict-dynamic'(;|$)/);
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-eval");
    expect(b.headers.get("content-security-policy")).not.toBe(csp);
    expect(a.headers.get("x-content-type-options")).toBe("nosniff");
    expect(a.headers.get("referrer-policy")).toBe("no-referrer");
  });
});
