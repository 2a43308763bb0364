import { describe, expect, it } from "vitest";
import { decodeContent, encodeContent, MAX_KEPT_CONTENT_CHARS } from "./envelope";

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const text = { v: 1, type: "text", id: "abcdefgh1234", sentAt: 5, text: "hi", senderName: "Al" } as const;

describe("content envelope", () => {
  it("round-trips text and receipts", () => {
    expect(decodeContent(encodeContent(text))).toEqual(text);
    const receipt = { v: 1 as const, type: "receipt" as const, kind: "delivered" as const, ids: ["abcdefgh1234"] };
    expect(decodeContent(encodeContent(receipt))).toEqual(receipt);
  });

  it("ignores fields it does not know, so the format can grow", () => {
    expect(decodeContent(bytes({ ...text, stickers: ["x"], style: { bold: true } }))).toEqual(text);
  });

  it("keeps an unknown type or a newer version whole, with what it needs to be stored", () => {
    const poll = { v: 1, type: "poll", id: "abcdefgh9999", sentAt: 7, question: "lunch?" };
    expect(decodeContent(bytes(poll))).toEqual({ type: "unknown", raw: JSON.stringify(poll), id: "abcdefgh9999", sentAt: 7, to: undefined });
    const v2 = { ...text, v: 2 };
    expect(decodeContent(bytes(v2))).toMatchObject({ type: "unknown", raw: JSON.stringify(v2), id: text.id });
    // a known type that breaks its own rules (an empty text) is kept too, not dropped
    expect(decodeContent(bytes({ ...text, text: "" }))).toMatchObject({ type: "unknown", id: text.id });
  });

  it("keeps garbage as unknown without failing", () => {
    expect(decodeContent(new Uint8Array([0xff, 0xfe]))).toEqual({ type: "unknown", raw: "" });
    expect(decodeContent(bytes("not json"))).toEqual({ type: "unknown", raw: "not json" });
    expect(decodeContent(bytes([1, 2]))).toMatchObject({ type: "unknown" });
    const huge = JSON.stringify({ v: 3, type: "x", pad: "a".repeat(MAX_KEPT_CONTENT_CHARS) });
    expect(decodeContent(bytes(huge))).toMatchObject({ type: "unknown", raw: "" });
    expect(decodeContent(bytes({ v: 1, type: "poll", id: "bad id!", to: "nobody" }))).toMatchObject({ id: undefined, to: undefined });
  });
});
