import { describe, expect, it } from "vitest";
import { isEmojiOnly, isSingleEmoji, linkParts, scanLinks } from "./text";

describe("linkParts", () => {
  it("links http and https URLs and keeps the rest as text", () => {
    expect(linkParts("see https://example.com/a?b=1 now")).toEqual([
      { kind: "text", text: "see " },
      { kind: "link", text: "https://example.com/a?b=1", href: "https://example.com/a?b=1" },
      { kind: "text", text: " now" },
    ]);
  });

  it("never links other schemes", () => {
    for (const text of ["javascript:alert(1)", "mailto:a@b.example", "data:text/html,<b>x</b>", "a@b.example"]) {
      expect(linkParts(text).every((p) => p.kind === "text"), text).toBe(true);
    }
  });

  it("returns one text part for text without links", () => {
    expect(linkParts("plain words")).toEqual([{ kind: "text", text: "plain words" }]);
    expect(linkParts("")).toEqual([]);
  });

  it("finds what linkify finds, also where it skips linkify for text that cannot hold a link", () => {
    const texts = [
      "did you get the photos",
      "meet at localhost tomorrow",
      "LOCALHOST/admin",
      "example.com",
      "see Example.ORG/path, then",
      "http://a",
      "https://localhost:3000/x",
      "xn--bcher-kva.example",
      "日本語のテキスト example.jp です",
      "the end.",
      "no link here!",
      "192.168.0.1:8080",
    ];
    // the pre-check may only skip the scan where the scan finds nothing
    for (const text of texts) expect(linkParts(text), text).toEqual(scanLinks(text));
    expect(linkParts("meet at localhost tomorrow").some((p) => p.kind === "link")).toBe(true);
  });
});

describe("isEmojiOnly", () => {
  it("accepts a few emoji, with joiners, skin tones and flags", () => {
    for (const text of ["👍", "😂😂", "👩‍👩‍👧", "👍🏽", "🇯🇵", "❤️ 🔥"]) expect(isEmojiOnly(text), text).toBe(true);
  });

  it("refuses text, digits and long runs", () => {
    for (const text of ["ok 👍", "123", "#", "", "😂😂😂😂😂😂😂"]) expect(isEmojiOnly(text), text).toBe(false);
  });

  it("knows a single emoji from several", () => {
    expect(isSingleEmoji("👩‍👩‍👧")).toBe(true);
    expect(isSingleEmoji("👍👍")).toBe(false);
    expect(isSingleEmoji("a")).toBe(false);
  });
});
