import { describe, expect, it } from "vitest";
import { isEmojiOnly, isSingleEmoji, linkParts } from "./text";

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
