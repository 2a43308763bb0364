// Two relay processes sharing Redis hold one limit between them: a client cannot reset its budget by
// reconnecting to another node, and the limiter keys in Redis name nobody.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS } from "../protocol";
import { TEST_RELAY_LIMITS } from "./test/limits";
import { call, TestDevice } from "./test/device";
import { type RelayProcess, startRelay } from "./test/relayProcess";
import { deleteRedisKeys, redisKeys, TEST_REDIS_URL } from "./test/services";

const REDIS_URL = TEST_REDIS_URL;
const prefix = `junction-test-${randomBytes(6).toString("hex")}:`;
const LOOKUPS = 6;
let nodes: RelayProcess[] = [];

beforeAll(async () => {
  const env = {
    REDIS_URL,
    REDIS_PREFIX: prefix,
    RELAY_LIMITS: JSON.stringify({ ...TEST_RELAY_LIMITS, lookupPerDevice: { burst: LOOKUPS, perSecond: 0.001 } }),
  };
  // one database, as the scale-out work will share; here each node has its own, so the device is
  // registered on both (same id and key) and only the limiter is shared
  nodes = await Promise.all([startRelay({ env }), startRelay({ env })]);
});

afterAll(async () => {
  for (const n of nodes) await n.stop();
  const redis = new Redis(REDIS_URL);
  await deleteRedisKeys(redis, prefix);
  await redis.quit();
});

describe("limits across relay processes", () => {
  it("counts one device's lookups on both nodes against one budget", async () => {
    const [a, b] = nodes as [RelayProcess, RelayProcess];
    const address = `messenger:shared.${process.pid}.${Date.now()}`;
    const onA = await new TestDevice(a.url).signUp(address);
    const onB = new TestDevice(b.url, onA);
    await onB.signUp(address);
    let ok = 0;
    let refused: { code: string; retryAfterMs?: number } | null = null;
    for (let i = 0; i < LOOKUPS + 2; i++) {
      const res = await call((i % 2 === 0 ? onA : onB).s, EVENTS.lookup, { address });
      if (res.ok) ok++;
      else refused = res.error;
    }
    expect(ok).toBe(LOOKUPS);
    expect(refused).toMatchObject({ code: "rate_limited" });
    expect(refused?.retryAfterMs).toBeGreaterThan(0);
    // what Redis holds: hashed keys only, no device id or address
    const redis = new Redis(REDIS_URL);
    const keys = await redisKeys(redis, prefix);
    await redis.quit();
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).not.toContain(onA.deviceId);
      expect(key).not.toContain("shared");
      expect(key).not.toContain("127.0.0.1");
    }
    onA.disconnect();
    onB.disconnect();
  });
});
