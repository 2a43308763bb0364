// Search, run in the worker over the index of lib/store/search.ts: messages by their words (newest first,
// grouped by conversation, with a snippet and where the match is), and conversations by the peer's name or
// address. Also the background indexing of messages stored before the index existed.
import { brandOf, type Address } from "../brands";
import Dexie from "dexie";
import type { AddressBookRow, ContactRow, ConversationRow, GroupRow, JunctionDB, MessageRow } from "../store/db";
import { BACKFILL_KEY, backfillSearchIndex, searchable, wordsOf, type BlockKey, type SearchBlock } from "../store/search";
import { fold, matchesAll, matchRanges, queryTokens, snippet, tokenize } from "../store/tokenize";
import { EngineError, type SearchContact, type SearchConversation, type SearchHit, type SearchResults } from "../worker/rpc";

export const MAX_QUERY_CHARS = 500;
export const DEFAULT_SEARCH_LIMIT = 50;
export const MAX_SEARCH_LIMIT = 200;
/**
 * Index blocks (a commit's messages of one conversation each) read for one query, newest first per word. A
 * word in tens of thousands of blocks finds its newest ones; typing a second word narrows it.
 */
export const SCAN_CAP = 1_000;
/** Most conversations found by name. */
export const MAX_NAME_MATCHES = 20;
/** Messages read per step while checking candidates. */
const CHECK_CHUNK = 100;
/** Index blocks read per step. */
const BLOCK_CHUNK = 20;

export async function searchLocal(db: JunctionDB, query: string, limit: number | undefined, now: number): Promise<SearchResults> {
  if (typeof query !== "string" || query.length > MAX_QUERY_CHARS) throw new EngineError("bad_request", `a query is at most ${MAX_QUERY_CHARS} characters`);
  const max = limit ?? DEFAULT_SEARCH_LIMIT;
  if (!Number.isInteger(max) || max < 1 || max > MAX_SEARCH_LIMIT) throw new EngineError("bad_request", `the limit is 1 to ${MAX_SEARCH_LIMIT}`);
  const started = performance.now();
  const tokens = queryTokens(query);
  if (tokens.length === 0) return { tokens, names: [], contacts: [], groups: [], more: false, indexing: false, tookMs: 0 };

  // The message side in one read-only transaction (the index's keys, its blocks, the candidates' rows, their
  // conversations): one transaction instead of one per read, each a round trip to the browser's storage. One
  // hit past the limit, only to say whether a larger limit shows more (the page's "Show more").
  const [{ found, backfill, hitConvs }, { conversations, others, groupNames, names }] = await Promise.all([
    db.transaction("r", [db.searchBlocks, db.messages, db.meta, db.conversations], async () => {
      const [found, backfill] = await Promise.all([messageHits(db, tokens, max + 1, now), db.meta.get(BACKFILL_KEY)]);
      const hitConvs = await db.conversations.bulkGet([...new Set(found.slice(0, max).map((h) => h.message.conversationId))]);
      return { found, backfill, hitConvs };
    }),
    nameIndex(db),
  ]);
  const hits = found.slice(0, max);
  const titleOf = (their: Address) => names.get(their) ?? their;
  // a word that is not even inside the folded text cannot start one of its words: most go here, unsegmented
  const matches = (e: NameEntry): boolean => tokens.every((t) => e.folded.includes(t)) && matchesAll(tokenize(e.text), tokens);

  // conversations by name: the id holds both addresses, so only the matches are read
  const named = conversations.filter(matches).map((e) => e.id);
  const people: SearchContact[] = [];
  for (const entry of others) {
    if (!matches(entry)) continue;
    const brand = brandOf(entry.address);
    if (!brand) continue;
    const title = titleOf(entry.address);
    people.push({ address: entry.address, title, brand, ranges: matchRanges(title, tokens) });
    if (people.length >= MAX_NAME_MATCHES) break;
  }
  people.sort((a, b) => a.title.localeCompare(b.title));
  const convRows = new Map<string, ConversationRow>();
  for (const row of hitConvs) if (row) convRows.set(row.id, row);
  const rest = named.filter((id) => !convRows.has(id));
  if (rest.length) for (const row of await db.conversations.bulkGet(rest)) if (row) convRows.set(row.id, row);
  const describe = (row: ConversationRow): SearchConversation => ({
    conversationId: row.id,
    title: groupNames.get(row.id) ?? row.groupName ?? titleOf(row.theirAddress),
    ourAddress: row.ourAddress,
    theirAddress: row.theirAddress,
    ourBrand: row.ourBrand,
    theirBrand: row.theirBrand,
  });

  const nameRows = named
    .map((id) => convRows.get(id))
    .filter((r): r is ConversationRow => r !== undefined)
    .sort((a, b) => b.lastActivity - a.lastActivity)
    .slice(0, MAX_NAME_MATCHES);
  const groups = new Map<string, SearchConversation & { hits: SearchHit[] }>();
  for (const { message: m, hit } of hits) {
    const row = convRows.get(m.conversationId);
    if (!row) continue;
    let group = groups.get(row.id);
    if (!group) {
      group = { ...describe(row), hits: [] };
      groups.set(row.id, group);
    }
    group.hits.push(hit);
  }
  return {
    tokens,
    contacts: people,
    names: nameRows.map((row) => {
      const d = describe(row);
      return { ...d, ranges: matchRanges(d.title, tokens) };
    }),
    groups: [...groups.values()],
    more: found.length > max,
    indexing: backfill !== undefined,
    tookMs: Math.round((performance.now() - started) * 10) / 10,
  };
}

