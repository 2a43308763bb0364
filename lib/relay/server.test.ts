// The server in-process with an injected clock: rate limits, envelope expiry, security headers.
import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { ENVELOPE_TTL_MS, EVENTS } from "../protocol";
import type { Envelope } from "../protocol/schemas";
import { clientAddress, metricsAllowed, type RunningServer, startServer } from "./server";
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
    // the page may talk to its own origin only (ws: and wss: of it included, by CSP Level 3)
    expect(csp).toContain("connect-src 'self';");
    expect(csp).not.toMatch(/connect-src[^;]*\b(ws|wss):/);
    expect(a.headers.get("permissions-policy")).toContain("camera=(self)");
    expect(a.headers.get("permissions-policy")).toContain("geolocation=()");
    // plain http: no HSTS, which browsers would ignore there anyway
    expect(a.headers.get("strict-transport-security")).toBeNull();
  });

  it("sends HSTS behind a trusted TLS proxy only, and listens on 127.0.0.1 by default", async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const proxied = await start({ dataDir, trustProxy: 1 });
    const viaTls = await fetch(`${proxied.url}/healthz`, { headers: { "x-forwarded-proto": "https" } });
    expect(viaTls.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
    const direct = await start({ dataDir: tempDataDir() });
    expect((await fetch(`${direct.url}/healthz`, { headers: { "x-forwarded-proto": "https" } })).headers.get("strict-transport-security")).toBeNull();
    // HOST unset: loopback only, so `npm start` is not reachable from the network by accident
    const other = await fetch(`http://127.0.0.1:${direct.port}/healthz`);
    expect(await other.text()).toBe("ok");
    const { networkInterfaces } = await import("node:os");
    const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal);
    if (external) await expect(fetch(`http://${external.address}:${direct.port}/healthz`)).rejects.toThrow();
  });

  it("answers /readyz and serves Prometheus metrics without a party in them", async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const server = await start({ dataDir });
    const ready = await fetch(`${server.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, "ready"]);
    const address = `messenger:metrics.${process.pid}`;
    const d = await new TestDevice(server.url).signUp(address);
    await call(d.s, EVENTS.send, { from: address, envelopes: [{ id: randomId(), to: address, toDevice: d.deviceId, body: envelopeBody("x") }] });
    await call(d.s, EVENTS.lookup, { address: "messenger:nobody.at.all" });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/junction_events_total\{event="mailbox:send",outcome="ok"\} 1/);
    expect(text).toMatch(/junction_refusals_total\{code="not_found"\} 1/);
    expect(text).toMatch(/junction_envelopes_total\{stage="stored"\} 1/);
    expect(text).toMatch(/junction_store_seconds_count\{op="storeEnvelopes"\} 1/);
    expect(text).toMatch(/junction_mailbox\{measure="envelopes"\} [01]/);
    expect(text).not.toContain(d.deviceId);
    expect(text).not.toContain("metrics.");
    d.disconnect();
    // not for the network: only loopback or a bearer token
    const req = (remoteAddress: string, authorization?: string) => ({ socket: { remoteAddress }, headers: authorization ? { authorization } : {} }) as never;
    expect(metricsAllowed(req("203.0.113.9"), undefined)).toBe(false);
    expect(metricsAllowed(req("203.0.113.9", "Bearer s3cret"), "s3cret")).toBe(true);
    expect(metricsAllowed(req("203.0.113.9", "Bearer wrong"), "s3cret")).toBe(false);
    expect(metricsAllowed(req("::1"), undefined)).toBe(true);
  });

  it("takes the client's address from the proxies it trusts, and no further left", () => {
    const req = (remoteAddress: string, xff?: string) => ({ socket: { remoteAddress }, headers: xff ? { "x-forwarded-for": xff } : {} }) as never;
    expect(clientAddress(req("10.0.0.2", "6.6.6.6, 198.51.100.7"), 0)).toBe("10.0.0.2");
    expect(clientAddress(req("10.0.0.2", "6.6.6.6, 198.51.100.7"), 1)).toBe("198.51.100.7");
    expect(clientAddress(req("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1"), 2)).toBe("198.51.100.7");
    expect(clientAddress(req("10.0.0.2"), 1)).toBe("10.0.0.2");
    // /metrics through a proxy on the same machine is not local
    expect(metricsAllowed({ socket: { remoteAddress: "127.0.0.1" }, headers: { "x-forwarded-for": "203.0.113.9" } } as never, undefined)).toBe(false);
  });

  it("refuses socket.io handshakes from other origins unless allowed", async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const server = await start({ dataDir, allowedOrigins: ["https://app.example"] });
    const handshake = (origin?: string) =>
      fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: origin ? { origin } : {} }).then((r) => r.status);
    expect(await handshake("https://evil.example")).toBe(403);
    // DNS rebinding: a page of evil.example whose name resolves to this machine sends its own Host
    const { request } = await import("node:http");
    const status = (path: string, hostHeader: string) =>
      new Promise<number>((resolve, reject) => {
        const r = request({ host: "127.0.0.1", port: server.port, path, headers: { host: hostHeader, origin: `http://${hostHeader}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        r.on("error", reject);
        r.end();
      });
    expect(await status("/healthz", `evil.example:${server.port}`)).toBe(421);
    expect(await status("/socket.io/?EIO=4&transport=polling", `evil.example:${server.port}`)).toBe(403);
    expect(await status("/socket.io/?EIO=4&transport=polling", `localhost:${server.port}`)).toBe(200);
    expect(await handshake(`http://localhost:${server.port}`)).toBe(200);
    expect(await handshake("https://app.example")).toBe(200);
    expect(await handshake()).toBe(200);
  });
});
