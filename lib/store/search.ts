// The full-text search index: blocks of messages, one per receivedAt (a commit stores all its messages with one
// receivedAt), each holding its messages' words, with a multi-entry index on the words of the whole block
// (docs/BENCHMARKS.md "Search index" says why this shape). A backlog batch of 200 messages is one block: one row
// and one index entry per distinct word of the batch, instead of a row and ~10 index entries per message. The
// key is a number, which every index entry repeats: short. A message's block follows from the message itself,
// so an edit or a delete finds it.
//
// The index is kept by a Dexie middleware under the messages table: every write of a message row (add,
// put, update, delete, clear) rewrites its block in the SAME IndexedDB transaction, and any read-write
// transaction over messages also covers the index. So no code path that stores, edits, deletes or expires
// a message can forget it, and a crash leaves both or neither. Rows of databases from before the index
// are indexed in the background (backfillSearchIndex). Runtime: browser and Node tests.
import Dexie, { type DBCore, type DBCoreMutateRequest, type DBCoreMutateResponse, type DBCoreTable, type DBCoreTransaction, type Middleware } from "dexie";
import type { JunctionDB, MessageRow } from "./db";
import { tokenize } from "./tokenize";

export const SEARCH_TABLE = "searchBlocks";
/** Meta key: the id after which messages still wait to be indexed (absent: nothing waits). */
export const BACKFILL_KEY = "searchBackfill";

/** The messages stored in one commit (or in commits of the same millisecond), and their words. */
export interface SearchBlock {
  receivedAt: number;
  /** The distinct folded words of all its messages (tokenize.ts): the multi-entry index. */
  tokens: string[];
  /** Its messages: ids, their sentAt, and each one's words as positions in `tokens` (absent for a block of one
   * message: all of them are its words). */
  ids: string[];
  sentAts: number[];
  words?: number[][];
}

export type BlockKey = number;

/** One message in a block, with its words spelled out. */
export interface SearchEntry {
  id: string;
  sentAt: number;
  tokens: string[];
}

/** Whether a message has words to find: a text, or an attachment's caption, that is still there. */
export function searchable(m: MessageRow): boolean {
  return (m.kind === undefined || m.kind === "text" || m.kind === "attachment") && m.deletedAt === undefined && typeof m.text === "string" && m.text.length > 0;
}

/** The block a message's words go to (null for a row without the fields: never indexed). */
export function blockKeyOf(m: Partial<MessageRow> | undefined | null): BlockKey | null {
  return m && typeof m.receivedAt === "number" && typeof m.id === "string" ? m.receivedAt : null;
}

/** The text the index holds for a message (null: none), to tell whether a write changed its words. */
function indexedText(m: MessageRow | undefined | null): string | null {
  return m && searchable(m) ? m.text : null;
}

/** A message's entry in its block, or null when it has nothing to find. */
export function searchEntryOf(m: MessageRow): SearchEntry | null {
  if (!searchable(m) || typeof m.sentAt !== "number" || typeof m.id !== "string") return null;
  const tokens = tokenize(m.text);
  return tokens.length ? { id: m.id, sentAt: m.sentAt, tokens } : null;
}

/** The entries of a block, words spelled out. */
export function entriesOf(block: SearchBlock): SearchEntry[] {
  if (!block.words) return block.ids.slice(0, 1).map((id) => ({ id, sentAt: block.sentAts[0] ?? 0, tokens: block.tokens }));
  return block.ids.map((id, i) => ({ id, sentAt: block.sentAts[i] ?? 0, tokens: (block.words?.[i] ?? []).map((w) => block.tokens[w] ?? "") }));
}

/** Each message's words as positions in the block's `tokens`. */
export function wordsOf(block: SearchBlock): number[][] {
  return block.words ?? [block.tokens.map((_, i) => i)];
}

/** A block of these entries (null when none is left: the block goes). */
export function blockOf(key: BlockKey, entries: Iterable<SearchEntry>): SearchBlock | null {
  const list = [...entries];
  const [only] = list;
  if (list.length === 1 && only) return { receivedAt: key, tokens: [...only.tokens], ids: [only.id], sentAts: [only.sentAt] };
  const tokens: string[] = [];
  const at = new Map<string, number>();
  const words: number[][] = [];
  const block: SearchBlock = { receivedAt: key, tokens, ids: [], sentAts: [], words };
  for (const e of list) {
    block.ids.push(e.id);
    block.sentAts.push(e.sentAt);
    words.push(
      e.tokens.map((t) => {
        let i = at.get(t);
        if (i === undefined) {
          i = tokens.length;
          tokens.push(t);
          at.set(t, i);
        }
        return i;
      }),
    );
  }
  return block.ids.length ? block : null;
}

const keyString = (k: BlockKey) => String(k);

/** What one write does to one block: ids that leave it, entries that (re)enter it. */
interface BlockChange {
  key: BlockKey;
  remove: Set<string>;
  add: SearchEntry[];
}

class BlockChanges {
  readonly byKey = new Map<string, BlockChange>();

