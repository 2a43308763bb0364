// Relay nodes on a real Redis Cluster: `REDIS_URL=redis+cluster://…` selects ioredis's Cluster client
// for everything Redis carries (the socket.io adapter's pub/sub, the limits, the node registry, the
// per-device connection cap). Three masters started here (redisProcess.ts), two relay nodes on them and
// on the local Postgres: mail sent through one node reaches a device on the other at once, and one
// device's lookups on both nodes count against one budget. A single-server client pointed at a
// cluster node fails on the keys of the other masters (MOVED), so this passes only through the Cluster
// client; the keys are checked to be spread over more than one master.
import { randomBytes } from "node:crypto";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS } from "../protocol";
import { connectRedis, isClusterUrl, parseRedisUrl } from "./redisConnect";
import { call, envelopeBody, randomId, TestDevice } from "./test/device";
import { TEST_RELAY_LIMITS } from "./test/limits";
import { type RedisClusterProcess, redisClusterUnavailable, startRedisCluster } from "./test/redisProcess";
import { bundleRelay, type RelayProcess, startRelay } from "./test/relayProcess";
import { dropSchemas, postgresUnavailable, TEST_DATABASE_URL } from "./test/services";

describe("REDIS_URL: which client", () => {
  it("redis+cluster:// names a cluster's seed nodes, other URLs one server", () => {
    expect(parseRedisUrl("redis://127.0.0.1:6379")).toBeNull();
    expect(parseRedisUrl("rediss://user:pw@host:6380/0")).toBeNull();
    expect(parseRedisUrl("redis+cluster://10.0.0.1:7000,10.0.0.2:7001,10.0.0.3")).toEqual({
      cluster: true,
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
        { host: "10.0.0.3", port: 6379 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(parseRedisUrl("rediss+cluster://relay:p%40ss@[::1]:7000/")).toMatchObject({ nodes: [{ host: "::1", port: 7000 }], username: "relay", password: "p@ss", tls: true });
    expect(parseRedisUrl("REDIS+CLUSTER://:secret@h:1")).toMatchObject({ password: "secret", username: undefined });
    expect(isClusterUrl("redis+cluster://h:1")).toBe(true);
    expect(isClusterUrl("redis://h:1")).toBe(false);
  });

  it("refuses a cluster URL without nodes or with a bad port, saying why", () => {
    expect(() => parseRedisUrl("redis+cluster://")).toThrow(/at least one host:port/);
    expect(() => parseRedisUrl("redis+cluster://h:99999")).toThrow(/bad cluster node "h:99999"/);
    expect(() => parseRedisUrl("redis+cluster://h:1,h:x")).toThrow(/bad cluster node "h:x"/);
  });

  it("makes a Cluster client for a cluster URL without connecting yet", () => {
    const client = connectRedis("redis+cluster://127.0.0.1:1", { lazyConnect: true });
    expect(client).toBeInstanceOf(Cluster);
    client.disconnect();
  });
});

const noRedis = redisClusterUnavailable();
const noPostgres = noRedis === null ? await postgresUnavailable() : null;
const unavailable = noRedis ?? noPostgres;
const maybe = unavailable === null ? describe : describe.skip;
if (unavailable !== null) console.warn(`Redis Cluster node tests skipped: ${noRedis ? `no redis-server or redis-cli to start a cluster with: ${noRedis}` : `no Postgres at ${TEST_DATABASE_URL}: ${noPostgres}`}`);

const schema = `junction_rcluster_${randomBytes(5).toString("hex")}`;
const prefix = `${schema}:`;
const LOOKUPS = 6;
let cluster: RedisClusterProcess | null = null;
let bundle: { entry: string; remove(): void } | null = null;
let nodes: RelayProcess[] = [];
const devices: TestDevice[] = [];

beforeAll(async () => {
  if (unavailable !== null) return;
  [cluster, bundle] = await Promise.all([startRedisCluster(3), bundleRelay()]);
  const env = {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: schema,
    REDIS_URL: cluster.url,
    REDIS_PREFIX: prefix,
    RELAY_LIMITS: JSON.stringify({ ...TEST_RELAY_LIMITS, lookupPerDevice: { burst: LOOKUPS, perSecond: 0.001 } }),
  };
  // one after the other: the first runs the migrations alone (they are locked anyway)
  const entry = bundle.entry;
  nodes.push(await startRelay({ env, entry }));
  nodes.push(await startRelay({ env, entry }));
}, 60_000);

afterAll(async () => {
  for (const d of devices) d.disconnect();
  for (const n of nodes) await n.stop();
  nodes = [];
  await cluster?.stop();
  bundle?.remove();
  if (unavailable === null) await dropSchemas([schema]);
});

async function readyz(url: string): Promise<string> {
  const res = await fetch(`${url}/readyz`);
  return `${res.status} ${await res.text()}`;
}

maybe("relay nodes on a real Redis Cluster", () => {
  it("delivers across nodes, shares one lookup budget, and spreads its keys over the masters", async () => {
    const [a, b] = nodes as [RelayProcess, RelayProcess];
    expect(await readyz(a.url)).toBe("200 ready");
    expect(await readyz(b.url)).toBe("200 ready");
    const tag = randomBytes(3).toString("hex");
    const alice = await new TestDevice(a.url).signUp(`messenger:alice.rc.${tag}`);
    const bob = await new TestDevice(b.url).signUp(`messenger:bob.rc.${tag}`);
    devices.push(alice, bob);

    // across nodes: stored through A, pushed to bob's connection on B by the adapter over the cluster
    const ids = [randomId(), randomId(), randomId()];
    for (const id of ids) {
      const sent = await call(alice.s, EVENTS.send, { from: `messenger:alice.rc.${tag}`, envelopes: [{ id, to: `messenger:bob.rc.${tag}`, toDevice: bob.deviceId, body: envelopeBody(`across ${id}`) }] });
      expect(sent).toMatchObject({ ok: true, stored: 1 });
    }
    await bob.waitFor((got) => ids.every((id) => got.some((e) => e.id === id)), "mail sent through the other node");

    // one budget on both nodes: alice's second login is on B
    const aliceOnB = new TestDevice(b.url, alice);
    devices.push(aliceOnB);
    await aliceOnB.connect();
    expect((await aliceOnB.login()).ok).toBe(true);
    let ok = 0;
    let refused: { code: string } | null = null;
    for (let i = 0; i < LOOKUPS + 2; i++) {
      const res = await call((i % 2 === 0 ? alice : aliceOnB).s, EVENTS.lookup, { address: `messenger:bob.rc.${tag}` });
      if (res.ok) ok++;
      else refused = res.error;
    }
    expect(ok).toBe(LOOKUPS);
    expect(refused).toMatchObject({ code: "rate_limited" });

    // the keys the nodes wrote (limits, node registry, connection caps) live on more than one master
    const client = connectRedis(cluster!.url) as Cluster;
    try {
      // two nodes beat into the registry (the first command also waits for the slot map)
      expect(await client.zcard(`${prefix}nodes`)).toBe(2);
      const perMaster = await Promise.all(
        client.nodes("master").map(async (node) => {
          let cursor = "0";
          let count = 0;
          do {
            const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
            count += keys.length;
            cursor = next;
          } while (cursor !== "0");
          return count;
        }),
      );
      expect(perMaster.length).toBe(3);
      expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);
    } finally {
      client.disconnect();
    }
  }, 30_000);
});