/** A text something is found by, and the same folded. */
interface NameEntry {
  text: string;
  folded: string;
}

interface NameIndex {
  /** Every conversation, by its group's name, or by the peer's name (if known) and address. */
  conversations: (NameEntry & { id: string })[];
  /** People I have no conversation with yet: contacts I added, and those whose name I know. */
  others: (NameEntry & { address: Address })[];
  /** A group's conversation is named by the group. */
  groupNames: Map<string, string>;
  /** The name I gave someone, else the name they gave themselves. */
  names: Map<Address, string>;
}

/**
 * What names are searched in: every conversation's id, contact, address-book entry and group, with their texts
 * folded. Read and folded once and kept per database until one of those tables is written (Dexie's
 * storagemutated, which also carries other threads' and tabs' writes): typing a query asks again on every key,
 * and thousands of rows were read, and their names folded, each time.
 */
const nameCache = new Map<string, Promise<NameIndex>>();
let watching = false;
const NAME_TABLES = /^idb:\/\/([^/]+)\/(conversations|contacts|addressBook|groups)\//;

function buildNameIndex(convIds: string[], contacts: ContactRow[], book: AddressBookRow[], groupRows: GroupRow[]): NameIndex {
  const groupNames = new Map(groupRows.map((g) => [g.conversationId, g.name]));
  const names = new Map<Address, string>();
  for (const c of contacts) if (c.displayName) names.set(c.address, c.displayName);
  for (const b of book) if (b.nickname) names.set(b.address, b.nickname);
  const entry = (text: string): NameEntry => ({ text, folded: fold(text) });
  const byAddress = (address: Address): NameEntry => {
    const name = names.get(address);
    return entry(name ? `${name} ${address}` : address);
  };
  const talkedTo = new Set<Address>();
  const conversations = convIds.map((id) => {
    const groupName = groupNames.get(id);
    if (groupName !== undefined) return { id, ...entry(groupName) };
    const their = id.slice(id.indexOf("|") + 1) as Address;
    talkedTo.add(their);
    return { id, ...byAddress(their) };
  });
  const others = [...new Set<Address>([...book.filter((b) => b.addedAt !== undefined || b.nickname).map((b) => b.address), ...contacts.map((c) => c.address)])]
    .filter((address) => !talkedTo.has(address))
    .map((address) => ({ address, ...byAddress(address) }));
  return { conversations, others, groupNames, names };
}

function nameIndex(db: JunctionDB): Promise<NameIndex> {
  if (!watching) {
    watching = true;
    Dexie.on("storagemutated", (parts) => {
      for (const part of Object.keys(parts)) {
        const name = NAME_TABLES.exec(part)?.[1];
        if (name !== undefined) nameCache.delete(name);
      }
    });
  }
  let index = nameCache.get(db.name);
  if (!index) {
    index = Promise.all([db.conversations.toCollection().primaryKeys(), db.contacts.toArray(), db.addressBook.toArray(), db.groups.toArray()]).then(([convIds, contacts, book, groupRows]) =>
      buildNameIndex(convIds, contacts, book, groupRows),
    );
    nameCache.set(db.name, index);
    const read = index;
    read.catch(() => {
      if (nameCache.get(db.name) === read) nameCache.delete(db.name);
    });
  }
  return index;
}

/** The newest messages that match every word, from the index's blocks, checked against their current rows. */
async function messageHits(db: JunctionDB, tokens: string[], max: number, now: number): Promise<{ message: MessageRow; hit: SearchHit }[]> {
  // the longest word is likely the rarest: its blocks are the candidates, and each block says which of its
  // messages have every word
  const lead = tokens.reduce((a, b) => (b.length > a.length ? b : a));
  const found: { message: MessageRow; hit: SearchHit }[] = [];
  const seen = new Set<BlockKey>();
  // The index's keys are read by a cursor walking backwards, one step per key: read a few times what a page
  // needs, and more only when those blocks did not fill it (a word in few messages, or many words).
  for (let want = Math.min(SCAN_CAP, max * 4); ; want = Math.min(SCAN_CAP, want * 4)) {
    const { keys, exhausted } = await newestBlocks(db, lead, want);
    const blocks: BlockKey[] = [];
    for (const k of keys) {
      if (seen.has(k)) continue;
      seen.add(k);
      blocks.push(k);
    }
    // newest stored first (a block holds one commit's messages)
    blocks.sort((a, b) => b - a);
    await collectHits(db, blocks, tokens, max, now, found);
    if (found.length >= max || exhausted || want >= SCAN_CAP) break;
  }
  return found.sort((a, b) => b.message.sentAt - a.message.sentAt || (a.message.id < b.message.id ? 1 : -1));
}

