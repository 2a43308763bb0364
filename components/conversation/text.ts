// How a message's text is shown: which parts are links, and whether it is emoji only. Pure: no DOM.
import { find } from "linkifyjs";

export type TextPart = { kind: "text"; text: string } | { kind: "link"; text: string; href: string };

/**
 * Whether linkify could find a link in the text at all: every link it finds has a scheme (a ":"), a domain
 * with a dot, or is "localhost". Most messages have none, and skip the tokenizer (and, the first time, the
 * building of its state machine: tens of ms while a conversation opens).
 */
const MAYBE_LINK = /[.:]|localhost/i;

/**
 * Splits text into plain runs and http(s) links. Anything else linkify recognises (mailto:, other
 * schemes such as javascript:) stays plain text, so a link can only ever open a web page.
 */
export function linkParts(text: string): TextPart[] {
  if (!MAYBE_LINK.test(text)) return text ? [{ kind: "text", text }] : [];
  return scanLinks(text);
}

/** Every text's parts by linkify's own scan, without the cheap pre-check (exported for its test). */
export function scanLinks(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const link of find(text, "url")) {
    if (!/^https?:\/\//i.test(link.href)) continue;
    if (link.start > at) parts.push({ kind: "text", text: text.slice(at, link.start) });
    parts.push({ kind: "link", text: link.value, href: link.href });
    at = link.end;
  }
  if (at < text.length) parts.push({ kind: "text", text: text.slice(at) });
  return parts;
}

/** Builds linkify's state machine ahead of need (at idle): the first message with a dot then does not pay for it. */
export function warmLinkify(): void {
  find("example.com", "url");
}

const PICTOGRAPHIC = /[\p{Extended_Pictographic}\u{1f1e6}-\u{1f1ff}]/u;
// what may sit between pictographs: joiners, variation selectors, skin tones, keycaps, flags' letters, spaces
const GLUE = /[\u200d\ufe0e\ufe0f\u20e3\u{1f3fb}-\u{1f3ff}\u{1f1e6}-\u{1f1ff}\u{e0020}-\u{e007f}\s]/gu;

/** A short message made only of emoji (up to about six), shown larger as messengers do. */
export function isEmojiOnly(text: string): boolean {
  const trimmed = text.trim();
  if (!trimmed || trimmed.length > 48 || !PICTOGRAPHIC.test(trimmed)) return false;
  const rest = trimmed.replace(/\p{Extended_Pictographic}/gu, "").replace(GLUE, "");
  if (rest.length > 0) return false;
  const count = [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(trimmed.replace(/\s/g, ""))].length;
  return count <= 6;
}

/** The six quick reactions, in the order they are offered. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"] as const;

/** More to pick from behind "More reactions"; any emoji can also be typed. */
export const MORE_REACTIONS = ["🔥", "🎉", "👏", "😍", "🤔", "😅", "😡", "🙌", "💯", "✅", "👀", "🤝", "😎", "🥲", "😴", "🙈", "💪", "🌟"] as const;

/** One emoji (a single grapheme made of pictographs), as a reaction must be. */
export function isSingleEmoji(text: string): boolean {
  const trimmed = text.trim();
  if (!isEmojiOnly(trimmed)) return false;
  return [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(trimmed)].length === 1;
}
