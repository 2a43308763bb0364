// The full-text search index: one row per searchable message, `{ sentAt, id, tokens }`, keyed by
// [sentAt+id] with a multi-entry index on the words (docs/BENCHMARKS.md "Search index" says why this shape).
//
// The index is kept by a Dexie middleware under the messages table: every write of a message row (add,
// put, update, delete, clear) writes its index row in the SAME IndexedDB transaction, and any read-write
// transaction over messages also covers the index. So no code path that stores, edits, deletes or expires
// a message can forget it, and a crash leaves both or neither. Rows of databases from before the index
// are indexed in the background (backfillSearchIndex). Runtime: browser and Node tests.
import type { DBCore, DBCoreMutateRequest, DBCoreMutateResponse, DBCoreTable, DBCoreTransaction, Middleware } from "dexie";
import type { JunctionDB, MessageRow } from "./db";
import { tokenize } from "./tokenize";

export const SEARCH_TABLE = "searchIndex";
/** Meta key: the id after which messages still wait to be indexed (absent: nothing waits). */
export const BACKFILL_KEY = "searchBackfill";

export interface SearchRow {
  sentAt: number;
  /** The message id. */
  id: string;
  /** Its distinct folded words (tokenize.ts). */
  tokens: string[];
}

/** Whether a message has words to find: a text, or an attachment's caption, that is still there. */
export function searchable(m: MessageRow): boolean {
  return (m.kind === undefined || m.kind === "text" || m.kind === "attachment") && m.deletedAt === undefined && typeof m.text === "string" && m.text.length > 0;
}

/** The index row of a message, or null when it has nothing to find. */
export function searchRowOf(m: MessageRow): SearchRow | null {
  if (!searchable(m) || typeof m.sentAt !== "number" || typeof m.id !== "string") return null;
  const tokens = tokenize(m.text);
  return tokens.length ? { sentAt: m.sentAt, id: m.id, tokens } : null;
}

function keyOf(m: { sentAt?: unknown; id?: unknown } | undefined | null): [number, string] | null {
  return m && typeof m.sentAt === "number" && typeof m.id === "string" ? [m.sentAt, m.id] : null;
}

function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

function coversIndex(trans: DBCoreTransaction): boolean {
  const names = (trans as unknown as { objectStoreNames?: DOMStringList }).objectStoreNames;
  return !!names && names.contains(SEARCH_TABLE);
}

/** Keeps the index in step with the messages table (see the file's comment). */
export const searchIndexMiddleware: Middleware<DBCore> = {
  stack: "dbcore",
  name: "searchIndex",
  create(down) {
    const hasIndex = down.schema.tables.some((t) => t.name === SEARCH_TABLE);
    if (!hasIndex) return {};
    return {
      transaction(stores, mode, options) {
        const widened = mode === "readwrite" && stores.includes("messages") && !stores.includes(SEARCH_TABLE) ? [...stores, SEARCH_TABLE] : stores;
        return down.transaction(widened, mode, options);
      },
      table(name) {
        const table = down.table(name);
        if (name !== "messages") return table;
        const index = down.table(SEARCH_TABLE);
        return {
          ...table,
          mutate: (req) => (coversIndex(req.trans) ? mutateBoth(table, index, req) : table.mutate(req)),
        };
      },
    };
  },
};

/**
 * What indexing has added to the commits that store messages in this thread: the time from a message add's
 * answer to its index rows' (tokenising and the index write), and the rows written. Diagnostics shows it;
 * bench:client sets it beside the backlog's time.
 */
export const searchIndexCost = { ms: 0, rows: 0 };

