// The hand-written base64url codec must agree with Node's on every length and refuse what atob refused.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromB64, toB64 } from "./bytes";

describe("base64url codec", () => {
  it("matches Buffer's base64url both ways for every length up to 300 and some large ones", () => {
    const lengths = [...Array.from({ length: 301 }, (_, i) => i), 4096, 65_537, 200_003];
    for (const n of lengths) {
      const bytes = new Uint8Array(randomBytes(n));
      const text = Buffer.from(bytes).toString("base64url");
      expect(toB64(bytes)).toBe(text);
      // Buffer.compare: a deep toEqual over 200 kB is slow and says nothing more
      expect(Buffer.compare(fromB64(text), bytes), `length ${n}`).toBe(0);
    }
  });

  it("round-trips every byte value", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromB64(toB64(all))).toEqual(all);
    expect(toB64(all)).toBe(Buffer.from(all).toString("base64url"));
  });

  it("rejects characters outside the url-safe alphabet, padding and impossible lengths", () => {
    for (const bad of ["ab+c", "ab/c", "abc=", "ab==", "a b c", "abc\n", "abçd", "ab.c", "ab\0c", "a", "abcde", "😀😀"]) {
      expect(() => fromB64(bad), bad).toThrow("invalid base64url");
    }
    // a bad character anywhere, also in the trailing partial group
    const good = toB64(new Uint8Array(randomBytes(47)));
    for (let i = 0; i < good.length; i++) {
      expect(() => fromB64(good.slice(0, i) + "+" + good.slice(i + 1))).toThrow("invalid base64url");
    }
  });

  it("decodes the empty string to no bytes", () => {
    expect(fromB64("")).toEqual(new Uint8Array(0));
    expect(toB64(new Uint8Array(0))).toBe("");
  });
});
