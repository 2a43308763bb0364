// Wycheproof vectors (C2SP) through the wrappers the protocol itself calls: every valid vector accepted with
// the right output, every invalid one rejected, and "acceptable" X25519 cases held to our stricter rule.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fromHex, isAllZero, toHex } from "./bytes";
import { CryptoError } from "./errors";
import { kemDecapsulate, kemEncapsulate, kemKeygen } from "./kem";
import { KeyTag, encodeKey, verifyIdentity } from "./keys";
import { chachaOpen, chachaSeal, hkdfSha256, hmacSha256, verifyHmacSha256, xchachaOpen, xchachaSeal } from "./primitives";
import { type X25519Backend, dh, dhPublicKey } from "./x25519";

const HERE = import.meta.dirname;
const COPY = join(HERE, "vectors");
const SHARED = join(HERE, "..", "..", "..", "shared", "vectors", "wycheproof");

interface Test { tcId: number; result: "valid" | "invalid" | "acceptable"; flags: string[]; [k: string]: unknown }
interface Group { tests: Test[]; [k: string]: unknown }

function load(name: string): Group[] {
  const file = JSON.parse(readFileSync(join(COPY, name), "utf8")) as { testGroups: Group[]; numberOfTests: number };
  const count = file.testGroups.reduce((n, g) => n + g.tests.length, 0);
  expect(count).toBe(file.numberOfTests);
  return file.testGroups;
}

const hex = (t: Test, k: string) => fromHex(t[k] as string);

function rejects(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    if (!(e instanceof CryptoError)) throw e;
    return true;
  }
}

describe("wycheproof vectors", () => {
  // reported as skipped, not passed, on a checkout without ../shared beside it
  it.skipIf(!existsSync(SHARED))("the committed copy matches ../shared", () => {
    for (const f of ["x25519_test.json", "ed25519_test.json", "xchacha20_poly1305_test.json", "chacha20_poly1305_test.json",
      "hkdf_sha256_test.json", "hmac_sha256_test.json", "mlkem_768_test.json", "mlkem_768_encaps_test.json", "LICENSE"]) {
      expect(readFileSync(join(COPY, f)).equals(readFileSync(join(SHARED, f))), f).toBe(true);
    }
  });

  for (const backend of ["webcrypto", "noble"] as X25519Backend[]) {
    it(`x25519 through dh() with ${backend}: valid agree, zero results refused`, async () => {
      let checked = 0;
      for (const g of load("x25519_test.json")) {
        for (const t of g.tests) {
          const privateKey = hex(t, "private");
          const shared = hex(t, "shared");
          const ours = { publicKey: await dhPublicKey(privateKey, "noble"), privateKey };
          let out: Uint8Array | undefined;
          try {
            out = await dh(ours, hex(t, "public"), backend);
          } catch (e) {
            expect(e).toBeInstanceOf(CryptoError);
          }
          if (t.result === "valid") expect(out && toHex(out), `tc ${t.tcId}`).toBe(toHex(shared));
          else if (isAllZero(shared)) expect(out, `tc ${t.tcId} must be refused`).toBeUndefined();
          else if (out) expect(toHex(out), `tc ${t.tcId}`).toBe(toHex(shared));
          checked++;
        }
      }
      expect(checked).toBe(518);
    });
  }

  it("ed25519 through verifyIdentity: valid accepted, invalid refused", () => {
    let n = 0;
    for (const g of load("ed25519_test.json")) {
      const pk = encodeKey(KeyTag.identity, fromHex((g.publicKey as { pk: string }).pk));
      for (const t of g.tests) {
        expect(verifyIdentity(pk, hex(t, "msg"), hex(t, "sig")), `tc ${t.tcId}`).toBe(t.result === "valid");
        n++;
      }
    }
    expect(n).toBe(151);
  });

  const aeads = [
    { file: "xchacha20_poly1305_test.json", seal: xchachaSeal, open: xchachaOpen },
    { file: "chacha20_poly1305_test.json", seal: chachaSeal, open: chachaOpen },
  ];
  for (const { file, seal, open } of aeads) {
    it(`${file.replace("_test.json", "")}: valid round-trips exactly, invalid refused`, () => {
      for (const g of load(file)) {
        for (const t of g.tests) {
          const [key, iv, aad, msg] = [hex(t, "key"), hex(t, "iv"), hex(t, "aad"), hex(t, "msg")];
          const sealed = new Uint8Array([...hex(t, "ct"), ...hex(t, "tag")]);
          if (t.result === "valid") {
            expect(toHex(seal(key, iv, msg, aad)), `tc ${t.tcId}`).toBe(toHex(sealed));
            expect(toHex(open(key, iv, sealed, aad)), `tc ${t.tcId}`).toBe(toHex(msg));
          } else {
            expect(rejects(() => open(key, iv, sealed, aad)), `tc ${t.tcId}`).toBe(true);
          }
        }
      }
    });
  }

  it("hkdf-sha256: valid outputs match, oversized outputs refused", () => {
    for (const g of load("hkdf_sha256_test.json")) {
      for (const t of g.tests) {
        const run = () => hkdfSha256(hex(t, "ikm"), hex(t, "salt"), hex(t, "info"), t.size as number);
        if (t.result === "valid") expect(toHex(run()), `tc ${t.tcId}`).toBe(t.okm);
        else expect(rejects(run), `tc ${t.tcId}`).toBe(true);
      }
    }
  });

  it("hmac-sha256: valid tags verify, modified ones do not", () => {
    for (const g of load("hmac_sha256_test.json")) {
      for (const t of g.tests) {
        const [key, msg, tag] = [hex(t, "key"), hex(t, "msg"), hex(t, "tag")];
        expect(verifyHmacSha256(key, msg, tag), `tc ${t.tcId}`).toBe(t.result === "valid");
        if (t.result === "valid") expect(toHex(hmacSha256(key, msg)).startsWith(toHex(tag))).toBe(true);
      }
    }
  });

  it("ml-kem-768: keygen from seed, decapsulation, implicit rejection, malformed keys refused", () => {
    for (const g of load("mlkem_768_test.json")) {
      for (const t of g.tests) {
        const run = () => {
          const { publicKey, secretKey } = kemKeygen(hex(t, "seed"));
          if (t.ek !== undefined) expect(toHex(publicKey), `tc ${t.tcId}`).toBe(t.ek);
          return kemDecapsulate(hex(t, "c"), secretKey);
        };
        if (t.result === "valid") expect(toHex(run()), `tc ${t.tcId}`).toBe(t.K);
        else expect(rejects(run), `tc ${t.tcId}`).toBe(true);
      }
    }
  });

  it("ml-kem-768 encapsulation: known answers, and keys that fail the modulus check refused", () => {
    let refused = 0;
    for (const g of load("mlkem_768_encaps_test.json")) {
      for (const t of g.tests) {
        const run = () => kemEncapsulate(hex(t, "ek"), hex(t, "m"));
        if (t.result === "valid") {
          const out = run();
          expect(toHex(out.ciphertext), `tc ${t.tcId}`).toBe(t.c);
          expect(toHex(out.sharedSecret), `tc ${t.tcId}`).toBe(t.K);
        } else {
          expect(rejects(run), `tc ${t.tcId}`).toBe(true);
          refused++;
        }
      }
    }
    expect(refused).toBe(132);
  });
});