  private of(key: BlockKey): BlockChange {
    const s = keyString(key);
    let c = this.byKey.get(s);
    if (!c) {
      c = { key, remove: new Set(), add: [] };
      this.byKey.set(s, c);
    }
    return c;
  }

  remove(key: BlockKey, id: string): void {
    this.of(key).remove.add(id);
  }

  add(key: BlockKey, entry: SearchEntry): void {
    this.of(key).add.push(entry);
  }

  get size(): number {
    return this.byKey.size;
  }

  keys(): BlockKey[] {
    return [...this.byKey.values()].map((c) => c.key);
  }
}

/**
 * Applies the changes to the blocks read (`existing`, in the order of changes.keys()): one put of the blocks
 * that keep entries and one delete of those left empty. Entries added under an id the block holds replace it.
 */
function writeBlocks(index: DBCoreTable, trans: DBCoreTransaction, changes: BlockChanges, existing: readonly unknown[]): Promise<unknown> {
  const puts: SearchBlock[] = [];
  const gone: BlockKey[] = [];
  [...changes.byKey.values()].forEach((c, i) => {
    const before = existing[i] as SearchBlock | undefined;
    const entries = new Map<string, SearchEntry>();
    if (before) for (const e of entriesOf(before)) if (!c.remove.has(e.id)) entries.set(e.id, e);
    for (const e of c.add) entries.set(e.id, e);
    const block = blockOf(c.key, entries.values());
    if (block) puts.push(block);
    else if (before) gone.push(c.key);
  });
  const putting = puts.length ? index.mutate({ type: "put", trans, values: puts }) : null;
  const deleting = gone.length ? index.mutate({ type: "delete", trans, keys: gone }) : null;
  if (putting && deleting) return Promise.all([putting, deleting]);
  return putting ?? deleting ?? Promise.resolve();
}

/** Reads the changed blocks, then rewrites them (promise chain: see mutateBoth). */
function rewriteBlocks(index: DBCoreTable, trans: DBCoreTransaction, changes: BlockChanges): Promise<unknown> {
  if (changes.size === 0) return Promise.resolve();
  return index.getMany({ trans, keys: changes.keys() }).then((existing) => writeBlocks(index, trans, changes, existing));
}

function coversIndex(trans: DBCoreTransaction): boolean {
  const names = (trans as unknown as { objectStoreNames?: DOMStringList }).objectStoreNames;
  return !!names && names.contains(SEARCH_TABLE);
}

