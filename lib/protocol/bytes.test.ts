// The hand-written base64url codec must agree with Node's on every length and refuse what atob refused.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromB64, fromB64With, toB64 } from "./bytes";

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

  // The platform decoder (Uint8Array.fromBase64) is lenient: whitespace, padding, and with Buffer's even the
  // other alphabet. The guard in front of it must leave it only what the loop accepts. Node has no
  // fromBase64 before v25, so Buffer's decoder (more lenient still) stands in; the platform's own runs too
  // where it exists (Chromium runs it in the e2e suite and the bench).
  const platform = (Uint8Array as unknown as { fromBase64?: (t: string, o: { alphabet: "base64url" }) => Uint8Array }).fromBase64;
  type Decode = (t: string, o: { alphabet: "base64url" }) => Uint8Array;
  const lenient: [string, Decode][] = [["Buffer", (t) => new Uint8Array(Buffer.from(t, "base64url"))]];
  if (platform) lenient.push(["Uint8Array.fromBase64", (t, o) => platform.call(Uint8Array, t, o)]);
  for (const [name, decode] of lenient) {
    it(`the platform path (${name}) decodes like the loop and refuses what it refuses`, () => {
      for (const n of [0, 1, 2, 3, 47, 48, 49, 64, 1380, 4096]) {
        const bytes = new Uint8Array(randomBytes(n));
        expect(Buffer.compare(fromB64With(decode, toB64(bytes)), bytes), `length ${n}`).toBe(0);
      }
      const good = toB64(new Uint8Array(randomBytes(100)));
      for (const bad of ["ab+c", "ab/c", "abc=", "ab==", "a b c", "abc\n", "abçd", "ab.c", "a", "abcde", `${good}=`, `${good} `, `${good.slice(0, 50)}+${good.slice(51)}`]) {
        expect(() => fromB64With(decode, bad), bad).toThrow("invalid base64url");
      }
    });
  }
});
