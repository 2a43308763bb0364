// The account cache over the real SQLite store: it answers the store contract exactly as the store does
// (the whole suite runs through it), a repeated read costs the database nothing, every account write
// through it shows in the next read, and a write it did not see (another node's) shows after the TTL.
import { afterEach, describe, expect, it } from "vitest";
import { tempDataDir } from "../test/relayProcess";
import { envelope, registration, storeSuite } from "../test/storeSuite";
import { withAccountCache } from "./accountCache";
import { openSqliteStore } from "./sqlite";
import type { RelayStore } from "./types";

storeSuite({
  name: "sqlite behind the account cache",
  async open() {
    const dir = tempDataDir();
    const cached = async () => withAccountCache(await openSqliteStore(dir), { ttlMs: Number.POSITIVE_INFINITY });
    return { store: await cached(), reopen: cached };
  },
});

const ROOMY = { perDeviceEnvelopes: 100, perDeviceBytes: 1 << 20 };

/** The real store, with its getAccount calls counted: what reaches the database. */
function counted(store: RelayStore): { store: RelayStore; reads: () => number } {
  let reads = 0;
  const getAccount = store.getAccount.bind(store);
  store.getAccount = (address) => (reads++, getAccount(address));
  return { store, reads: () => reads };
}

describe("account cache", () => {
  const open: RelayStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  async function setUp(ttlMs = Number.POSITIVE_INFINITY) {
    let clock = 1_000;
    const dir = tempDataDir();
    const inner = counted(await openSqliteStore(dir));
    const other = await openSqliteStore(dir);
    const store = withAccountCache(inner.store, { ttlMs, now: () => clock });
    open.push(store, other);
    const a = registration();
    const b = registration();
    for (const reg of [a, b]) expect(await store.registerAccount(reg, "new_device", 8)).toBe("ok");
    return { store, other, reads: inner.reads, a, b, tick: (ms: number) => (clock += ms) };
  }

  it("reads an account once for many sends' coverage checks, concurrent ones included", async () => {
    const { store, reads, a } = await setUp();
    const all = await Promise.all(Array.from({ length: 20 }, () => store.getAccount(a.address)));
    for (let i = 0; i < 20; i++) expect((await store.getAccount(a.address))?.deviceIds).toEqual([a.deviceId]);
    expect(all.every((r) => r?.deviceIds[0] === a.deviceId)).toBe(true);
    expect(reads()).toBe(1);
    expect(await store.getAccount("messenger:nobody.at.all" as never)).toBeNull();
  });

  it("shows a linked device, a published list and a removal in the very next read", async () => {
    const { store, a, b } = await setUp();
    expect((await store.getAccount(a.address))?.deviceIds).toEqual([a.deviceId]);
    const laptop = registration({ address: a.address, identityKey: a.identityKey });
    expect(await store.addCompanion(laptop, { version: 2, signed: "l2" }, 5)).toBe("ok");
    expect(await store.getAccount(a.address)).toMatchObject({ deviceIds: [a.deviceId, laptop.deviceId], deviceList: { version: 2, signed: "l2" } });
    expect(await store.putDeviceList(a.address, 3, "l3")).toBe("stored");
    expect((await store.getAccount(a.address))?.deviceList).toEqual({ version: 3, signed: "l3" });
    expect(await store.removeDevices(a.address, [a.deviceId])).toEqual([laptop.deviceId]);
    expect((await store.getAccount(a.address))?.deviceIds).toEqual([a.deviceId]);
    // the removed device gets nothing, whatever the cache held
    expect(await store.storeEnvelopes([envelope(laptop, b)], ROOMY)).toMatchObject({ ok: false, reason: "unknown_device" });
  });

  it("forgets a read that was in flight while a write changed the account", async () => {
    const { store, a } = await setUp();
    const laptop = registration({ address: a.address, identityKey: a.identityKey });
    const [before] = await Promise.all([store.getAccount(a.address), store.addCompanion(laptop, { version: 2, signed: "l2" }, 5)]);
    expect(before?.deviceIds.length).toBeGreaterThanOrEqual(1);
    expect((await store.getAccount(a.address))?.deviceIds).toEqual([a.deviceId, laptop.deviceId]);
  });

  it("sees another node's change once the entry is older than the TTL, not before", async () => {
    const { store, other, reads, a, tick } = await setUp(1_000);
    await store.getAccount(a.address);
    const laptop = registration({ address: a.address, identityKey: a.identityKey });
    expect(await other.addCompanion(laptop, { version: 2, signed: "l2" }, 5)).toBe("ok");
    tick(999);
    expect((await store.getAccount(a.address))?.deviceIds).toEqual([a.deviceId]);
    expect(reads()).toBe(1);
    tick(1);
    expect((await store.getAccount(a.address))?.deviceIds).toEqual([a.deviceId, laptop.deviceId]);
    expect(reads()).toBe(2);
  });

  it("hands out records nobody can change", async () => {
    const { store, a } = await setUp();
    const record = (await store.getAccount(a.address))!;
    expect(() => (record.deviceIds as string[]).push("device-forged")).toThrow(TypeError);
    expect((await store.getAccount(a.address))?.deviceIds).toEqual([a.deviceId]);
  });
});
