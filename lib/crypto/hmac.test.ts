// The hand-written SHA-256, HMAC and HKDF (hmac.ts) against Node's own crypto, over the lengths where
// padding and block boundaries change (55/56/63/64 bytes and their multiples) and random ones; the
// Wycheproof vectors in wycheproof.test.ts run through the same code by way of primitives.ts.
import { createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hkdf, hmac, hmacInto, hmacKey, sha256 } from "./hmac";
import { hkdfSha256, hmacSha256Twice } from "./primitives";

const bytes = (n: number) => new Uint8Array(randomBytes(n));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const EDGES = [0, 1, 31, 32, 33, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 200, 1000, 4099];

describe("hand-written SHA-256 / HMAC / HKDF", () => {
  it("SHA-256 matches node:crypto at every padding edge and random lengths", () => {
    for (const n of [...EDGES, ...Array.from({ length: 40 }, () => Math.floor(Math.random() * 3000))]) {
      const data = bytes(n);
      expect(hex(sha256(data)), `length ${n}`).toBe(createHash("sha256").update(data).digest("hex"));
    }
  });

  it("HMAC-SHA256 matches node:crypto for keys shorter and longer than a block", () => {
    for (const keyLength of [0, 1, 16, 32, 63, 64, 65, 100, 200]) {
      for (const n of EDGES) {
        const key = bytes(keyLength);
        const data = bytes(n);
        expect(hex(hmac(key, data)), `key ${keyLength}, data ${n}`).toBe(createHmac("sha256", key).update(data).digest("hex"));
      }
    }
  });

  it("a key's states serve any number of HMACs, in parts, with other hashing in between", () => {
    const key = bytes(32);
    const k = hmacKey(key);
    for (let i = 0; i < 20; i++) {
      const a = bytes(i * 7);
      const b = bytes(i * 13);
      // unrelated hashing between uses must not disturb the key's states
      sha256(bytes(i * 11));
      const out = hmacInto(k, [a, b], i, new Uint8Array(40), 8);
      const expected = createHmac("sha256", key).update(a).update(b).update(Uint8Array.of(i)).digest("hex");
      expect(hex(out.subarray(8)), `round ${i}`).toBe(expected);
    }
    const [first, second] = hmacSha256Twice(key, Uint8Array.of(1), Uint8Array.of(2));
    expect(hex(first)).toBe(createHmac("sha256", key).update(Uint8Array.of(1)).digest("hex"));
    expect(hex(second)).toBe(createHmac("sha256", key).update(Uint8Array.of(2)).digest("hex"));
  });

  it("HKDF-SHA256 matches node:crypto for every salt form and output lengths up to 255 blocks", () => {
    for (const length of [1, 31, 32, 33, 56, 64, 65, 100, 255 * 32]) {
      for (const salt of [undefined, new Uint8Array(0), bytes(16), bytes(32), bytes(100)]) {
        const ikm = bytes(1 + Math.floor(Math.random() * 80));
        const info = bytes(Math.floor(Math.random() * 60));
        const expected = Buffer.from(hkdfSync("sha256", ikm, salt ?? new Uint8Array(0), info, length)).toString("hex");
        expect(hex(hkdf(ikm, salt, info, length)), `length ${length}, salt ${salt?.length}`).toBe(expected);
        expect(hex(hkdfSha256(ikm, salt, info, length))).toBe(expected);
      }
    }
  });
});
