// Small byte helpers shared by the protocol files: concatenation, constant-time compare, hex.

export type Bytes = Uint8Array;

const encoder = new TextEncoder();
export const utf8 = (s: string): Bytes => encoder.encode(s);
const decoder = new TextDecoder("utf-8", { fatal: true });
export const fromUtf8 = (b: Bytes): string => decoder.decode(b);

export function concat(...parts: Bytes[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time in the contents (not the lengths), so MAC and key comparisons leak nothing useful. */
export function equalBytes(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function isAllZero(a: Bytes): boolean {
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i];
  return d === 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
export function toHex(b: Bytes): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

export function fromHex(s: string): Bytes {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error("invalid hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function u32be(n: number): Bytes {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, false);
  return out;
}

export function randomBytes(n: number): Bytes {
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let o = 0; o < n; o += 65536) globalThis.crypto.getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
  return out;
}

/** Best effort: JS cannot guarantee copies are gone, but intermediate secrets we own are zeroed. */
export function wipe(...arrays: Bytes[]): void {
  for (const a of arrays) a.fill(0);
}
