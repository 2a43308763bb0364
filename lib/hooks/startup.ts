"use client";
// The first screen's reads start when this module is evaluated, before React hydrates: opening the
// database and reading the accounts and the inbox's first screenful run beside the
// module evaluation and hydration instead of after them, one waiting on the other. The hooks in data.ts
// hand what has come back to their live queries as the value to show until their own first answer (a
// few milliseconds later), so the first render after hydration already has the rows.
//
// What is read here is only a first picture: it is dropped on the first change to the database (from
// this page, the worker or another tab) and a few seconds after start, so no later mount shows it.
import Dexie from "dexie";
import { getDb } from "../store/db";
import { queryAccounts, queryInboxAsSet, type InboxRows } from "./queries";
import type { AccountRow } from "./types";

/** Rows a tall screen shows; the rest load one frame after they are painted. */
export const FIRST_SCREENFUL = 30;
/** After this, nothing read at start is handed out any more (ms after the module's evaluation). */
const EARLY_READS_LAST_MS = 5_000;

interface EarlyReads {
  accounts?: AccountRow[];
  inbox?: InboxRows;
}

let early: EarlyReads | null = null;
let startedAt = 0;

function drop(): void {
  early = null;
}

/** Starts the first screen's reads (once, in the browser only). */
export function startEarlyReads(): void {
  if (typeof window === "undefined" || typeof indexedDB === "undefined" || startedAt !== 0) return;
  startedAt = performance.now();
  const reads: EarlyReads = {};
  early = reads;
  Dexie.on("storagemutated", drop);
  setTimeout(drop, EARLY_READS_LAST_MS);
  const db = getDb();
  // each read lands on its own: the accounts decide what renders first, the inbox rows come after
  const keep = <K extends keyof EarlyReads>(key: K, read: Promise<EarlyReads[K]>) =>
    read.then(
      (value) => {
        if (early === reads) reads[key] = value;
      },
      // a failure here is the live query's to show; nothing read early is kept
      () => drop(),
    );
  void keep("accounts", queryAccounts(db));
  void keep("inbox", queryInboxAsSet(db, "all", FIRST_SCREENFUL));
}

function fresh(): EarlyReads | null {
  if (early && performance.now() - startedAt > EARLY_READS_LAST_MS) drop();
  return early;
}

/** My accounts as read at start, if they have come back and nothing changed since. */
export function earlyAccounts(): AccountRow[] | undefined {
  return fresh()?.accounts;
}

/** The inbox's first screenful of "all" as read at start; nothing for any other view. */
export function earlyInbox(filter: string, limit: number): InboxRows | undefined {
  return filter === "all" && limit === FIRST_SCREENFUL ? fresh()?.inbox : undefined;
}