/** Keeps the index in step with the messages table (see the file's comment). */
export const searchIndexMiddleware: Middleware<DBCore> = {
  stack: "dbcore",
  name: "searchIndex",
  // Under Dexie's own middlewares (observability and cache are level 0): the block writes are not reported in
  // `storagemutated`. The index is worker-only and nobody watches it, but a block's multi-entry index names
  // every distinct word of a commit, and those keys went out on the BroadcastChannel to every thread, where
  // each live query merges them into the set it keeps until it runs again (a backlog's hundreds of words per
  // commit cost the page's main thread ~0.5 s of range-tree inserts). The message writes themselves are still
  // reported: they pass through the middlewares above this one.
  level: -1,
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
 * What indexing has added to the commits that store messages in this thread: tokenising, and the time from a
 * message add's answer to its blocks' answer, and the messages indexed. Diagnostics shows it; bench:client sets
 * it beside the backlog's time.
 */
export const searchIndexCost = { ms: 0, rows: 0 };

/** Removes every given old row's entry from its block. */
function removals(oldRows: readonly unknown[]): BlockChanges {
  const changes = new BlockChanges();
  for (const o of oldRows as (MessageRow | undefined)[]) {
    const key = blockKeyOf(o);
    if (o && key !== null && indexedText(o) !== null) changes.remove(key, o.id);
  }
  return changes;
}

// Written as promise chains, not async functions: Dexie keeps a transaction's zone across its own
// promises, and an async function's extra hop at its end (after the last request, with nothing left to
// write) lost it: the caller's next write then ran outside the transaction, which committed early
// (PrematureCommitError; lib/engine/attachments tests send a file without caption, which has no words).
function mutateBoth(messages: DBCoreTable, index: DBCoreTable, req: DBCoreMutateRequest): Promise<DBCoreMutateResponse> {
  const trans = req.trans;
  if (req.type === "add") {
    // the words are found while the add goes; only the rows the add took are indexed (a refused duplicate
    // keeps the row, and the entry, it had)
    const started = performance.now();
    const values = req.values as readonly MessageRow[];
    const entries = values.map((v) => (blockKeyOf(v) !== null ? searchEntryOf(v) : null));
    const changes = new BlockChanges();
    values.forEach((v, i) => {
      const e = entries[i];
      if (e) changes.add(blockKeyOf(v) as BlockKey, e);
    });
    if (changes.size === 0) return messages.mutate(req);
    // the blocks are read beside the add: usually there is none yet (a new commit's receivedAt)
    const existingRead = index.getMany({ trans, keys: changes.keys() });
    let spent = performance.now() - started;
    return messages.mutate(req).then((res) => {
      const answered = performance.now();
      const taken = new BlockChanges();
      let count = 0;
      values.forEach((v, i) => {
        const e = entries[i];
        if (!e || res.failures[i]) return;
        taken.add(blockKeyOf(v) as BlockKey, e);
        count += 1;
      });
      searchIndexCost.rows += count;
      if (taken.size === 0) return res;
      return existingRead.then((existing) => {
        // the blocks read are those of every value; keep the ones of the rows taken, in their order
        const read = new Map(changes.keys().map((k, i) => [keyString(k), existing[i]]));
        return writeBlocks(index, trans, taken, taken.keys().map((k) => read.get(keyString(k)))).then(() => {
          spent += performance.now() - answered;
          searchIndexCost.ms += spent;
          return res;
        });
      });
    });
  }
  if (req.type === "put") {
    const values = req.values as readonly MessageRow[];
    const ids = values.map((v) => v.id);
    // the old rows are read before the write: most puts (receipts, reactions) change no word and stop there
    const oldRead = messages.getMany({ trans, keys: ids });
    return messages.mutate(req).then((res) =>
      oldRead.then((oldRows) => {
        const changes = new BlockChanges();
        values.forEach((v, i) => {
          if (res.failures[i]) return;
          const old = oldRows[i] as MessageRow | undefined;
          const oldKey = blockKeyOf(old);
          const newKey = blockKeyOf(v);
          const oldText = indexedText(old);
          const newText = indexedText(v);
          if (oldText === newText && oldKey === newKey && old?.sentAt === v.sentAt) return;
          if (old && oldKey !== null && oldText !== null) changes.remove(oldKey, old.id);
          const entry = newKey !== null ? searchEntryOf(v) : null;
          if (entry && newKey !== null) changes.add(newKey, entry);
        });
        return rewriteBlocks(index, trans, changes).then(() => res);
      }),
    );
  }
  if (req.type === "delete") {
    // the message rows name their blocks: read them as the delete goes
    const oldRead = messages.getMany({ trans, keys: req.keys });
    return messages.mutate(req).then((res) => oldRead.then((oldRows) => rewriteBlocks(index, trans, removals(oldRows)).then(() => res)));
  }
  // deleteRange (a clear, or a range of ids): rare, so read what goes first
  return messages.query({ trans, values: true, query: { index: messages.schema.primaryKey, range: req.range } }).then((found) =>
    messages.mutate(req).then((res) => rewriteBlocks(index, trans, removals(found.result)).then(() => res)),
  );
}

/** Adds the blocks; for each, whether it was added (false: a block with its key is there already). */
async function addRefusingExisting(db: JunctionDB, blocks: SearchBlock[]): Promise<boolean[]> {
  try {
    await db.searchBlocks.bulkAdd(blocks);
    return blocks.map(() => true);
  } catch (error) {
    if (!(error instanceof Dexie.BulkError)) throw error;
    const failed = new Set(Object.keys(error.failuresByPos).map(Number));
    return blocks.map((_, i) => !failed.has(i));
  }
}

/** Messages indexed per backfill transaction: short transactions leave room for the receive path. */
export const BACKFILL_BATCH = 400;

/**
 * Indexes the next batch of messages stored before the index existed (walking by id). Returns false once
 * nothing waits. A message written meanwhile was indexed by its own write; adding its entry again replaces it.
 */
export async function backfillSearchIndex(db: JunctionDB, batch = BACKFILL_BATCH): Promise<boolean> {
  return db.transaction("rw", [db.messages, db.searchBlocks, db.meta], async () => {
    const cursor = await db.meta.get(BACKFILL_KEY);
    if (!cursor) return false;
    const after = typeof cursor.value === "string" ? cursor.value : "";
    const rows = await db.messages.where(":id").above(after).limit(batch).toArray();
    const changes = new Map<BlockKey, SearchEntry[]>();
    for (const m of rows) {
      const key = blockKeyOf(m);
      const entry = key !== null ? searchEntryOf(m) : null;
      if (key === null || !entry) continue;
      const list = changes.get(key);
      if (list) list.push(entry);
      else changes.set(key, [entry]);
    }
    if (changes.size) {
      // mostly new blocks: added at once; one that is there already (a message written meanwhile, or in an
      // earlier batch of the same commit) is read and merged
      const keys = [...changes.keys()];
      const blocks = keys.map((k) => blockOf(k, changes.get(k) ?? []) as SearchBlock);
      const taken = await addRefusingExisting(db, blocks);
      const merge = keys.filter((_, i) => !taken[i]);
      if (merge.length) {
        const existing = await db.searchBlocks.bulkGet(merge);
        await db.searchBlocks.bulkPut(
          merge.map((k, i) => {
            const entries = new Map<string, SearchEntry>();
            const before = existing[i];
            if (before) for (const e of entriesOf(before)) entries.set(e.id, e);
            for (const e of changes.get(k) ?? []) entries.set(e.id, e);
            return blockOf(k, entries.values()) as SearchBlock;
          }),
        );
      }
    }
    const last = rows[rows.length - 1];
    if (rows.length < batch || !last) await db.meta.delete(BACKFILL_KEY);
    else await db.meta.put({ key: BACKFILL_KEY, value: last.id });
    return rows.length === batch;
  });
}
