// Binary values cross the wire as unpadded base64url strings.
import { z } from "zod";

const B64URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Lookup tables instead of atob/btoa plus regex rewrites: a backlog decodes one body per envelope,
// and the string round trips showed up in worker profiles.
const ENCODE = new Uint8Array(64);
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  ENCODE[i] = ALPHABET.charCodeAt(i);
  DECODE[ALPHABET.charCodeAt(i)] = i;
}
const decoder = new TextDecoder("latin1");

/** Bytes as base64url; `maxBytes` bounds the decoded length. */
export function b64(maxBytes: number, minBytes = 1) {
  const maxChars = Math.ceil((maxBytes * 4) / 3);
  const minChars = Math.ceil((minBytes * 4) / 3);
  return z.string().min(minChars).max(maxChars).regex(B64URL, "not base64url");
}

export function toB64(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil((n * 4) / 3));
  let o = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = ENCODE[v >>> 18];
    out[o++] = ENCODE[(v >>> 12) & 63];
    out[o++] = ENCODE[(v >>> 6) & 63];
    out[o++] = ENCODE[v & 63];
  }
  if (n - i === 2) {
    const v = (bytes[i] << 8) | bytes[i + 1];
    out[o++] = ENCODE[v >>> 10];
    out[o++] = ENCODE[(v >>> 4) & 63];
    out[o++] = ENCODE[(v << 2) & 63];
  } else if (n - i === 1) {
    const v = bytes[i];
    out[o++] = ENCODE[v >>> 2];
    out[o++] = ENCODE[(v << 4) & 63];
  }
  // every byte is ASCII, so latin1 decoding maps it to the same character
  return decoder.decode(out);
}

type FromBase64 = (text: string, options: { alphabet: "base64url" }) => Uint8Array;
/**
 * The platform's own decoder where there is one (`Uint8Array.fromBase64`: Chromium 140, Firefox 133,
 * Safari 18.2): a backlog decodes a ~1.8 kB body per envelope, and the table loop below was 4 % of the
 * worker's profile. It is lenient where this codec is not (whitespace, `=` padding), so the alphabet and
 * the length are checked first and it only ever sees what the loop would have accepted.
 */
const platformFromBase64 = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64?.bind(Uint8Array);
/** Below this the loop is as fast and a check plus a native call are not worth it. */
const PLATFORM_MIN_CHARS = 64;

export function fromB64(text: string): Uint8Array {
  if (platformFromBase64 && text.length >= PLATFORM_MIN_CHARS) return fromB64With(platformFromBase64, text);
  return fromB64Loop(text);
}

/** The platform path of fromB64 with a given decoder (tests hand it the platform's, where there is one). */
export function fromB64With(decode: FromBase64, text: string): Uint8Array {
  if (text.length % 4 === 1 || !B64URL.test(text)) throw new Error("invalid base64url");
  return decode(text, { alphabet: "base64url" });
}

function fromB64Loop(text: string): Uint8Array {
  const len = text.length;
  // a single leftover character carries under one byte: atob rejected it too
  if (len % 4 === 1) throw new Error("invalid base64url");
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    const v = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6) | sextet(text, i + 3);
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 255;
    out[o++] = v & 255;
  }
  const rest = len - i;
  if (rest === 2) {
    const v = (sextet(text, i) << 6) | sextet(text, i + 1);
    out[o++] = v >>> 4;
  } else if (rest === 3) {
    const v = (sextet(text, i) << 12) | (sextet(text, i + 1) << 6) | sextet(text, i + 2);
    out[o++] = v >>> 10;
    out[o++] = (v >>> 2) & 255;
  }
  return out;
}

function sextet(text: string, i: number): number {
  const c = text.charCodeAt(i);
  const v = c < 128 ? DECODE[c] : -1;
  if (v < 0) throw new Error("invalid base64url");
  return v;
}
