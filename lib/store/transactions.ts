// The database as seen from inside one transaction. Dexie finds a caller's transaction through its async
// zone, which follows native awaits only for a while and can be lost when another flow's microtasks run in
// between (the receive pipeline decrypts the next batch beside a commit). A call that lands outside the
// transaction then runs in a transaction of its own, the commit's transaction finishes early, and the
// commit fails (PrematureCommitError) with some writes already stored. Tables taken from the transaction
// object itself are bound to it whatever zone the code runs in: code that nests async functions inside a
// commit (the content kinds' `apply`) gets this view.
import Dexie, { type Table } from "dexie";
import type { JunctionDB } from "./db";

/** `db` with every table of the current transaction bound to it; `db` itself outside a transaction. */
export function boundToTransaction(db: JunctionDB): JunctionDB {
  const tx = Dexie.currentTransaction;
  if (!tx) return db;
  const tables: PropertyDescriptorMap = {};
  for (const name of tx.storeNames) tables[name] = { value: tx.table(name) };
  return Object.create(db, tables) as JunctionDB;
}

/** A read-write transaction whose work gets the bound view of the database. */
export function inTransaction<T>(db: JunctionDB, tables: (Table | string)[], work: (db: JunctionDB) => Promise<T>): Promise<T> {
  return db.transaction("rw", tables, () => work(boundToTransaction(db)));
}
