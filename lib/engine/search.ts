// Search, run in the worker over the index of lib/store/search.ts: messages by their words (newest first,
// grouped by conversation, with a snippet and where the match is), and conversations by the peer's name or
// address. Also the background indexing of messages stored before the index existed.
import type { Address } from "../brands";
import type { ConversationRow, JunctionDB, MessageRow } from "../store/db";
import { BACKFILL_KEY, backfillSearchIndex, searchable } from "../store/search";
import { fold, matchesAll, matchRanges, queryTokens, snippet, tokenize } from "../store/tokenize";
import { EngineError, type SearchConversation, type SearchHit, type SearchResults } from "../worker/rpc";

export const MAX_QUERY_CHARS = 500;
export const DEFAULT_SEARCH_LIMIT = 50;
export const MAX_SEARCH_LIMIT = 200;
/**
 * Index entries read for one query, newest first per word. A word in tens of thousands of messages
 * finds its newest ones; typing a second word narrows it.
 */
export const SCAN_CAP = 1_000;
/** Most conversations found by name. */
export const MAX_NAME_MATCHES = 20;
/** Messages read per step while checking candidates. */
const CHECK_CHUNK = 100;

export async function searchLocal(db: JunctionDB, query: string, limit: number | undefined, now: number): Promise<SearchResults> {
  if (typeof query !== "string" || query.length > MAX_QUERY_CHARS) throw new EngineError("bad_request", `a query is at most ${MAX_QUERY_CHARS} characters`);
  const max = limit ?? DEFAULT_SEARCH_LIMIT;
  if (!Number.isInteger(max) || max < 1 || max > MAX_SEARCH_LIMIT) throw new EngineError("bad_request", `the limit is 1 to ${MAX_SEARCH_LIMIT}`);
  const started = performance.now();
  const tokens = queryTokens(query);
  if (tokens.length === 0) return { tokens, names: [], groups: [], indexing: false, tookMs: 0 };

  const [hits, convIds, contacts, backfill] = await Promise.all([
    messageHits(db, tokens, max, now),
    db.conversations.toCollection().primaryKeys(),
    db.contacts.toArray(),
    db.meta.get(BACKFILL_KEY),
  ]);
  const names = new Map(contacts.map((c) => [c.address, c.displayName]));
  const titleOf = (their: Address) => names.get(their) ?? their;

  // conversations by name: the id holds both addresses, so only the matches are read
  const named: string[] = [];
  for (const id of convIds) {
    const their = id.slice(id.indexOf("|") + 1) as Address;
    const name = names.get(their);
    const text = name ? `${name} ${their}` : their;
    // a word that is not even inside the folded text cannot start one of its words: most go here, unsegmented
    const folded = fold(text);
    if (!tokens.every((t) => folded.includes(t))) continue;
    if (matchesAll(tokenize(text), tokens)) named.push(id);
  }
  const wanted = [...new Set([...named, ...hits.map((h) => h.message.conversationId)])];
  const convRows = new Map<string, ConversationRow>();
  for (const row of await db.conversations.bulkGet(wanted)) if (row) convRows.set(row.id, row);
  const describe = (row: ConversationRow): SearchConversation => ({
    conversationId: row.id,
    title: titleOf(row.theirAddress),
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
    names: nameRows.map((row) => {
      const d = describe(row);
      return { ...d, ranges: matchRanges(d.title, tokens) };
    }),
    groups: [...groups.values()],
    indexing: backfill !== undefined,
    tookMs: Math.round((performance.now() - started) * 10) / 10,
  };
}

/** The newest messages that match every word, checked against their current text. */
async function messageHits(db: JunctionDB, tokens: string[], max: number, now: number): Promise<{ message: MessageRow; hit: SearchHit }[]> {
  // the longest word is likely the rarest: its entries are the candidates, the other words are checked
  const lead = tokens.reduce((a, b) => (b.length > a.length ? b : a));
  const keys = (await db.searchIndex.where("tokens").startsWith(lead).reverse().limit(SCAN_CAP).primaryKeys()) as [number, string][];
  const seen = new Set<string>();
  const candidates: [number, string][] = [];
  for (const k of keys) {
    if (seen.has(k[1])) continue;
    seen.add(k[1]);
    candidates.push(k);
  }
  candidates.sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? 1 : -1));
  const found: { message: MessageRow; hit: SearchHit }[] = [];
  for (let i = 0; i < candidates.length && found.length < max; i += CHECK_CHUNK) {
    const chunk = candidates.slice(i, i + CHECK_CHUNK);
    const rows = await db.messages.bulkGet(chunk.map((k) => k[1]));
    rows.forEach((m, j) => {
      if (!m || found.length >= max) return;
      // what the index says must still be true: the row is here, has not expired, and says these words
      if (m.sentAt !== chunk[j]?.[0] || !searchable(m) || (m.expiresAt !== undefined && m.expiresAt <= now)) return;
      if (!matchesAll(tokenize(m.text), tokens)) return;
      const cut = snippet(m.text, tokens);
      found.push({ message: m, hit: { messageId: m.id, sentAt: m.sentAt, direction: m.direction, snippet: cut.text, ranges: cut.ranges } });
    });
  }
  return found;
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

