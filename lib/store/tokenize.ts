// Words for the search index, the same way for what is stored and what is typed. Pure: runs in the worker,
// on the main thread and in Node tests.
//
// - Words come from Intl.Segmenter at word granularity, which finds words in languages written without
//   spaces (Japanese, Chinese, Thai) from ICU's dictionaries: "私は東京に住んでいます" gives 私 は 東京 に …
// - Case and accents fold away (NFKD, the marks on Latin, Greek and Cyrillic letters dropped, lower case):
//   "Café" and "cafe" are one word. Marks of other scripts stay: Thai vowels, the Japanese voicing marks.
// - A message contributes at most MAX_TOKENS_PER_MESSAGE distinct words of at most MAX_TOKEN_CHARS each:
//   a huge message costs the index no more than a long one.

/** Most distinct words one message adds to the index. */
export const MAX_TOKENS_PER_MESSAGE = 200;
/** Longer words are cut to this (a prefix search still finds them by their start). */
export const MAX_TOKEN_CHARS = 32;
/** Most words of a query (the rest are ignored). */
export const MAX_QUERY_TOKENS = 8;

let segmenter: Intl.Segmenter | null = null;

function words(): Intl.Segmenter {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "word" });
  return segmenter;
}

// Accents on Latin, Greek and Cyrillic letters. Marks elsewhere are letters' parts (Thai vowels, the kana
// voicing marks NFKD splits off が, Devanagari signs): dropping them would merge different words.
const ACCENTS = /([\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}])\p{M}+/gu;

/** A word as the index keeps it: compatibility-decomposed, without accents, lower case. */
export function fold(word: string): string {
  // plain ASCII (most text) has nothing to decompose
  if (ASCII.test(word)) return word.toLowerCase();
  return word.normalize("NFKD").replace(ACCENTS, "$1").toLowerCase();
}

const ASCII = /^[\x00-\x7f]*$/;

// Scripts written without spaces between words: only text with one of them needs the segmenter's
// dictionaries. Other text is split by WORD, which follows the segmenter's word rules for it (letters,
// digits, marks and underscores, joined by an apostrophe, a full stop or a colon between letters and by an
// apostrophe, a full stop, a comma or a semicolon between digits: "it's", "example.com", "3.14",
// "1,000", "snake_case"), at a fraction of the cost: it runs for every message stored.
const NEEDS_DICTIONARY = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tibetan}]/u;
const WORD = /[\p{L}\p{N}\p{M}\p{Pc}]+(?:(?:(?<=[\p{L}\p{M}])['’.:](?=\p{L})|(?<=\p{N})['’.,;](?=\p{N}))[\p{L}\p{N}\p{M}\p{Pc}]+)*/gu;

/** The word-like segments of a text, in order, with where each starts. */
export function* wordSegments(text: string): Generator<{ segment: string; index: number }> {
  if (NEEDS_DICTIONARY.test(text)) {
    for (const s of words().segment(text)) if (s.isWordLike) yield s;
    return;
  }
  for (const m of text.matchAll(WORD)) yield { segment: m[0], index: m.index };
}

/** One word of a text: where it is in the text (UTF-16 offsets) and its folded form. */
export interface WordSpan {
  start: number;
  end: number;
  token: string;
}

/** Every word of a text, in order, with where it is. */
export function wordSpans(text: string): WordSpan[] {
  const spans: WordSpan[] = [];
  for (const s of wordSegments(text)) {
    const token = fold(s.segment).slice(0, MAX_TOKEN_CHARS);
    if (token) spans.push({ start: s.index, end: s.index + s.segment.length, token });
  }
  return spans;
}

// Chinese and Japanese words the segmenter found are also kept from each later character on (東京都 gives
// 東京都, 京都, 都), so that matching words by their start finds a character inside a word too.
const INSIDE_WORDS = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]{2,}$/u;
/** Longest word whose inner starts are kept. */
const MAX_INSIDE_WORD = 8;

