// Group commit over the real stores: what many concurrent calls share (transactions, counted through
// onGroup), what each keeps (its outcome, its atomicity), what a failing group does, and that a
// resolved call is on disk. SQLite always; Postgres when TEST_DATABASE_URL (or the local server) is up.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { dropSchemas, postgresUnavailable, TEST_DATABASE_URL } from "../test/services";
import { envelope, registration, storeSuite } from "../test/storeSuite";
import { tempDataDir } from "../test/relayProcess";
import { GroupRunner, withGroupCommit } from "./groupCommit";
import { openPostgresStore } from "./postgres";
import { openSqliteStore } from "./sqlite";
import type { AccountRegistration, GroupableStore, MailboxQuotas, RelayStore } from "./types";

const ROOMY: MailboxQuotas = { perDeviceEnvelopes: 5_000, perDeviceBytes: 1 << 24 };
const DATABASE_URL = TEST_DATABASE_URL;
const pgReason = await postgresUnavailable();
const schemas: string[] = [];

afterAll(async () => {
  if (pgReason === null) await dropSchemas(schemas.splice(0));
});

interface Backend {
  name: string;
  skip: string | null;
  /** A new database; `open` may be called again for another store ("process") on the same one. */
  database(): Promise<() => Promise<GroupableStore>>;
}

const BACKENDS: Backend[] = [
  {
    name: "sqlite",
    skip: null,
    async database() {
      const dir = tempDataDir();
      return () => openSqliteStore(dir);
    },
  },
  {
    name: "postgres",
    skip: pgReason === null ? null : `no server at ${DATABASE_URL}: ${pgReason}`,
    async database() {
      const schema = `junction_test_${randomBytes(6).toString("hex")}`;
      schemas.push(schema);
      return () => openPostgresStore(DATABASE_URL, { schema, poolSize: 4 });
    },
  },
];

describe("GroupRunner", () => {
  it("starts a lone call at once, in a group of its own", async () => {
    const groups: number[][] = [];
    const runner = new GroupRunner(async (reqs: number[]) => (groups.push(reqs), reqs.map((r) => r * 2)), () => 1, 10);
    const started = performance.now();
    expect(await runner.submit(21)).toBe(42);
    expect(performance.now() - started).toBeLessThan(20);
    expect(groups).toEqual([[21]]);
  });

  it("groups the calls of one turn, and the calls that arrive while a group runs into the next, up to the cap", async () => {
    const groups: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const runner = new GroupRunner(
      async (reqs: number[]) => {
        groups.push(reqs);
        if (groups.length === 1) await gate;
        return reqs;
      },
      (r) => r,
      2_000,
    );
    const first = [runner.submit(1_000), runner.submit(1_000)];
    await new Promise((r) => setTimeout(r, 10));
    const rest = [runner.submit(1_000), runner.submit(500), runner.submit(600), runner.submit(1)];
    release();
    await Promise.all([...first, ...rest]);
    expect(groups).toEqual([[1_000, 1_000], [1_000, 500], [600, 1]]);
  });

  it("rejects every call of a failing group, and runs the next group", async () => {
    let fail = true;
    const runner = new GroupRunner(
      async (reqs: number[]) => {
        if (fail) throw new Error("injected");
        return reqs;
      },
      () => 1,
      10,
    );
    const failed = await Promise.allSettled([runner.submit(1), runner.submit(2)]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await runner.submit(3)).toBe(3);
  });
});

