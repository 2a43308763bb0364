// One contract suite over both limiters (memory on a driven clock, Redis on real short windows),
// then what only one of them has: Redis TTLs, two clients racing, outages; the memory key cap.
import { createServer, type Server, type Socket } from "node:net";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { clientKeyOf, createLimiter } from ".";
import { MemoryLimiter } from "./memory";
import { RedisLimiter } from "./redis";
import type { Limiter, RateRule } from "./types";
import { deleteRedisKeys, TEST_REDIS_URL } from "../test/services";

const REDIS_URL = TEST_REDIS_URL;
const RUN_PREFIX = `junction:test:limits:${process.pid}.${Date.now().toString(36)}:`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Slow enough that nothing refills during a test on the real clock. */
const frozen = (name: string, burst: number): RateRule => ({ name, burst, perSecond: 0.001 });

interface Backend {
  /** Another handle on the same state: the same object in memory, a second Redis client otherwise. */
  peer(): Promise<Limiter>;
  advance(ms: number): Promise<void>;
  /** True when the test drives the clock, so times are exact; Redis's clock runs on while we wait. */
  exact: boolean;
  /** How far a real-clock retryAfterMs may fall below the ideal figure (time spent between calls). */
  slackMs: number;
}

const open: Limiter[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

function memoryBackend(): Backend {
  let clock = 1_700_000_000_000;
  const limiter = new MemoryLimiter({ now: () => clock, sweepIntervalMs: 0 });
  open.push(limiter);
  return {
    peer: async () => limiter,
    advance: async (ms) => {
      clock += ms;
    },
    exact: true,
    slackMs: 0,
  };
}

let testSeq = 0;
function redisBackend(): Backend {
  const prefix = `${RUN_PREFIX}${++testSeq}:`;
  return {
    peer: async () => {
      const limiter = new RedisLimiter({ url: REDIS_URL, prefix });
      open.push(limiter);
      expect(await limiter.ready()).toBe(true);
      return limiter;
    },
    advance: sleep,
    exact: false,
    slackMs: 80,
  };
}

function contract(name: string, backend: () => Backend): void {
  describe(`limiter contract: ${name}`, () => {
    it("grants exactly burst takes at once, then refuses", async () => {
      const l = await backend().peer();
      const rule = frozen("burst", 5);
      const got = [];
      for (let i = 0; i < 7; i++) got.push((await l.take(rule, "k")).ok);
      expect(got).toEqual([true, true, true, true, true, false, false]);
    });

    it("refills at perSecond, up to burst and no further", async () => {
      const b = backend();
      const l = await b.peer();
      // a token every 250 ms: the takes between advances must fit in one interval on a loaded machine
      const rule = { name: "refill", burst: 2, perSecond: 4 };
      expect((await l.take(rule, "k")).ok).toBe(true);
      expect((await l.take(rule, "k")).ok).toBe(true);
      expect((await l.take(rule, "k")).ok).toBe(false);
      await b.advance(625); // 2.5 tokens' worth, capped at 2
      expect((await l.take(rule, "k")).ok).toBe(true);
      expect((await l.take(rule, "k")).ok).toBe(true);
      expect((await l.take(rule, "k")).ok).toBe(false);
    });

    it("answers retryAfterMs: 0 when granted, else the wait for a token", async () => {
      const b = backend();
      const l = await b.peer();
      const rule = { name: "retry", burst: 1, perSecond: 2 }; // a token every 500 ms
      expect(await l.take(rule, "k")).toEqual({ ok: true, retryAfterMs: 0 });
      const first = await l.take(rule, "k");
      expect(first.ok).toBe(false);
      expect(first.degraded).toBeUndefined();
      expect(first.retryAfterMs).toBeLessThanOrEqual(500);
      expect(first.retryAfterMs).toBeGreaterThanOrEqual(500 - b.slackMs);
      await b.advance(200);
      const later = await l.take(rule, "k");
      expect(later.retryAfterMs).toBeLessThanOrEqual(300);
      expect(later.retryAfterMs).toBeGreaterThanOrEqual(300 - b.slackMs);
      if (b.exact) {
        await b.advance(later.retryAfterMs - 1);
        expect((await l.take(rule, "k")).ok).toBe(false);
        await b.advance(1);
      } else {
        await b.advance(later.retryAfterMs);
      }
      expect((await l.take(rule, "k")).ok).toBe(true);
    });

    it("takes cost tokens at once, and a refusal takes nothing", async () => {
      const b = backend();
      const l = await b.peer();
      const rule = { name: "cost", burst: 5, perSecond: 1 }; // a token every 1000 ms
      expect((await l.take(rule, "k", 3)).ok).toBe(true);
      const refused = await l.take(rule, "k", 3); // 2 left: 1 short
      expect(refused.ok).toBe(false);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
      expect(refused.retryAfterMs).toBeGreaterThanOrEqual(1000 - b.slackMs);
      expect((await l.take(rule, "k", 2)).ok).toBe(true); // the refused 3 left these 2 in place
      expect((await l.take(rule, "k")).ok).toBe(false);
    });

    it("rejects a cost it could never grant, and invalid rules", async () => {
      const l = await backend().peer();
      const rule = frozen("invalid", 3);
      await expect(l.take(rule, "k", 4)).rejects.toThrow("invalid cost");
      await expect(l.take(rule, "k", 0)).rejects.toThrow("invalid cost");
      await expect(l.take(rule, "k", 1.5)).rejects.toThrow("invalid cost");
      await expect(l.take({ ...rule, name: "a:b" }, "k")).rejects.toThrow("invalid rule name");
      await expect(l.take({ ...rule, burst: 0 }, "k")).rejects.toThrow("invalid rule burst");
      await expect(l.take({ ...rule, perSecond: 0 }, "k")).rejects.toThrow("invalid rule rate");
      await expect(l.take({ ...rule, perSecond: Number.NaN }, "k")).rejects.toThrow("invalid rule rate");
      await expect(l.take(rule, "")).rejects.toThrow("invalid key");
      await expect(l.take(rule, "x".repeat(513))).rejects.toThrow("invalid key");
    });

    it("keeps keys and rules independent", async () => {
      const l = await backend().peer();
      const a = frozen("one", 1);
      const b = frozen("two", 1);
      expect((await l.take(a, "k1")).ok).toBe(true);
      expect((await l.take(a, "k2")).ok).toBe(true);
      expect((await l.take(b, "k1")).ok).toBe(true);
      expect((await l.take(a, "k1")).ok).toBe(false);
      expect((await l.take(b, "k2")).ok).toBe(true);
      // "one" + "k:x" and "one:k" + "x" must not collide.
      expect((await l.take(a, "k:x")).ok).toBe(true);
    });

    it("never grants more than burst to 50 concurrent takes from two handles", async () => {
      const b = backend();
      const [l1, l2] = [await b.peer(), await b.peer()];
      const rule = frozen("race", 10);
      const all = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? l1 : l2).take(rule, "k")));
      expect(all.filter((d) => d.ok)).toHaveLength(10);
      expect(all.every((d) => !d.degraded)).toBe(true);
    });

    it("holds at most max slots across handles; a holder may acquire again", async () => {
      const b = backend();
      const [l1, l2] = [await b.peer(), await b.peer()];
      expect(await l1.acquire("ip", "a", 2, 10_000)).toBe(true);
      expect(await l2.acquire("ip", "b", 2, 10_000)).toBe(true);
      expect(await l1.acquire("ip", "c", 2, 10_000)).toBe(false);
      expect(await l2.acquire("ip", "a", 2, 10_000)).toBe(true);
      expect(await l2.acquire("other", "c", 2, 10_000)).toBe(true);
    });

    it("grants exactly max of 20 concurrent acquires from two handles", async () => {
      const b = backend();
      const [l1, l2] = [await b.peer(), await b.peer()];
      const all = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? l1 : l2).acquire("ip", `id${i}`, 3, 10_000)));
      expect(all.filter(Boolean)).toHaveLength(3);
    });

    it("frees a slot on release", async () => {
      const b = backend();
      const [l1, l2] = [await b.peer(), await b.peer()];
      expect(await l1.acquire("dev", "a", 1, 10_000)).toBe(true);
      expect(await l2.acquire("dev", "b", 1, 10_000)).toBe(false);
      await l1.release("dev", "a");
      await l1.release("dev", "never-held");
      expect(await l2.acquire("dev", "b", 1, 10_000)).toBe(true);
    });

    it("lets an unrefreshed slot lapse, and keeps a refreshed one", async () => {
      const b = backend();
      const l = await b.peer();
      // A long-lived holder keeps the set alive, so lapsing is per holder, not the key's own TTL.
      expect(await l.acquire("dev", "z", 2, 60_000)).toBe(true);
      expect(await l.acquire("dev", "a", 2, 300)).toBe(true);
      await b.advance(200);
      expect(await l.refresh("dev", "a", 300)).toBe(true); // now until ~500
      await b.advance(200); // past the first expiry
      expect(await l.acquire("dev", "b", 2, 300)).toBe(false);
      await b.advance(350); // past the refreshed one
      expect(await l.refresh("dev", "a", 300)).toBe(false); // lapsed: not taken back
      expect(await l.acquire("dev", "b", 2, 300)).toBe(true);
      expect(await l.refresh("dev", "a", 300)).toBe(false); // and b holds it now
      expect(await l.refresh("dev", "z", 300)).toBe(true);
    });

    it("a slot set that lapses entirely frees every slot", async () => {
      const b = backend();
      const l = await b.peer();
      expect(await l.acquire("dev", "a", 1, 100)).toBe(true);
      await b.advance(150);
      expect(await l.acquire("dev", "b", 1, 100)).toBe(true);
    });

    it("refills after a long idle to burst, not beyond", async () => {
      const b = backend();
      const l = await b.peer();
      // a token every 200 ms: the four takes below must fit in one interval also on a loaded machine
      const rule = { name: "idle", burst: 2, perSecond: 5 };
      expect((await l.take(rule, "k")).ok).toBe(true);
      await b.advance(2000); // ten intervals
      const got = [];
      for (let i = 0; i < 4; i++) got.push((await l.take(rule, "k")).ok);
      expect(got).toEqual([true, true, false, false]);
    });
  });
}

