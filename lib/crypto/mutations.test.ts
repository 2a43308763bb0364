// Tests written for mutants of `npm run test:mutations` that the other suites let survive: checks that are
// ours even where a library below already does the same (so a library swap or update cannot remove them).
import type * as NobleEd25519 from "@noble/curves/ed25519.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AttachmentDecryptor, attachmentDigest, attachmentKeys, decryptAttachment, encryptAttachment } from "./attachments";
import { randomBytes, utf8 } from "./bytes";
import { MAX_SKIP, initInitiator, initResponder, ratchetDecrypt, ratchetEncrypt } from "./ratchet";
import { dh, dhPublicKey, generateDhKeyPair } from "./x25519";

// A marker public key for which the mocked noble X25519 returns all zeros, as an X25519 without its own
// low-order check would for a low-order point. Any other input goes to the real function.
const ZERO_MARKER = new Uint8Array(32).fill(0x42);

vi.mock("@noble/curves/ed25519.js", async (importOriginal) => {
  const actual = await importOriginal<typeof NobleEd25519>();
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  return {
    ...actual,
    x25519: {
      ...actual.x25519,
      getSharedSecret: (privateKey: Uint8Array, publicKey: Uint8Array) =>
        same(publicKey, new Uint8Array(32).fill(0x42)) ? new Uint8Array(32) : actual.x25519.getSharedSecret(privateKey, publicKey),
    },
  };
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("mutation-driven checks", () => {
  it("dh() refuses an all-zero X25519 output itself (noble backend), even if the library returned one", async () => {
    const privateKey = new Uint8Array(32).fill(7);
    const ours = { publicKey: await dhPublicKey(privateKey, "noble"), privateKey };
    await expect(dh(ours, ZERO_MARKER, "noble")).rejects.toMatchObject({ code: "bad_key" });
    // the mock passes everything else through
    await expect(dh(ours, ours.publicKey, "noble")).resolves.toHaveLength(32);
  });

  it("dh() refuses an all-zero X25519 output itself (WebCrypto backend), even if the platform returned one", async () => {
    const privateKey = new Uint8Array(32).fill(9);
    const ours = { publicKey: await dhPublicKey(privateKey, "noble"), privateKey };
    const subtle = globalThis.crypto.subtle;
    const spy = vi.spyOn(subtle, "deriveBits").mockResolvedValueOnce(new ArrayBuffer(32));
    await expect(dh(ours, ours.publicKey, "webcrypto")).rejects.toMatchObject({ code: "bad_key" });
    expect(spy).toHaveBeenCalledTimes(1);
    await expect(dh(ours, ours.publicKey, "webcrypto")).resolves.toHaveLength(32);
  });

  it("AttachmentDecryptor refuses a key that does not match the commitment before it sees any ciphertext", async () => {
    const enc = await encryptAttachment(new Uint8Array(100).fill(1));
    const other = new Uint8Array(32).fill(3);
    expect(() => new AttachmentDecryptor({ key: other, digest: enc.digest, commitment: enc.commitment })).toThrow(expect.objectContaining({ code: "bad_key" }));
    // A ciphertext too short to carry its own commitment: only the key-vs-commitment check can refuse the key.
    const stub = enc.ciphertext.slice(0, 5);
    await expect(decryptAttachment({ ciphertext: stub, key: other, digest: await attachmentDigest(stub), commitment: enc.commitment })).rejects.toMatchObject({ code: "bad_key" });
    expect(attachmentKeys(other).commitment).not.toEqual(enc.commitment);
  });

  it("MAX_SKIP in a chain already receiving: a gap of exactly 1,000 accepted, 1,001 refused", async () => {
    // attacks.test.ts covers the gap on a fresh ratchet key; this is the branch for the current chain.
    const sk = randomBytes(32);
    const spk = await generateDhKeyPair();
    let a = await initInitiator(sk, spk.publicKey);
    const sent: { header: Uint8Array; body: Uint8Array }[] = [];
    for (let i = 0; i < MAX_SKIP + 3; i++) {
      const out = ratchetEncrypt(a, utf8(`m${i}`), utf8("ad"));
      a = out.state;
      sent.push(out);
    }
    const first = await ratchetDecrypt(initResponder(sk, spk), sent[0].header, sent[0].body, utf8("ad"));
    // nr = 1 now: message 1,002 is 1,001 ahead, message 1,001 exactly 1,000.
    await expect(ratchetDecrypt(first.state, sent[MAX_SKIP + 2].header, sent[MAX_SKIP + 2].body, utf8("ad"))).rejects.toMatchObject({ code: "too_far" });
    const ok = await ratchetDecrypt(first.state, sent[MAX_SKIP + 1].header, sent[MAX_SKIP + 1].body, utf8("ad"));
    expect(new TextDecoder().decode(ok.plaintext)).toBe(`m${MAX_SKIP + 1}`);
  });
});
