// Every content kind's schema: what it accepts, what it refuses (a refused known kind is kept as
// "unknown" by the lenient decode, never applied), and how an older build sees a newer kind.
import { describe, expect, it } from "vitest";
import { decodeContent, encodeContent, type KnownContent } from "./envelope";
import { KINDS, kindOf } from "./registry";
import { MAX_EMOJI_CHARS } from "./kinds/reaction";
import { DISAPPEARING_MAX_MS } from "./kinds/timer";
import { MAX_TEXT_CHARS } from "../../store/outbox";
import { MAX_ATTACHMENT_BYTES, MAX_THUMB_BYTES } from "./kinds/attachment";

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const base = { v: 1 as const, id: "abcdefgh1234", sentAt: 5 };
const target = "target123456";
const k32 = "A".repeat(43);
const attachment = { type: "attachment" as const, blobId: "B".repeat(43), key: k32, digest: k32, commitment: k32, size: 1234, mime: "image/jpeg", name: "photo.jpg" };

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
  { ...base, ...attachment },
  { ...base, ...attachment, width: 640, height: 480, thumb: "AAAA", caption: "look", senderName: "Al", expiresInMs: 60_000, replyTo: { id: target, author: "instagram:@dana", text: "q" } },
  { ...base, ...attachment, mime: "audio/webm", name: "voice.webm", voice: { durationMs: 4200, waveform: [0, 31, 7] } },
  {
    ...base,
    type: "sync",
    items: [
      { t: "read", c: "instagram:@dana", upTo: 9 },
      { t: "conv", c: `group:${"ab".repeat(32)}`, field: "pinned", on: true, at: 9 },
      { t: "deleteForMe", c: "instagram:@dana", ids: [target] },
      { t: "setting", name: "readReceipts", on: false, at: 9 },
      { t: "contact", address: "instagram:@dana", nickname: null, added: true, at: 9 },
      { t: "person", address: "instagram:@dana", to: "whatsapp:+15551234567", at: 9 },
      { t: "deviceName", device: "device-01", name: "Work laptop", at: 9 },
    ],
  },
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
    ["an attachment past 100 MB", { ...base, ...attachment, size: MAX_ATTACHMENT_BYTES + 1 }],
    ["an attachment of negative size", { ...base, ...attachment, size: -1 }],
    ["an attachment with a 31-byte key", { ...base, ...attachment, key: "A".repeat(42) }],
    ["an attachment with a digest that is not base64url", { ...base, ...attachment, digest: "+".repeat(43) }],
    ["an attachment whose blob id is a path", { ...base, ...attachment, blobId: "../".repeat(14) + "a" }],
    ["an attachment named with a path", { ...base, ...attachment, name: "../../etc/passwd" }],
    ["an attachment named with a control character", { ...base, ...attachment, name: "a\u0000b" }],
    ["an attachment named ..", { ...base, ...attachment, name: ".." }],
    ["an attachment with a name past 255 characters", { ...base, ...attachment, name: "n".repeat(256) }],
    ["an attachment with a MIME type that is a script", { ...base, ...attachment, mime: "<script>" }],
    ["an attachment with a thumbnail past 8 KB", { ...base, ...attachment, thumb: "A".repeat(Math.ceil((MAX_THUMB_BYTES * 4) / 3) + 1) }],
    ["an image 20,001 pixels wide", { ...base, ...attachment, width: 20_001, height: 5 }],
    ["a voice note past an hour", { ...base, ...attachment, voice: { durationMs: 60 * 60_000 + 1, waveform: [] } }],
    ["a waveform of 101 bars", { ...base, ...attachment, voice: { durationMs: 1, waveform: new Array(101).fill(0) } }],
    ["a waveform level of 32", { ...base, ...attachment, voice: { durationMs: 1, waveform: [32] } }],
    ["an empty caption", { ...base, ...attachment, caption: "" }],
    ["a sync with no items", { ...base, type: "sync", items: [] }],
    ["a sync of 201 items", { ...base, type: "sync", items: new Array(201).fill({ t: "read", c: "instagram:@dana", upTo: 1 }) }],
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