contract("memory", memoryBackend);
contract("redis", redisBackend);

describe("redis limiter", () => {
  const raw = new Redis(REDIS_URL);
  afterAll(async () => {
    // Everything this run wrote, whatever the tests left behind.
    await deleteRedisKeys(raw, RUN_PREFIX);
    await raw.quit();
  });

  const fresh = async () => {
    const prefix = `${RUN_PREFIX}${++testSeq}:`;
    const limiter = new RedisLimiter({ url: REDIS_URL, prefix });
    open.push(limiter);
    expect(await limiter.ready()).toBe(true);
    return limiter;
  };

  it("shares one key secret between relay processes, set by the first", async () => {
    const prefix = `${RUN_PREFIX}${++testSeq}:`;
    const a = new RedisLimiter({ url: REDIS_URL, prefix });
    const b = new RedisLimiter({ url: REDIS_URL, prefix });
    open.push(a, b);
    expect((await a.ready()) && (await b.ready())).toBe(true);
    const [sa, sb] = await Promise.all([a.keySecret(), b.keySecret()]);
    expect(sa).toHaveLength(32);
    expect(Buffer.from(sa).equals(Buffer.from(sb))).toBe(true);
    // another deployment (prefix) has its own
    const other = await fresh();
    expect(Buffer.from(await other.keySecret()).equals(Buffer.from(sa))).toBe(false);
  });

  it("gives a bucket a TTL of the time until it is full again", async () => {
    const l = await fresh();
    const rule = { name: "ttl", burst: 3, perSecond: 1 };
    await l.take(rule, "k");
    const one = await raw.pttl(l.rateKey(rule, "k"));
    expect(one).toBeGreaterThan(900);
    expect(one).toBeLessThanOrEqual(1000);
    await l.take(rule, "k", 2);
    const three = await raw.pttl(l.rateKey(rule, "k"));
    expect(three).toBeGreaterThan(2900);
    expect(three).toBeLessThanOrEqual(3000);
    // A refusal writes nothing, so it does not extend the TTL either.
    expect((await l.take(rule, "k")).ok).toBe(false);
    expect(await raw.pttl(l.rateKey(rule, "k"))).toBeLessThanOrEqual(three);
  });

  it("gives a slot set the TTL of its last holder, and deletes it with the last release", async () => {
    const l = await fresh();
    await l.acquire("ip", "a", 5, 5_000);
    await l.acquire("ip", "b", 5, 2_000);
    const ttl = await raw.pttl(l.slotKey("ip"));
    expect(ttl).toBeGreaterThan(4_900);
    expect(ttl).toBeLessThanOrEqual(5_000);
    await l.release("ip", "a");
    await l.release("ip", "b");
    expect(await raw.exists(l.slotKey("ip"))).toBe(0);
  });

  it("lets a bucket key expire by itself", async () => {
    const l = await fresh();
    const rule = { name: "expire", burst: 1, perSecond: 4 };
    await l.take(rule, "k");
    expect(await raw.exists(l.rateKey(rule, "k"))).toBe(1);
    await sleep(400);
    expect(await raw.exists(l.rateKey(rule, "k"))).toBe(0);
  });

  it("fails open by default and closed on request when Redis cannot be reached", async () => {
    const warnings: string[] = [];
    const log = { warn: (msg: string) => warnings.push(msg), info: () => {} };
    const started = Date.now();
    const l = await createLimiter({ redisUrl: "redis://127.0.0.1:1", log });
    open.push(l);
    const rule = frozen("down", 1);
    const t0 = Date.now();
    expect(await l.take(rule, "k")).toEqual({ ok: true, retryAfterMs: 0, degraded: true });
    expect(await l.take(rule, "k", 1, { onFailure: "closed" })).toMatchObject({ ok: false, degraded: true });
    expect(await l.acquire("ip", "a", 1, 1_000)).toBe(true);
    expect(await l.acquire("ip", "a", 1, 1_000, { onFailure: "closed" })).toBe(false);
    expect(await l.refresh("ip", "a", 1_000)).toBe(true);
    await l.release("ip", "a");
    expect(Date.now() - t0).toBeLessThan(500);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThan(4); // once per outage, not once per call
  });

  it("fails within the command timeout when Redis accepts but never answers", async () => {
    const server = await hangingRedis();
    try {
      const port = (server.address() as { port: number }).port;
      const l = new RedisLimiter({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 150 });
      open.push(l);
      expect(await l.ready()).toBe(true);
      const t0 = Date.now();
      expect(await l.take(frozen("hang", 1), "k")).toEqual({ ok: true, retryAfterMs: 0, degraded: true });
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(140);
      expect(took).toBeLessThan(1_000);
      expect(await l.take(frozen("hang", 1), "k", 1, { onFailure: "closed" })).toMatchObject({ ok: false, degraded: true });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** A server that passes ioredis's ready check (INFO) and then never answers a script. */
async function hangingRedis(): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("data", (data) => {
      // Good enough for ioredis's handshake: one reply per command seen, by its name.
      for (const command of data.toString("latin1").matchAll(/\*\d+\r\n\$\d+\r\n(\w+)/g)) {
        const name = command[1].toLowerCase();
        if (name === "info") {
          const body = "# Server\r\nloading:0\r\n";
          socket.write(`$${body.length}\r\n${body}\r\n`);
        } else if (name !== "evalsha" && name !== "eval") {
          socket.write("+OK\r\n");
        }
      }
    });
  });
  const close = server.close.bind(server);
  server.close = (cb) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

describe("memory limiter", () => {
  it("drops buckets that are full again and lapsed slots on a sweep", async () => {
    let clock = 0;
    const l = new MemoryLimiter({ now: () => clock, sweepIntervalMs: 0 });
    open.push(l);
    const rule = { name: "sweep", burst: 2, perSecond: 10 };
    await l.take(rule, "a");
    await l.take(rule, "b", 2);
    await l.acquire("ip", "x", 1, 500);
    expect(l.size).toBe(3);
    clock = 100;
    l.sweep();
    expect(l.size).toBe(2); // a refilled; b still one token short
    clock = 500;
    l.sweep();
    expect(l.size).toBe(0);
  });

  it("at the key cap refuses new keys, keeps limiting known ones, and recovers after a sweep", async () => {
    let clock = 0;
    const warnings: string[] = [];
    const l = new MemoryLimiter({ now: () => clock, maxKeys: 3, sweepIntervalMs: 0, log: { warn: (m) => warnings.push(m), info: () => {} } });
    open.push(l);
    const rule = { name: "cap", burst: 2, perSecond: 1 };
    for (const k of ["a", "b"]) expect((await l.take(rule, k)).ok).toBe(true);
    expect(await l.acquire("ip", "x", 1, 10_000)).toBe(true);
    expect(await l.take(rule, "d")).toEqual({ ok: false, retryAfterMs: 1_000, degraded: true });
    expect(await l.acquire("ip2", "x", 1, 10_000)).toBe(false);
    expect(l.size).toBe(3);
    // Known keys are neither evicted nor reset: "a" has exactly its one token left.
    expect((await l.take(rule, "a")).ok).toBe(true);
    expect((await l.take(rule, "a")).ok).toBe(false);
    expect(await l.acquire("ip", "y", 2, 10_000)).toBe(true);
    expect(warnings).toHaveLength(1);
    clock = 2_000; // both buckets full again: the next new key sweeps them away
    expect((await l.take(rule, "d")).ok).toBe(true);
    expect(l.size).toBe(2);
  });

  it("does not mint tokens when the clock goes backwards", async () => {
    let clock = 10_000;
    const l = new MemoryLimiter({ now: () => clock, sweepIntervalMs: 0 });
    open.push(l);
    const rule = { name: "back", burst: 1, perSecond: 1 };
    expect((await l.take(rule, "k")).ok).toBe(true);
    clock = 5_000;
    expect((await l.take(rule, "k")).ok).toBe(false);
    clock = 10_999;
    expect((await l.take(rule, "k")).ok).toBe(false);
    clock = 11_000;
    expect((await l.take(rule, "k")).ok).toBe(true);
  });

  it("is what createLimiter gives without a Redis URL, on the injected clock", async () => {
    let clock = 0;
    const l = await createLimiter({ now: () => clock });
    open.push(l);
    expect(l).toBeInstanceOf(MemoryLimiter);
    const rule = { name: "factory", burst: 1, perSecond: 1 };
    expect((await l.take(rule, "k")).ok).toBe(true);
    expect((await l.take(rule, "k")).ok).toBe(false);
    clock = 1_000;
    expect((await l.take(rule, "k")).ok).toBe(true);
  });
});

describe("clientKeyOf", () => {
  it.each([
    ["1.2.3.4", "1.2.3.4"],
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["::FFFF:1.2.3.4", "1.2.3.4"],
    ["::ffff:102:304", "1.2.3.4"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:DB8:0001:0002:ffff::", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["2001:db8:1::", "2001:db8:1:0::/64"],
    ["1:2:3:4:5:6:7::", "1:2:3:4::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::", "0:0:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["fe80::abcd%25", "fe80:0:0:0::/64"],
    ["fe80::1%eth0.5", "fe80:0:0:0::/64"],
    ["1:2:3:4:5:6:7:8%a:b", "1:2:3:4::/64"],
    ["64:ff9b::1.2.3.4", "64:ff9b:0:0::/64"],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4::/64"],
  ])("%s → %s", (address, key) => {
    expect(clientKeyOf(address)).toBe(key);
  });

  it("keys two hosts of one /64 together and neighbouring /64s apart", () => {
    expect(clientKeyOf("2001:db8:1:2::1")).toBe(clientKeyOf("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expect(clientKeyOf("2001:db8:1:2::1")).not.toBe(clientKeyOf("2001:db8:1:3::1"));
  });

  it.each([undefined, "", "garbage", "1.2.3.256", "1.2.3", "01.2.3.4", "[::1]", "1:2:3:4:5:6:7:8:9", "fe80::1%", "::ffff:1.2.3"])(
    "%s → unknown",
    (address) => {
      expect(clientKeyOf(address)).toBe("unknown");
    },
  );
});
