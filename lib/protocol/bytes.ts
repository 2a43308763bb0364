// Binary values cross the wire as unpadded base64url strings.
import { z } from "zod";

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Bytes as base64url; `maxBytes` bounds the decoded length. */
export function b64(maxBytes: number, minBytes = 1) {
  const maxChars = Math.ceil((maxBytes * 4) / 3);
  const minChars = Math.ceil((minBytes * 4) / 3);
  return z.string().min(minChars).max(maxChars).regex(B64URL, "not base64url");
}

export function toB64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64(text: string): Uint8Array {
  if (!B64URL.test(text)) throw new Error("invalid base64url");
  const pad = text.length % 4 === 0 ? "" : "=".repeat(4 - (text.length % 4));
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + pad);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
