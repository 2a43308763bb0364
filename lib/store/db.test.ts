// The schema's history is handed to Dexie in few declarations (SchemaHistory.declareOn): a database of any
// older version must come out exactly as declaring every version block one by one would leave it.
import "fake-indexeddb/auto";
import Dexie from "dexie";
import { describe, expect, it } from "vitest";
import { JunctionDB } from "./db";
import { BACKFILL_KEY } from "./search";

const history = JunctionDB.schemaHistory();
const versions = history.steps.map((s) => s.version);
const newest = Math.max(...versions);
let seq = 0;
const fresh = (tag: string) => `db-test-${tag}-${++seq}-${Math.random().toString(36).slice(2)}`;

/** A database declared the slow way: every block up to `upTo`, one `version()` each, with its upgrade. */
function everyBlock(name: string, upTo = newest): Dexie {
  const db = new Dexie(name);
  for (const step of history.steps) {
    if (step.version > upTo) continue;
    const v = db.version(step.version).stores(step.stores);
    if (step.upgrade) v.upgrade(step.upgrade);
  }
  return db;
}

/** What IndexedDB itself holds: version, stores, key paths and indexes. */
async function layout(name: string): Promise<unknown> {
  const idb = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  try {
    const names = [...idb.objectStoreNames].sort();
    const tx = idb.transaction(names, "readonly");
    const stores = names.map((n) => {
      const s = tx.objectStore(n);
      const indexes = [...s.indexNames].sort().map((i) => {
        const x = s.index(i);
        return { i, keyPath: x.keyPath, unique: x.unique, multi: x.multiEntry };
      });
      return { n, keyPath: s.keyPath, auto: s.autoIncrement, indexes };
    });
    return { version: idb.version, stores };
  } finally {
    idb.close();
  }
}

/** A database left at `version` by a build of that time, holding one conversation's message. */
async function oldDatabase(name: string, version: number): Promise<void> {
  const old = everyBlock(name, version);
  await old.open();
  await old.table("conversations").put({ id: "a|b", lastActivity: 1, ourAddress: "a", theirAddress: "b" });
  await old.table("messages").put({ id: "m1", conversationId: "a|b", sentAt: 1, text: "kept through the upgrade" });
  old.close();
}

describe("the schema's history", () => {
  it("declares to Dexie only the versions with an upgrade and the newest", () => {
    const db = new JunctionDB(fresh("declared"));
    expect(db.verno).toBe(newest);
    expect(history.steps.length).toBeGreaterThan(10);
    const declared = (db as unknown as { _versions: { _cfg: { version: number } }[] })._versions.map((v) => v._cfg.version);
    expect(declared).toEqual([...history.steps.filter((s) => s.upgrade).map((s) => s.version), newest]);
  });

  it("gives the same tables as declaring every block", () => {
    const ours = new JunctionDB(fresh("tables"));
    const slow = everyBlock(fresh("tables-slow"));
    const shape = (db: Dexie) =>
      db.tables
        .map((t) => ({ name: t.name, primKey: t.schema.primKey.src, indexes: t.schema.indexes.map((i) => i.src).sort() }))
        .sort((a, b) => a.name.localeCompare(b.name));
    expect(shape(ours)).toEqual(shape(slow));
  });

  it("creates a new database exactly as every block does", async () => {
    const a = fresh("new");
    const b = fresh("new-slow");
    const ours = new JunctionDB(a);
    const slow = everyBlock(b);
    await ours.open();
    await slow.open();
    ours.close();
    slow.close();
    expect(await layout(a)).toEqual(await layout(b));
  });

  it.each(versions.filter((v) => v < newest))("upgrades a database of version %i exactly as every block does, keeping its rows", async (version) => {
    const a = fresh(`v${version}`);
    const b = fresh(`v${version}-slow`);
    await oldDatabase(a, version);
    await oldDatabase(b, version);
    const ours = new JunctionDB(a);
    const slow = everyBlock(b);
    await ours.open();
    await slow.open();
    try {
      expect((await ours.messages.get("m1"))?.text).toBe("kept through the upgrade");
      // the upgrades that ran (search's backfill, asked for by versions 7 and 12) left the same marks
      expect(await ours.meta.get(BACKFILL_KEY)).toEqual(await slow.table("meta").get(BACKFILL_KEY));
      const upgradedSince = history.steps.some((s) => s.upgrade && s.version > version);
      expect(await ours.meta.get(BACKFILL_KEY)).toEqual(upgradedSince ? { key: BACKFILL_KEY, value: "" } : undefined);
    } finally {
      ours.close();
      slow.close();
    }
    expect(await layout(a)).toEqual(await layout(b));
  });
});