for (const backend of BACKENDS) {
  const describeIf = backend.skip === null ? describe : describe.skip;
  const title = backend.skip === null ? `group commit: ${backend.name}` : `group commit: ${backend.name} (skipped: ${backend.skip})`;

  describeIf(title, () => {
    const closing: RelayStore[] = [];
    afterEach(async () => {
      for (const s of closing.splice(0)) await s.close();
    });

    const setup = async (senders: number) => {
      const open = await backend.database();
      const inner = await open();
      const groups: { envelopes: number; calls: number }[] = [];
      const store = withGroupCommit(inner, { onGroup: (envelopes, calls) => groups.push({ envelopes, calls }) });
      closing.push(store);
      const recipient = registration();
      expect(await store.registerAccount(recipient, "new_device", 8)).toBe("ok");
      const from: AccountRegistration[] = [];
      for (let i = 0; i < senders; i++) {
        const reg = registration();
        expect(await store.registerAccount(reg, "new_device", 8)).toBe("ok");
        from.push(reg);
      }
      return { open, store, groups, recipient, from };
    };

    it("commits 50 concurrent calls from different connections in fewer transactions, each with its own outcome", async () => {
      const { store, groups, recipient, from } = await setup(50);
      const batches = from.map((sender, i) => Array.from({ length: 1 + (i % 3) }, () => envelope(recipient, sender)));
      const outcomes = await Promise.all(batches.map((batch) => store.storeEnvelopes(batch, ROOMY)));
      outcomes.forEach((outcome, i) => expect(outcome).toEqual({ ok: true, stored: batches[i]!.length, deviceIds: [recipient.deviceId] }));
      expect(groups.reduce((n, g) => n + g.calls, 0)).toBe(50);
      expect(groups.length).toBeLessThan(50);
      const total = batches.reduce((n, b) => n + b.length, 0);
      expect(groups.reduce((n, g) => n + g.envelopes, 0)).toBe(total);
      const pending = await store.pendingEnvelopes(recipient.deviceId, 0, 1_000);
      // every envelope once, and each call's envelopes in its own order
      expect(pending.map((p) => p.id).sort()).toEqual(batches.flat().map((e) => e.id).sort());
      for (const batch of batches) {
        const at = batch.map((e) => pending.findIndex((p) => p.id === e.id));
        expect(at).toEqual([...at].sort((a, b) => a - b));
      }
      expect(await store.mailboxStats()).toMatchObject({ devices: 1, envelopes: total });
    });

    it("refuses a call over quota, or to an unknown device, in the middle of a group: it stores nothing, the others everything", async () => {
      const { store, groups, recipient, from } = await setup(20);
      const batches = from.map((sender) => [envelope(recipient, sender), envelope(recipient, sender)]);
      const tight: MailboxQuotas = { perDeviceEnvelopes: 1, perDeviceBytes: 1 << 20 };
      const outcomes = await Promise.all(
        batches.map((batch, i) => {
          if (i === 7) return store.storeEnvelopes(batch, tight);
          if (i === 12) return store.storeEnvelopes([...batch, envelope(recipient, from[i]!, { toDevice: "ghost-device" })], ROOMY);
          return store.storeEnvelopes(batch, ROOMY);
        }),
      );
      expect(groups.length).toBeLessThan(20);
      expect(outcomes[7]).toEqual({ ok: false, reason: "quota_exceeded", to: recipient.address, toDevice: recipient.deviceId });
      expect(outcomes[12]).toEqual({ ok: false, reason: "unknown_device", to: recipient.address, toDevice: "ghost-device" });
      const refused = new Set([...batches[7]!, ...batches[12]!].map((e) => e.id));
      outcomes.forEach((outcome, i) => {
        if (i !== 7 && i !== 12) expect(outcome).toEqual({ ok: true, stored: 2, deviceIds: [recipient.deviceId] });
      });
      const pending = await store.pendingEnvelopes(recipient.deviceId, 0, 1_000);
      expect(pending).toHaveLength(36);
      expect(pending.some((p) => refused.has(p.id))).toBe(false);
      expect(await store.mailboxStats()).toMatchObject({ devices: 1, envelopes: 36 });
      // Nothing of the refused calls reached the ledger either: sent again, they are stored.
      expect(await store.storeEnvelopes(batches[7]!, ROOMY)).toEqual({ ok: true, stored: 2, deviceIds: [recipient.deviceId] });
    });

    it("rejects every call of a group that fails, and stores nothing of it", async () => {
      const { store, groups, recipient, from } = await setup(10);
      const batches = from.map((sender) => [envelope(recipient, sender)]);
      // A timestamp no column takes: the database refuses the statement in the middle of the group,
      // after the calls before it have written.
      batches[6] = [envelope(recipient, from[6]!, { ts: Number.NaN })];
      const settled = await Promise.allSettled(batches.map((batch) => store.storeEnvelopes(batch, ROOMY)));
      expect(settled.map((s) => s.status)).toEqual(Array(10).fill("rejected"));
      expect(groups).toEqual([]);
      expect(await store.pendingEnvelopes(recipient.deviceId, 0, 100)).toEqual([]);
      expect(await store.mailboxStats()).toMatchObject({ devices: 0, envelopes: 0 });
      // The store goes on: the good calls, sent again, are stored.
      const again = await Promise.all(batches.filter((_, i) => i !== 6).map((batch) => store.storeEnvelopes(batch, ROOMY)));
      expect(again.every((o) => o.ok && o.stored === 1)).toBe(true);
    });

    it("groups concurrent acks, each answering its own count", async () => {
      const { store, recipient, from } = await setup(5);
      const batches = from.map((sender) => [envelope(recipient, sender), envelope(recipient, sender)]);
      await Promise.all(batches.map((batch) => store.storeEnvelopes(batch, ROOMY)));
      const counts = await Promise.all([
        ...batches.map((batch) => store.deleteEnvelopes(recipient.deviceId, batch.map((e) => ({ to: recipient.address, id: e.id, fromDevice: e.fromDevice })))),
        // the same refs again in the same group: already gone, so none counted twice
        store.deleteEnvelopes(recipient.deviceId, batches[0]!.map((e) => ({ to: recipient.address, id: e.id }))),
      ]);
      expect(counts).toEqual([2, 2, 2, 2, 2, 0]);
      expect(await store.mailboxStats()).toEqual({ devices: 0, envelopes: 0, bytes: 0, largestDeviceBytes: 0 });
    });

    it("has a call's envelopes in the database when it resolves: a fresh store sees them", async () => {
      const { open, store, recipient, from } = await setup(3);
      const batches = from.map((sender) => [envelope(recipient, sender)]);
      await Promise.all(batches.map((batch) => store.storeEnvelopes(batch, ROOMY)));
      const fresh = await open();
      closing.push(fresh);
      expect((await fresh.pendingEnvelopes(recipient.deviceId, 0, 10)).map((p) => p.id).sort()).toEqual(batches.flat().map((e) => e.id).sort());
    });
  });
}

// The whole storage contract, through the wrapper.
storeSuite({
  name: "sqlite, group commit",
  async open() {
    const dir = tempDataDir();
    return { store: withGroupCommit(await openSqliteStore(dir)), reopen: async () => withGroupCommit(await openSqliteStore(dir)) };
  },
});

if (pgReason === null) {
  storeSuite({
    name: "postgres, group commit",
    async open() {
      const schema = `junction_test_${randomBytes(6).toString("hex")}`;
      schemas.push(schema);
      const open = () => openPostgresStore(DATABASE_URL, { schema, poolSize: 4 });
      return { store: withGroupCommit(await open()), reopen: async () => withGroupCommit(await open()) };
    },
  });
}