/** The distinct words of a message, as the index keeps them (at most MAX_TOKENS_PER_MESSAGE). */
export function tokenize(text: string): string[] {
  const seen = new Set<string>();
  // Without dictionary scripts the whole text is folded at once and split after (folding keeps those word
  // boundaries): one normalisation per message instead of one per word. The query goes the same way.
  const dictionary = NEEDS_DICTIONARY.test(text);
  const source = dictionary ? text : fold(text);
  for (const s of wordSegments(source)) {
    const token = (dictionary ? fold(s.segment) : s.segment).slice(0, MAX_TOKEN_CHARS);
    if (!token) continue;
    seen.add(token);
    if (dictionary && token.length <= MAX_INSIDE_WORD && INSIDE_WORDS.test(token)) {
      const chars = Array.from(token);
      for (let i = 1; i < chars.length; i++) seen.add(chars.slice(i).join(""));
    }
    if (seen.size >= MAX_TOKENS_PER_MESSAGE) break;
  }
  return [...seen];
}

/** The words of a query: each is matched as a prefix (as you type), all must match. */
export function queryTokens(query: string): string[] {
  // the query's own words only: their inner starts would match more than was typed
  const tokens = tokenize(query.slice(0, 500)).filter((t, i, all) => !all.some((o, j) => j < i && o.length > t.length && o.endsWith(t) && INSIDE_WORDS.test(o)));
  // a word that is the start of another query word adds nothing
  const kept = tokens.filter((t, i) => !tokens.some((o, j) => j !== i && o.length > t.length && o.startsWith(t)));
  return kept.slice(0, MAX_QUERY_TOKENS);
}

/** Whether every query word starts some word of `tokens`. */
export function matchesAll(tokens: readonly string[], query: readonly string[]): boolean {
  return query.every((q) => tokens.some((t) => t.startsWith(q)));
}

/** Where the query's words are in a text: [start, end) ranges in UTF-16 offsets, in order. */
export function matchRanges(text: string, query: readonly string[]): [number, number][] {
  if (query.length === 0) return [];
  const ranges: [number, number][] = [];
  for (const w of wordSpans(text)) {
    let q = query.find((q) => w.token.startsWith(q));
    let offset = 0;
    // a character inside a Chinese or Japanese word (see INSIDE_WORDS)
    if (!q && INSIDE_WORDS.test(w.token)) {
      q = query.find((q) => w.token.indexOf(q) > 0);
      offset = q ? w.token.indexOf(q) : 0;
    }
    if (!q) continue;
    // highlight the part typed, when the folding kept the word's length (it mostly does)
    const start = w.start + offset;
    const exact = fold(text.slice(start, start + q.length)) === q;
    ranges.push(exact ? [start, start + q.length] : [w.start, w.end]);
  }
  return ranges;
}

/** Characters a snippet shows around its first match. */
export const SNIPPET_CHARS = 120;

/**
 * A piece of `text` around its first match, at most SNIPPET_CHARS long (with "…" where cut), and the
 * match ranges inside that piece.
 */
export function snippet(text: string, query: readonly string[]): { text: string; ranges: [number, number][] } {
  const flat = text.replace(/\s+/g, " ");
  const ranges = matchRanges(flat, query);
  if (flat.length <= SNIPPET_CHARS) return { text: flat, ranges };
  const first = ranges[0]?.[0] ?? 0;
  let start = Math.max(0, first - Math.floor(SNIPPET_CHARS / 3));
  // do not cut a surrogate pair
  if (start > 0 && /[\udc00-\udfff]/.test(flat[start] ?? "")) start -= 1;
  let end = Math.min(flat.length, start + SNIPPET_CHARS);
  if (end < flat.length && /[\udc00-\udfff]/.test(flat[end] ?? "")) end += 1;
  const prefix = start > 0 ? "…" : "";
  const shift = prefix.length - start;
  const shown = ranges
    .filter(([s, e]) => s >= start && e <= end)
    .map(([s, e]) => [s + shift, e + shift] as [number, number]);
  return { text: `${prefix}${flat.slice(start, end)}${end < flat.length ? "…" : ""}`, ranges: shown };
}
