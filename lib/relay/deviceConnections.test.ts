// The per-device connection cap across relay nodes (Postgres + Redis): a login on one node closes the
// device's oldest connection on another, and the connections of a node that died without a word stop
// counting once its heartbeat lapses.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io, type Socket } from "socket.io-client";
import { MAX_CONNECTIONS_PER_DEVICE, MAX_CONNECTIONS_PER_IP } from "../protocol";
import { TestDevice } from "./test/device";
import { type RelayProcess, startRelay } from "./test/relayProcess";
import { deleteRedisKeys, dropSchemas, postgresUnavailable, TEST_DATABASE_URL, TEST_REDIS_URL } from "./test/services";
import { LIVE_VIEW_MS, NODE_HEARTBEAT_TTL_MS, nodesKey } from "./nodeRegistry";

const schema = `junction_devcap_${randomBytes(5).toString("hex")}`;
const prefix = `${schema}:`;
const unavailable = await postgresUnavailable();
const maybe = unavailable === null ? describe : describe.skip;
if (unavailable !== null) console.warn(`cross-node connection cap tests skipped: no Postgres at ${TEST_DATABASE_URL}: ${unavailable}`);

let a: RelayProcess | null = null;
let b: RelayProcess | null = null;
let c: RelayProcess | null = null;
const devices: TestDevice[] = [];
const sockets: Socket[] = [];
const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix };

beforeAll(async () => {
  if (unavailable !== null) return;
  [a, b] = await Promise.all([startRelay({ env }), startRelay({ env })]);
}, 60_000);

afterAll(async () => {
  for (const d of devices) d.disconnect();
  for (const s of sockets) s.disconnect();
  await a?.stop();
  await b?.kill();
  await c?.kill();
  if (unavailable !== null) return;
  await dropSchemas([schema]);
  const redis = new Redis(TEST_REDIS_URL);
  await deleteRedisKeys(redis, prefix).finally(() => redis.quit());
});

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Another connection of `device` on the node at `url`, logged in. */
async function loginAgain(device: TestDevice, url: string): Promise<TestDevice> {
  const conn = new TestDevice(url, device);
  devices.push(conn);
  await conn.connect();
  const res = await conn.login();
  if (!res.ok) throw new Error(`login refused: ${res.error.code}`);
  return conn;
}

async function signUp(url: string, name: string): Promise<TestDevice> {
  const device = new TestDevice(url);
  devices.push(device);
  return device.signUp(`messenger:${name}.${randomBytes(3).toString("hex")}`);
}

/** Until the registry lists one live node (the dead one's beat lapsed), and every node's view of it is new. */
async function untilOneNodeLives(redis: Redis): Promise<void> {
  await until(async () => (await redis.zcount(nodesKey(prefix), Date.now(), "+inf")) === 1, "the dead node's heartbeat to lapse", NODE_HEARTBEAT_TTL_MS + 10_000);
  await new Promise((r) => setTimeout(r, LIVE_VIEW_MS + 100));
}

const connected = (d: TestDevice) => d.socket?.connected === true;

maybe("the per-device connection cap across nodes", () => {
  it(`keeps a device's latest ${MAX_CONNECTIONS_PER_DEVICE} logins across nodes, not ${MAX_CONNECTIONS_PER_DEVICE} per node`, async () => {
    if (!a || !b) throw new Error("nodes not started");
    expect(MAX_CONNECTIONS_PER_DEVICE).toBe(4);
    const first = await signUp(a.url, "capx");
    const onB = [await loginAgain(first, b.url), await loginAgain(first, b.url), await loginAgain(first, b.url)];
    // four in all: nobody is closed (a moment for a wrong close to show)
    await new Promise((r) => setTimeout(r, 300));
    expect([first, ...onB].every(connected)).toBe(true);

    // a fifth login on B closes the oldest, which is on A
    const fifth = await loginAgain(first, b.url);
    await until(() => !connected(first), "the oldest connection, on the other node, to close");
    // and a login on A closes the oldest left, which is on B
    const sixth = await loginAgain(first, a.url);
    await until(() => !connected(onB[0] as TestDevice), "the oldest connection on B to close");
    expect([onB[1], onB[2], fifth, sixth].every((d) => connected(d as TestDevice))).toBe(true);
  }, 60_000);

  it("stops counting the connections of a node that died once its heartbeat lapses", async () => {
    if (!a || !b) throw new Error("nodes not started");
    const oldest = await signUp(a.url, "capy");
    for (let i = 0; i < 3; i++) await loginAgain(oldest, b.url);
    // node B dies without a word: its three connections of the device are still listed in Redis
    await b.kill();
    b = null;
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await untilOneNodeLives(redis);
    } finally {
      await redis.quit();
    }
    const later = [await loginAgain(oldest, a.url), await loginAgain(oldest, a.url), await loginAgain(oldest, a.url)];
    // four live connections: the oldest stays (counting the dead node's three would have closed it)
    await new Promise((r) => setTimeout(r, 300));
    expect(connected(oldest)).toBe(true);
    // a fifth live one closes it: the cap still holds
    const fifth = await loginAgain(oldest, a.url);
    await until(() => !connected(oldest), "the oldest connection to close");
    expect([...later, fifth].every(connected)).toBe(true);
  }, 60_000);

  it("frees the per-address connection slots of a node that died once its heartbeat lapses", async () => {
    if (!a) throw new Error("nodes not started");
    const open = (url: string) =>
      new Promise<boolean>((resolve) => {
        const s = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
        sockets.push(s);
        s.once("connect", () => resolve(true));
        s.once("connect_error", () => resolve(false));
      });
    // node C takes every slot left of this (loopback) address, then dies without a word
    c = await startRelay({ env });
    let taken = 0;
    while (taken <= MAX_CONNECTIONS_PER_IP && (await open(c.url))) taken++;
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThanOrEqual(MAX_CONNECTIONS_PER_IP);
    await c.kill();
    c = null;
    // its slots still count at first (node A refuses) …
    expect(await open(a.url)).toBe(false);
    // … and are free once its heartbeat lapses, not only when their 10-minute lease does
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await untilOneNodeLives(redis);
    } finally {
      await redis.quit();
    }
    expect(await open(a.url)).toBe(true);
  }, 60_000);
});
