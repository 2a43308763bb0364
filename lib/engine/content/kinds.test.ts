// Every content kind's schema: what it accepts, what it refuses (a refused known kind is kept as
// "unknown" by the lenient decode, never applied), and how an older build sees a newer kind.
import { describe, expect, it } from "vitest";
import { decodeContent, encodeContent, type KnownContent } from "./envelope";
import { KINDS, kindOf } from "./registry";
import { MAX_EMOJI_CHARS } from "./kinds/reaction";
import { DISAPPEARING_MAX_MS } from "./kinds/timer";
import { MAX_TEXT_CHARS } from "../../store/outbox";

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const base = { v: 1 as const, id: "abcdefgh1234", sentAt: 5 };
const target = "target123456";

const valid: KnownContent[] = [
  { ...base, type: "text", text: "hi", senderName: "Al", replyTo: { id: target, author: "instagram:@dana", text: "quoted" }, expiresInMs: 86_400_000 },
  { v: 1, type: "receipt", kind: "delivered", ids: [target] },
  { v: 1, type: "receipt", kind: "read", ids: [target], at: 9 },
  { v: 1, type: "retryReply", notMessages: [target], unavailable: [] },
  { ...base, type: "reaction", target, emoji: "👍" },
  { ...base, type: "reaction", target, emoji: "👨‍👩‍👧‍👦" },
  { ...base, type: "reaction", target, emoji: "🇺🇦" },
  { ...base, type: "reaction", target, emoji: null },
  { ...base, type: "edit", target, text: "fixed" },
  { ...base, type: "delete", target },
  { ...base, type: "timer", expiresInMs: 0 },
  { ...base, type: "timer", expiresInMs: 7 * 86_400_000 },
  { v: 1, type: "typing", typing: true, sentAt: 5 },
];

describe("content kinds", () => {
  it("every kind is in the registry once, durable or ephemeral", () => {
    const types = KINDS.map((k) => k.type);
    expect(new Set(types).size).toBe(types.length);
    expect(KINDS.filter((k) => k.delivery === "ephemeral").map((k) => k.type)).toEqual(["typing"]);
    for (const k of KINDS) if (k.placement === "change") expect("apply" in k).toBe(true);
  });

  it.each(valid.map((c) => [`${c.type} ${JSON.stringify(c).slice(0, 60)}`, c] as const))("round-trips %s", (_name, content) => {
    expect(decodeContent(encodeContent(content))).toEqual(content);
  });

  const refused: [string, unknown][] = [
    ["an emoji that is a sentence", { ...base, type: "reaction", target, emoji: "nice one" }],
    ["an emoji longer than the cap", { ...base, type: "reaction", target, emoji: "👍".repeat(MAX_EMOJI_CHARS) }],
    ["an empty emoji", { ...base, type: "reaction", target, emoji: "" }],
    ["a reaction without a target", { ...base, type: "reaction", emoji: "👍" }],
    ["an edit longer than a message may be", { ...base, type: "edit", target, text: "x".repeat(MAX_TEXT_CHARS + 1) }],
    ["an empty edit", { ...base, type: "edit", target, text: "" }],
    ["a delete with a malformed target", { ...base, type: "delete", target: "../../etc" }],
    ["a timer past a year", { ...base, type: "timer", expiresInMs: DISAPPEARING_MAX_MS + 1 }],
    ["a negative timer", { ...base, type: "timer", expiresInMs: -1 }],
    ["a receipt of an unknown kind", { v: 1, type: "receipt", kind: "played", ids: [target] }],
    ["a receipt naming no message", { v: 1, type: "receipt", kind: "read", ids: [] }],
    ["a quote longer than 200 characters", { ...base, type: "text", text: "hi", replyTo: { id: target, author: "instagram:@dana", text: "q".repeat(201) } }],
    ["a quote by no address", { ...base, type: "text", text: "hi", replyTo: { id: target, author: "nobody", text: "q" } }],
    ["typing that is not a boolean", { v: 1, type: "typing", typing: "yes", sentAt: 5 }],
  ];
  it.each(refused)("refuses %s (kept as unknown, never applied)", (_name, content) => {
    expect(decodeContent(bytes(content)).type).toBe("unknown");
  });

  it("an older build keeps a newer kind (or a newer version of a known one) whole, to render later", () => {
    const sticker = { ...base, type: "sticker", pack: "cats", n: 3 };
    expect(decodeContent(bytes(sticker))).toEqual({ type: "unknown", raw: JSON.stringify(sticker), id: base.id, sentAt: base.sentAt, to: undefined });
    const reactionV2 = { ...base, v: 2, type: "reaction", target, emoji: "👍", skin: 3 };
    expect(decodeContent(bytes(reactionV2))).toMatchObject({ type: "unknown", id: base.id });
    expect(kindOf("sticker")).toBeUndefined();
  });
});