// Written as promise chains, not async functions: Dexie keeps a transaction's zone across its own
// promises, and an async function's extra hop at its end (after the last request, with nothing left to
// write) lost it: the caller's next write then ran outside the transaction, which committed early
// (PrematureCommitError; lib/engine/attachments tests send a file without caption, which has no words).
function mutateBoth(messages: DBCoreTable, index: DBCoreTable, req: DBCoreMutateRequest): Promise<DBCoreMutateResponse> {
  const trans = req.trans;
  if (req.type === "add") {
    // only the rows the add took: a refused duplicate keeps the row (and index row) it had
    return messages.mutate(req).then((res) => {
      const started = performance.now();
      const rows: SearchRow[] = [];
      req.values.forEach((v: MessageRow, i) => {
        if (res.failures[i]) return;
        const row = searchRowOf(v);
        if (row) rows.push(row);
      });
      searchIndexCost.rows += rows.length;
      if (!rows.length) return res;
      return index.mutate({ type: "put", trans, values: rows }).then(() => {
        searchIndexCost.ms += performance.now() - started;
        return res;
      });
    });
  }
  if (req.type === "put") {
    const values = req.values as readonly MessageRow[];
    const keys = values.map(keyOf);
    const wanted = keys.filter((k): k is [number, string] => k !== null);
    // the old index rows are read beside the write: most puts (receipts, reactions) change no word
    const oldRead = wanted.length ? index.getMany({ trans, keys: wanted }) : null;
    return messages.mutate(req).then((res) => {
      const settle = (oldRows: readonly unknown[]) => {
        const old = new Map<string, SearchRow>();
        for (const o of oldRows as (SearchRow | undefined)[]) if (o) old.set(o.id, o);
        const puts: SearchRow[] = [];
        const gone: [number, string][] = [];
        values.forEach((v, i) => {
          const key = keys[i];
          if (res.failures[i] || !key) return;
          const row = searchRowOf(v);
          const before = old.get(v.id);
          if (row && !(before && sameTokens(before.tokens, row.tokens))) puts.push(row);
          else if (!row && before) gone.push(key);
        });
        const putting = puts.length ? index.mutate({ type: "put", trans, values: puts }) : null;
        const deleting = gone.length ? index.mutate({ type: "delete", trans, keys: gone }) : null;
        if (putting && deleting) return Promise.all([putting, deleting]).then(() => res);
        if (putting || deleting) return (putting ?? deleting)!.then(() => res);
        return res;
      };
      return oldRead ? oldRead.then(settle) : settle([]);
    });
  }
  if (req.type === "delete") {
    // the message rows name their index rows (by sentAt): read them as the delete goes
    const oldRead = messages.getMany({ trans, keys: req.keys });
    return messages.mutate(req).then((res) =>
      oldRead.then((oldRows) => {
        const gone = (oldRows as (MessageRow | undefined)[]).map(keyOf).filter((k): k is [number, string] => k !== null);
        return gone.length ? index.mutate({ type: "delete", trans, keys: gone }).then(() => res) : res;
      }),
    );
  }
  // deleteRange (a clear, or a range of ids): rare, so read what goes first
  return messages.query({ trans, values: true, query: { index: messages.schema.primaryKey, range: req.range } }).then((found) =>
    messages.mutate(req).then((res) => {
      const gone = (found.result as MessageRow[]).map(keyOf).filter((k): k is [number, string] => k !== null);
      return gone.length ? index.mutate({ type: "delete", trans, keys: gone }).then(() => res) : res;
    }),
  );
}

/** Messages indexed per backfill transaction: short transactions leave room for the receive path. */
export const BACKFILL_BATCH = 400;

/**
 * Indexes the next batch of messages stored before the index existed (walking by id). Returns false once
 * nothing waits. A message written meanwhile was indexed by its own write; putting its row again is harmless.
 */
export async function backfillSearchIndex(db: JunctionDB, batch = BACKFILL_BATCH): Promise<boolean> {
  return db.transaction("rw", [db.messages, db.searchIndex, db.meta], async () => {
    const cursor = await db.meta.get(BACKFILL_KEY);
    if (!cursor) return false;
    const after = typeof cursor.value === "string" ? cursor.value : "";
    const rows = await db.messages.where(":id").above(after).limit(batch).toArray();
    const index = rows.map(searchRowOf).filter((r): r is SearchRow => r !== null);
    if (index.length) await db.searchIndex.bulkPut(index);
    const last = rows[rows.length - 1];
    if (rows.length < batch || !last) await db.meta.delete(BACKFILL_KEY);
    else await db.meta.put({ key: BACKFILL_KEY, value: last.id });
    return rows.length === batch;
  });
}
