import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "./bytes";
import { type X25519Backend, dh, dhPublicKey, generateDhKeyPair, x25519Backend } from "./x25519";

async function outcome(privateKey: Uint8Array, publicKey: Uint8Array, backend: X25519Backend): Promise<string> {
  try {
    return toHex(await dh({ publicKey: await dhPublicKey(privateKey, backend), privateKey }, publicKey, backend));
  } catch (e) {
    return `refused:${(e as { code?: string }).code}`;
  }
}

describe("x25519 backends", () => {
  it("uses WebCrypto on this platform", async () => {
    expect(await x25519Backend()).toBe("webcrypto");
  });

  it("WebCrypto and noble give identical keys and shared secrets", async () => {
    for (let i = 0; i < 50; i++) {
      const a = await generateDhKeyPair(i % 2 ? "webcrypto" : "noble");
      const b = await generateDhKeyPair(i % 2 ? "noble" : "webcrypto");
      expect(toHex(await dhPublicKey(a.privateKey, "noble"))).toBe(toHex(a.publicKey));
      expect(toHex(await dhPublicKey(a.privateKey, "webcrypto"))).toBe(toHex(a.publicKey));
      const s1 = await dh(a, b.publicKey, "webcrypto");
      expect(toHex(await dh(a, b.publicKey, "noble"))).toBe(toHex(s1));
      expect(toHex(await dh(b, a.publicKey, "webcrypto"))).toBe(toHex(s1));
    }
  });

  it("WebCrypto and noble agree on every Wycheproof case, refusals included", async () => {
    const file = JSON.parse(readFileSync(join(import.meta.dirname, "vectors", "x25519_test.json"), "utf8")) as {
      testGroups: { tests: { private: string; public: string }[] }[];
    };
    for (const t of file.testGroups[0].tests) {
      const [priv, pub] = [fromHex(t.private), fromHex(t.public)];
      expect(await outcome(priv, pub, "webcrypto")).toBe(await outcome(priv, pub, "noble"));
    }
  });

  it("refuses every low-order point, on both backends", async () => {
    // The canonical low-order points of Curve25519 and their non-canonical encodings (x + p).
    const lowOrder = [
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    const ours = await generateDhKeyPair("noble");
    for (const p of lowOrder) {
      for (const backend of ["webcrypto", "noble"] as X25519Backend[]) {
        await expect(dh(ours, fromHex(p), backend), `${p} ${backend}`).rejects.toMatchObject({ code: "bad_key" });
      }
    }
  });
});
