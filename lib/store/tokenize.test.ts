// Words for search: the same folding for what is stored and what is typed, in scripts with and without spaces.
import { describe, expect, it } from "vitest";
import { fold, matchesAll, matchRanges, MAX_TOKEN_CHARS, MAX_TOKENS_PER_MESSAGE, queryTokens, snippet, tokenize, wordSegments } from "./tokenize";

describe("tokenize", () => {
  it("splits on spaces and punctuation, lower-cases, and keeps each word once", () => {
    expect(tokenize("Hello, hello WORLD! It's 2026.")).toEqual(["hello", "world", "it's", "2026"]);
  });

  it("folds accents and compatibility forms away", () => {
    expect(tokenize("Café naïve RÉSUMÉ Ångström")).toEqual(["cafe", "naive", "resume", "angstrom"]);
    // full-width Latin and the ligature fold to plain letters
    expect(fold("ＡＢＣ ﬁne")).toBe("abc fine");
  });

  it("finds Japanese, Chinese and Thai words inside sentences written without spaces", () => {
    expect(tokenize("私は東京に住んでいます")).toContain("東京");
    expect(tokenize("我住在北京市")).toContain("北京市");
    const thai = tokenize("ฉันชอบกินข้าวผัด");
    expect(thai).toContain("ข้าว");
    expect(thai).toContain("ผัด");
  });

  it("keeps the kana voicing marks: が and か stay different", () => {
    expect(fold("が")).not.toBe(fold("か"));
    expect(fold("ガ")).not.toBe(fold("カ"));
  });

  it("bounds what one message adds: distinct words and their length", () => {
    const many = Array.from({ length: 1000 }, (_, i) => `word${i}`).join(" ");
    expect(tokenize(many)).toHaveLength(MAX_TOKENS_PER_MESSAGE);
    const [long] = tokenize("x".repeat(500));
    expect(long).toHaveLength(MAX_TOKEN_CHARS);
  });

  it("ignores emoji, spaces and punctuation alone", () => {
    expect(tokenize("  👍 !!! … ")).toEqual([]);
  });
});

describe("queries", () => {
  it("match as prefixes, every word, with the same folding", () => {
    const stored = tokenize("Meet me at the Café Über at noon");
    expect(matchesAll(stored, queryTokens("cafe"))).toBe(true);
    expect(matchesAll(stored, queryTokens("CAF"))).toBe(true);
    expect(matchesAll(stored, queryTokens("uber noo"))).toBe(true);
    expect(matchesAll(stored, queryTokens("cafe tea"))).toBe(false);
    // a prefix of a word, never the middle of one
    expect(matchesAll(stored, queryTokens("afe"))).toBe(false);
  });

  it("drops a word that only starts another word of the query", () => {
    expect(queryTokens("cafe caf")).toEqual(["cafe"]);
  });

  it("find a Japanese word typed alone inside a stored sentence", () => {
    expect(matchesAll(tokenize("私は東京に住んでいます"), queryTokens("東京"))).toBe(true);
    expect(matchesAll(tokenize("私は東京に住んでいます"), queryTokens("大阪"))).toBe(false);
  });
});

describe("match ranges and snippets", () => {
  it("mark what was typed, in the text as written (accents kept)", () => {
    const text = "Le café est fermé";
    const ranges = matchRanges(text, queryTokens("cafe ferm"));
    expect(ranges.map(([s, e]) => text.slice(s, e))).toEqual(["café", "ferm"]);
  });

  it("mark a Japanese word inside its sentence", () => {
    const text = "私は東京に住んでいます";
    expect(matchRanges(text, queryTokens("東京")).map(([s, e]) => text.slice(s, e))).toEqual(["東京"]);
  });

  it("cut a long text around the first match and move the ranges with it", () => {
    const text = `${"lorem ipsum ".repeat(30)}the needle is here ${"dolor sit ".repeat(30)}`;
    const cut = snippet(text, queryTokens("needle"));
    expect(cut.text.length).toBeLessThanOrEqual(122);
    expect(cut.text.startsWith("…")).toBe(true);
    expect(cut.text.endsWith("…")).toBe(true);
    expect(cut.ranges.map(([s, e]) => cut.text.slice(s, e))).toEqual(["needle"]);
  });
});

describe("the fast path for text in scripts with spaces", () => {
  it("splits words exactly as Intl.Segmenter does", () => {
    const segmenter = new Intl.Segmenter(undefined, { granularity: "word" });
    const samples = [
      "It's 3.14 at example.com, snake_case e-mail naïve café 12:30 don’t a.b. RÉSUMÉ",
      "Ωμέγα Привет мир 안녕하세요 x:y 1,000,000 a,b 1;2 http://a.b/c?d=1 ...end",
      "o'clock rock'n'roll 'quoted' 1.5x x.5 a'1 -42 +1 (555) 010-0000 #tag @handle",
      "Meet me at 9. Don't be late!! ¿Qué tal? Straße ﬁne ＡＢＣ",
    ];
    for (const text of samples) {
      const expected = [...segmenter.segment(text)].filter((s) => s.isWordLike).map((s) => [s.index, s.segment]);
      expect([...wordSegments(text)].map((s) => [s.index, s.segment]), text).toEqual(expected);
    }
  });
});
