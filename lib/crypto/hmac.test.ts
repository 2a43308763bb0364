// The ratchet's chain step (two HMACs under one key, its padding hashed once) and HKDF, as primitives.ts
// calls noble, against Node's own crypto over the lengths where padding and block boundaries change; the
// Wycheproof vectors in wycheproof.test.ts run through the same wrappers.
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hkdfSha256, hmacSha256, hmacSha256Twice } from "./primitives";

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const EDGES = [0, 1, 31, 32, 33, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 200, 1000];

describe("HMAC-SHA256 and HKDF-SHA256 as the protocol calls them", () => {
  it("two HMACs under one key are each the HMAC of their own message, for keys shorter and longer than a block", () => {
    for (const keyLength of [0, 1, 32, 63, 64, 65, 200]) {
      for (const n of EDGES) {
        const key = bytes(keyLength);
        const [first, second] = [bytes(n), bytes(n + 1)];
        const [a, b] = hmacSha256Twice(key, first, second);
        expect(hex(a), `key ${keyLength}, data ${n}`).toBe(createHmac("sha256", key).update(first).digest("hex"));
        expect(hex(b), `key ${keyLength}, data ${n + 1}`).toBe(createHmac("sha256", key).update(second).digest("hex"));
        expect(hex(hmacSha256(key, first))).toBe(hex(a));
      }
    }
  });

  it("HKDF-SHA256 matches node:crypto for every salt form and output lengths up to 255 blocks", () => {
    for (const length of [1, 31, 32, 33, 56, 64, 65, 100, 255 * 32]) {
      for (const salt of [undefined, new Uint8Array(0), bytes(16), bytes(32), bytes(100)]) {
        const ikm = bytes(1 + Math.floor(Math.random() * 80));
        const info = bytes(Math.floor(Math.random() * 60));
        const expected = Buffer.from(hkdfSync("sha256", ikm, salt ?? new Uint8Array(0), info, length)).toString("hex");
        expect(hex(hkdfSha256(ikm, salt, info, length)), `length ${length}, salt ${salt?.length}`).toBe(expected);
      }
    }
  });
});
