// The link between relay nodes when Redis goes away: a node outlives it (it once exited on the
// rejection of a command ioredis had queued while reconnecting) and is ready again when Redis is back.
import { afterAll, describe, expect, it } from "vitest";
import { EVENTS } from "../protocol";
import { call, envelopeBody, randomId, TestDevice } from "./test/device";
import { type RedisProcess, redisServerUnavailable, startRedisProcess } from "./test/redisProcess";
import { type RelayProcess, startRelay } from "./test/relayProcess";

const unavailable = redisServerUnavailable();
const maybe = unavailable === null ? describe : describe.skip;
if (unavailable !== null) console.warn(`fanout tests skipped: no redis-server to start: ${unavailable}`);

let redis: RedisProcess | null = null;
let node: RelayProcess | null = null;

afterAll(async () => {
  await node?.kill();
  await redis?.kill();
});

async function readyz(url: string): Promise<string> {
  const res = await fetch(`${url}/readyz`);
  return `${res.status} ${await res.text()}`;
}

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

maybe("relay nodes linked through Redis", () => {
  it("a node outlives a Redis restart, mail sent meanwhile included, and is ready again once Redis is back", async () => {
    redis = await startRedisProcess();
    node = await startRelay({ env: { REDIS_URL: redis.url, REDIS_PREFIX: `fanout${Date.now()}:` } });
    const relay = node;
    let exit: string | null = null;
    relay.child.once("exit", (code, signal) => (exit = `${signal ?? code}`));
    await until(async () => (await readyz(relay.url)) === "200 ready", "ready");

    const tag = Date.now().toString(36);
    const alice = await new TestDevice(relay.url).signUp(`messenger:alice.fanout.${tag}`);
    const bob = await new TestDevice(relay.url).signUp(`messenger:bob.fanout.${tag}`);

    await redis.kill();
    await until(async () => (await readyz(relay.url)).includes("redis unreachable"), "not ready without Redis");
    // mail while Redis is down: stored and pushed here; its signal to the other nodes is not queued
    // (a signal queued through the reconnection attempts used to be rejected unhandled, ending the node)
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = randomId();
      ids.push(id);
      const sent = await call(alice.s, EVENTS.send, { from: `messenger:alice.fanout.${tag}`, envelopes: [{ id, to: `messenger:bob.fanout.${tag}`, toDevice: bob.deviceId, body: envelopeBody(`while down ${i}`) }] });
      expect(sent).toMatchObject({ ok: true, stored: 1 });
      await new Promise((r) => setTimeout(r, 400));
    }
    await bob.waitFor((got) => ids.every((id) => got.some((e) => e.id === id)), "the mail sent while Redis was down");
    expect(exit).toBeNull();

    await redis.start();
    await until(async () => (await readyz(relay.url)) === "200 ready", "ready again");
    expect(exit, relay.output().slice(-2_000)).toBeNull();
    alice.disconnect();
    bob.disconnect();
  }, 60_000);
});