/** Words of one prefix whose newest blocks are read each: a prefix of more (one or two letters) reads these. */
export const MAX_PREFIX_WORDS = 64;

/**
 * The keys of the newest `want` blocks with a word that starts with `lead` (more when several words do), and
 * whether that is all of them. The index runs word by word, then block by block: read backwards, it gives the
 * newest blocks of the alphabetically last word first, so a prefix of several words ("bir": bird, birthday)
 * reads each word's newest and merges them. Whether there are several is asked beside the first read (the first
 * and last word of the range), so a prefix of one word, and a whole word, wait for no more than before.
 */
async function newestBlocks(db: JunctionDB, lead: string, want: number): Promise<{ keys: BlockKey[]; exhausted: boolean }> {
  const range = () => db.searchBlocks.where("tokens").startsWith(lead);
  const [keys, [first], [last]] = await Promise.all([range().reverse().limit(want).primaryKeys() as Promise<BlockKey[]>, range().limit(1).keys(), range().reverse().limit(1).keys()]);
  // fewer than asked: the whole range, every word's blocks
  if (first === last || keys.length < want) return { keys, exhausted: keys.length < want };
  // past MAX_PREFIX_WORDS the merge is of the first words and the last one's: a prefix that short is refined
  // by the next key typed
  const words = (await range().limit(MAX_PREFIX_WORDS).uniqueKeys()) as string[];
  const each = await Promise.all(words.map((w) => db.searchBlocks.where("tokens").equals(w).reverse().limit(want).primaryKeys() as Promise<BlockKey[]>));
  return { keys: [...new Set([...keys, ...each.flat()])].sort((a, b) => b - a).slice(0, want), exhausted: false };
}

/** Reads blocks newest first and adds the messages that match every word until `found` holds `max`. */
async function collectHits(db: JunctionDB, blocks: BlockKey[], tokens: string[], max: number, now: number, found: { message: MessageRow; hit: SearchHit }[]): Promise<void> {
  let next = 0;
  while (found.length < max && next < blocks.length) {
    // blocks until there are enough candidates for what is still missing
    const candidates: { id: string; sentAt: number }[] = [];
    while (candidates.length < max - found.length && next < blocks.length) {
      // at least what is missing: a block per message (stored one by one) gives one candidate each
      const chunk = blocks.slice(next, next + Math.max(BLOCK_CHUNK, max - found.length - candidates.length));
      next += chunk.length;
      for (const block of await db.searchBlocks.bulkGet(chunk)) if (block) candidates.push(...matchingIn(block, tokens));
    }
    candidates.sort((a, b) => b.sentAt - a.sentAt || (a.id < b.id ? 1 : -1));
    for (let i = 0; i < candidates.length && found.length < max; i += CHECK_CHUNK) {
      const chunk = candidates.slice(i, i + CHECK_CHUNK);
      const rows = await db.messages.bulkGet(chunk.map((c) => c.id));
      rows.forEach((m) => {
        // the index follows every write; what it cannot know is a message that expired and is not swept yet
        if (!m || found.length >= max || !searchable(m) || (m.expiresAt !== undefined && m.expiresAt <= now)) return;
        const cut = snippet(m.text, tokens);
        found.push({ message: m, hit: { messageId: m.id, sentAt: m.sentAt, direction: m.direction, snippet: cut.text, ranges: cut.ranges } });
      });
    }
  }
}

/** The messages of a block that have every query word (each as the start of one of their words). */
function matchingIn(block: SearchBlock, query: readonly string[]): { id: string; sentAt: number }[] {
  // per query word, the block's words it starts
  const sets = query.map((q) => {
    const set = new Set<number>();
    block.tokens.forEach((t, i) => {
      if (t.startsWith(q)) set.add(i);
    });
    return set;
  });
  if (sets.some((s) => s.size === 0)) return [];
  const out: { id: string; sentAt: number }[] = [];
  wordsOf(block).forEach((words, i) => {
    if (sets.every((set) => words.some((w) => set.has(w)))) out.push({ id: block.ids[i] as string, sentAt: block.sentAts[i] as number });
  });
  return out;
}

/** Pause between backfill batches: the receive path and the UI's queries get their turns. */
const BACKFILL_PAUSE_MS = 25;

/** Indexes what was stored before the index, in small batches, until done or `stopped()`. */
export async function runBackfill(db: JunctionDB, stopped: () => boolean): Promise<number> {
  let batches = 0;
  while (!stopped() && (await backfillSearchIndex(db))) {
    batches += 1;
    await new Promise((resolve) => setTimeout(resolve, BACKFILL_PAUSE_MS));
  }
  return batches;
}

