// Known-answer vectors (lib/crypto/vectors/kat, written by scripts/make-kat-vectors.ts). Each vector is checked
// twice: the independent reference on Node's own crypto (testing/nodeReference.ts) must recompute it from its
// inputs, and lib/crypto must reproduce it or open it through its real entry points. The reference itself is
// first held to published vectors (HChaCha20 draft, RFC 7748, Wycheproof, libsignal's fingerprint_test_v1).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { concat, fromHex, toHex, utf8 } from "./bytes";
import { AttachmentDecryptor, AttachmentEncryptor, attachmentKeys, decryptAttachment } from "./attachments";
import { fingerprintDigits, fingerprintHash, safetyNumber, verifySafetyQr } from "./fingerprint";
import { kemDecapsulate, kemEncapsulate, kemKeygen } from "./kem";
import { signIdentity, verifyIdentity } from "./keys";
import { HEADER_BYTES, decodeHeader, initResponder, kdfChain, kdfRoot, messageCipherKeys, ratchetDecrypt } from "./ratchet";
import { type SenderKeyRecord, groupDecrypt, groupEncrypt, processSenderKeyDistribution, senderKeyDistribution } from "./senderKeys";
import { decrypt } from "./session";
import * as K from "./testing/katBuild";
import { bobIdentity, bobPrekeys, dhPair } from "./testing/katFixtures";
import * as R from "./testing/nodeReference";
import { agreeAsResponder } from "./x3dh";
import { dh } from "./x25519";

const KAT = join(import.meta.dirname, "vectors", "kat");
const load = <T>(name: string): T => JSON.parse(readFileSync(join(KAT, name), "utf8")) as T;
const wycheproof = <T>(name: string): T => JSON.parse(readFileSync(join(import.meta.dirname, "vectors", name), "utf8")) as T;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const pqxdh = load<K.PqxdhFile>("pqxdh.json");
const session = load<K.SessionFile>("session.json");
const safety = load<K.SafetyFile>("safety-number.json");
const senderKey = load<K.SenderKeyFile>("sender-key.json");
const attachment = load<K.AttachmentFile>("attachment.json");

interface WTest { tcId: number; result: string; flags: string[]; [k: string]: unknown }
const groups = (name: string) => wycheproof<{ testGroups: { tests: WTest[]; [k: string]: unknown }[] }>(name).testGroups;
const w = (t: WTest, k: string) => fromHex(t[k] as string);

describe("the Node reference itself", () => {
  it("HChaCha20 matches draft-irtf-cfrg-xchacha §2.2.1 and XChaCha20-Poly1305 every valid Wycheproof case", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(R.hex(R.hchacha20(key, R.unhex("000000090000004a0000000031415927")))).toBe("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
    let n = 0;
    for (const g of groups("xchacha20_poly1305_test.json")) {
      for (const t of g.tests.filter((x) => x.result === "valid")) {
        expect(R.hex(R.xchachaSeal(w(t, "key"), w(t, "iv"), w(t, "msg"), w(t, "aad"))), `tcId ${t.tcId}`).toBe(R.hex(concat(w(t, "ct"), w(t, "tag"))));
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
  });

  it("X25519 matches RFC 7748 §6.1 and the valid Wycheproof cases; HKDF the valid Wycheproof cases", () => {
    const a = R.unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const b = R.unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    expect(R.hex(R.x25519Public(a))).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    expect(R.hex(R.x25519(a, R.x25519Public(b)))).toBe("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    let n = 0;
    for (const g of groups("x25519_test.json")) {
      for (const t of g.tests.filter((x) => x.result === "valid")) {
        expect(R.hex(R.x25519(w(t, "private"), w(t, "public"))), `tcId ${t.tcId}`).toBe(t.shared);
        n++;
      }
    }
    for (const g of groups("hkdf_sha256_test.json")) {
      for (const t of g.tests.filter((x) => x.result === "valid")) {
        expect(R.hex(R.hkdf(w(t, "ikm"), w(t, "salt"), w(t, "info"), t.size as number)), `hkdf tcId ${t.tcId}`).toBe(t.okm);
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
  });

  it("the Ed25519 → X25519 map agrees with the hashed seed, and Ed25519 signs and verifies", () => {
    for (const label of ["a", "b", "c"]) {
      const seed = R.detBytes(`map/${label}`, 32);
      expect(R.hex(R.edPublicToX25519(R.ed25519Public(seed)))).toBe(R.hex(R.x25519Public(R.edSeedToX25519(seed))));
      const sig = R.ed25519Sign(seed, R.text(label));
      expect(R.ed25519Verify(R.ed25519Public(seed), R.text(label), sig)).toBe(true);
      expect(R.ed25519Verify(R.ed25519Public(seed), R.text(`${label}!`), sig)).toBe(false);
    }
  });

  it("reproduces libsignal's fingerprint_test_v1 (display digits and both scannable encodings)", () => {
    expect(K.buildLibsignalFingerprint(safety.libsignal.inputs)).toEqual(safety.libsignal.published);
  });
});

describe("the committed vectors are what the reference computes", () => {
  it("pqxdh.json, session.json, safety-number.json, sender-key.json, attachment.json", () => {
    for (const c of pqxdh.cases) expect(K.buildPqxdh(c.inputs), c.inputs.name).toEqual(c.expected);
    for (const c of session.cases) expect(K.buildSession(c.inputs), c.inputs.name).toEqual(c.expected);
    expect(K.buildSafety(safety.junction.inputs)).toEqual(safety.junction.expected);
    for (const c of senderKey.cases) expect(K.buildSenderKey(c.inputs)).toEqual(c.expected);
    for (const c of attachment.cases) {
      const { ciphertext: _ciphertext, ...expected } = K.buildAttachment(c.inputs);
      expect(expected, c.inputs.name).toEqual(c.expected);
    }
  });
});

describe("lib/crypto reproduces the vectors", () => {
  it("ML-KEM-768: keygen(seed), encapsulate(pk, m) and decapsulate give the vector's key, ciphertext and secret", () => {
    for (const c of [...pqxdh.cases, ...session.cases]) {
      for (const k of [c.inputs.prekeys.kemPrekey, c.inputs.prekeys.kemOneTimePrekey]) {
        if (k) expect(toHex(kemKeygen(fromHex(k.keygenSeed)).publicKey)).toBe(k.publicKey);
      }
      const k = K.usedKemPrekey(c.inputs.prekeys);
      const x = c.inputs.prekeys.encapsulation;
      const pair = kemKeygen(fromHex(k.keygenSeed));
      const enc = kemEncapsulate(pair.publicKey, fromHex(x.randomness));
      expect(toHex(enc.ciphertext)).toBe(x.ciphertext);
      expect(toHex(enc.sharedSecret)).toBe(x.sharedSecret);
      expect(toHex(kemDecapsulate(fromHex(x.ciphertext), pair.secretKey))).toBe(x.sharedSecret);
    }
  });

  it("prekey signatures: the identity key signs the tagged prekeys to the same bytes, and they verify", () => {
    for (const c of pqxdh.cases) {
      const bob = bobIdentity(c);
      for (const p of [c.expected.bob.signedPrekey, c.expected.bob.kemPrekey, c.expected.bob.kemOneTimePrekey]) {
        if (!p) continue;
        expect(toHex(signIdentity(bob, fromHex(p.publicKey)))).toBe(p.signature);
        expect(verifyIdentity(bob.publicKey, fromHex(p.publicKey), fromHex(p.signature))).toBe(true);
      }
    }
  });

  it("PQXDH responder: agreeAsResponder derives the vector's session secret (with, without a one-time prekey; one-time KEM prekey)", async () => {
    for (const c of pqxdh.cases) {
      const pre = bobPrekeys(c);
      const h = c.expected.header;
      const secret = await agreeAsResponder(
        bobIdentity(c),
        { identityKey: fromHex(h.identityKey), baseKey: fromHex(h.baseKey), signedPrekeyId: h.signedPrekeyId, oneTimePrekeyId: h.oneTimePrekeyId, kemPrekeyId: h.kemPrekeyId, kemOneTime: h.kemOneTime, kemCiphertext: fromHex(h.kemCiphertext) },
        {
          signedPrekey: dhPair(c.inputs.prekeys.signedPrekey.privateKey, c.expected.bob.signedPrekey.publicKey),
          oneTimePrekey: c.inputs.prekeys.oneTimePrekey && dhPair(c.inputs.prekeys.oneTimePrekey.privateKey, c.expected.bob.oneTimePrekey!.publicKey),
          kemSecretKey: pre.usedKem.secretKey,
        },
      );
      expect(toHex(secret), c.inputs.name).toBe(c.expected.secret);
    }
  });

  it("Double Ratchet KDFs: KDF_RK, KDF_CK and the message-key expansion give every turn's and message's keys", async () => {
    for (const c of session.cases) {
      const e = c.expected;
      const privs = [c.inputs.prekeys.signedPrekey.privateKey, ...c.inputs.turns.map((t) => t.ratchetPrivate)];
      const pubs = [e.bob.signedPrekey.publicKey.slice(2), ...e.turns.map((t) => t.ratchetPublic)];
      let rk = fromHex(e.secret);
      for (const [t, turn] of e.turns.entries()) {
        const out = kdfRoot(rk, await dh(dhPair(privs[t + 1], `05${pubs[t + 1]}`), fromHex(pubs[t])));
        expect(toHex(out.rootKey)).toBe(turn.rootKey);
        expect(toHex(out.chainKey)).toBe(turn.chainKey);
        rk = out.rootKey;
        let ck = out.chainKey;
        for (const m of e.messages.filter((x) => x.turn === t + 1)) {
          const step = kdfChain(ck);
          expect(toHex(step.messageKey)).toBe(m.messageKey);
          ck = step.chainKey;
          const ref = R.messageCipherKeys(step.messageKey);
          const ours = messageCipherKeys(step.messageKey);
          expect(toHex(ours.key) + toHex(ours.nonce)).toBe(R.hex(ref.key) + R.hex(ref.nonce));
        }
      }
    }
  });

  it("Double Ratchet: initResponder + ratchetDecrypt open the reference's first-chain messages, out of order", async () => {
    for (const c of session.cases) {
      const e = c.expected;
      const prefix = fromHex(e.prekeyPrefix);
      const ad = R.sessionAd(fromHex(e.aliceIdentityKey), fromHex(e.bob.identityKey), c.inputs.alice.address, c.inputs.bob.address);
      let state = initResponder(fromHex(e.secret), dhPair(c.inputs.prekeys.signedPrekey.privateKey, e.bob.signedPrekey.publicKey));
      for (const m of e.messages.filter((x) => x.turn === 1).reverse()) {
        const wire = fromHex(m.wire);
        const header = wire.subarray(prefix.length, prefix.length + HEADER_BYTES);
        expect(decodeHeader(header)).toMatchObject({ pn: m.pn, n: m.n });
        const out = await ratchetDecrypt(state, header, wire.subarray(prefix.length + HEADER_BYTES), concat(ad, prefix));
        expect(text(out.plaintext)).toBe(m.plaintext);
        state = out.state;
      }
    }
  });

  it("sessions: decrypt() opens the reference's prekey messages with a store of the vector's prekeys", async () => {
    for (const c of session.cases) {
      const e = c.expected;
      const pre = bobPrekeys(c);
      const base = { ourIdentity: bobIdentity(c), ourAddress: c.inputs.bob.address, theirAddress: c.inputs.alice.address, prekeys: pre.store };
      const first = e.messages.filter((m) => m.turn === 1).reverse();
      expect(first[0].wire.startsWith(e.prekeyPrefix)).toBe(true);
      expect(fromHex(e.prekeyPrefix)[71]).toBe((e.header.oneTimePrekeyId !== undefined ? 0x01 : 0) | 0x02 | (e.header.kemOneTime ? 0x04 : 0));
      let state: Awaited<ReturnType<typeof decrypt>>["state"] | undefined;
      for (const m of first) {
        const out = await decrypt({ ...base, state, ciphertext: fromHex(m.wire) });
        expect(text(out.plaintext), `${c.inputs.name} ${m.n}`).toBe(m.plaintext);
        expect(out.newSession).toBe(state === undefined);
        expect(toHex(out.theirIdentityKey)).toBe(e.aliceIdentityKey);
        if (state === undefined) {
          expect(out.usedOneTimePrekeyId).toBe(e.header.oneTimePrekeyId);
          expect(out.usedKemOneTimePrekeyId).toBe(e.header.kemOneTime ? e.header.kemPrekeyId : undefined);
          // Only a start on last-resort prekeys alone is replayable, and so names itself for the replay guard.
          const lastResortOnly = e.header.oneTimePrekeyId === undefined && !e.header.kemOneTime;
          expect(out.replayGuard !== undefined).toBe(lastResortOnly);
          if (out.replayGuard) {
            expect(toHex(out.replayGuard.baseKey)).toBe(e.header.baseKey);
            pre.remember(out.replayGuard);
            await expect(decrypt({ ...base, state: undefined, ciphertext: fromHex(m.wire) })).rejects.toMatchObject({ code: "duplicate" });
          }
        }
        state = out.state;
      }
      // The same bytes addressed otherwise do not open (a fresh store: no replay-guard memory).
      const m0 = fromHex(first[first.length - 1].wire);
      const fresh = { ...base, prekeys: bobPrekeys(c).store };
      await expect(decrypt({ ...fresh, theirAddress: "whatsapp:+15551230002", ciphertext: m0 })).rejects.toMatchObject({ code: "bad_message" });
      await expect(decrypt({ ...fresh, ourAddress: "instagram:@bobby", ciphertext: m0 })).rejects.toMatchObject({ code: "bad_message" });
    }
  });

  it("safety numbers: safetyNumber and verifySafetyQr give the vector's digits, hashes and QR from both sides", () => {
    const { inputs: i, expected: e } = safety.junction;
    const [a, b] = [fromHex(e.aliceIdentityKey), fromHex(e.bobIdentityKey)];
    expect(toHex(fingerprintHash(a, i.alice.address))).toBe(e.aliceHash);
    expect(toHex(fingerprintHash(b, i.bob.address))).toBe(e.bobHash);
    const fromAlice = { ourIdentityKey: a, ourAddress: i.alice.address, theirIdentityKey: b, theirAddress: i.bob.address };
    const fromBob = { ourIdentityKey: b, ourAddress: i.bob.address, theirIdentityKey: a, theirAddress: i.alice.address };
    const x = safetyNumber(fromAlice);
    expect(x.digits).toBe(e.digits);
    expect(toHex(x.qr)).toBe(e.aliceQr);
    expect(toHex(safetyNumber(fromBob).qr)).toBe(e.bobQr);
    expect(verifySafetyQr(fromAlice, fromHex(e.bobQr))).toBe(true);
    expect(verifySafetyQr(fromBob, fromHex(e.aliceQr))).toBe(true);
  });

  it("safety numbers: fingerprintDigits on libsignal's published hash prefixes gives libsignal's display string", () => {
    // libsignal publishes each side's first 32 hash bytes (in its scannable encoding); the digits use the first 30.
    const p = safety.libsignal.published;
    const scannable = fromHex(p.aliceScannable);
    const local = scannable.subarray(6, 38);
    const remote = scannable.subarray(42, 74);
    const pad = (h: Uint8Array) => concat(h, new Uint8Array(32));
    const [da, db] = [fingerprintDigits(pad(local)), fingerprintDigits(pad(remote))];
    expect(da < db ? da + db : db + da).toBe(p.displayable);
  });

  it("sender keys: the reference's distribution installs, groupDecrypt opens its messages out of order, groupEncrypt repeats its bytes", () => {
    for (const c of senderKey.cases) {
      const { inputs: i, expected: e } = c;
      const who = { groupId: i.groupId, sender: i.sender };
      let theirs = processSenderKeyDistribution(undefined, fromHex(e.distribution), who);
      for (const k of [4, 0, 2, 1, 3]) {
        const m = e.messages[k];
        const out = groupDecrypt(theirs, fromHex(m.wire));
        expect(text(out.plaintext), `iteration ${m.iteration}`).toBe(m.plaintext);
        theirs = out.record;
      }
      let own: SenderKeyRecord = {
        ...who,
        states: [{ chainId: i.chainId, iteration: i.iteration, chainKey: fromHex(i.chainKey), signingKey: fromHex(e.signingKey), signingPrivateKey: fromHex(i.signingSeed), skipped: new Map() }],
      };
      expect(toHex(senderKeyDistribution(own))).toBe(e.distribution);
      for (const m of e.messages) {
        const out = groupEncrypt(own, utf8(m.plaintext));
        expect(toHex(out.ciphertext), `iteration ${m.iteration}`).toBe(m.wire);
        own = out.record;
      }
      // Bound to its group and sender: a record for another group id or sender refuses the same bytes.
      for (const other of [{ ...who, groupId: `${i.groupId}x` }, { ...who, sender: `${i.sender}x` }]) {
        const rec = processSenderKeyDistribution(undefined, R.senderKeyDistribution({ ...other, chainId: i.chainId, iteration: i.iteration, chainKey: fromHex(i.chainKey), signingPublic: fromHex(e.signingKey).slice(1) }), other);
        expect(() => groupDecrypt(rec, fromHex(e.messages[0].wire))).toThrow(expect.objectContaining({ code: "bad_signature" }));
      }
    }
  });

  it("attachments: decryptAttachment opens the reference's ciphertext and AttachmentEncryptor(key) writes the same bytes", async () => {
    for (const c of attachment.cases) {
      const { inputs: i, expected: e } = c;
      const ref = K.buildAttachment(i);
      const plaintext = K.attachmentPlaintext(i);
      const key = fromHex(i.key);
      expect(toHex(attachmentKeys(key).commitment)).toBe(e.commitment);
      const opened = await decryptAttachment({ ciphertext: ref.ciphertext, key, digest: fromHex(e.digest), commitment: fromHex(e.commitment) });
      expect(Buffer.from(opened).equals(Buffer.from(plaintext)), i.name).toBe(true);
      const enc = new AttachmentEncryptor(key);
      const parts: Uint8Array[] = [];
      for (let o = 0; o < plaintext.length; o += 50_000) parts.push(enc.push(plaintext.subarray(o, o + 50_000)));
      const { tail, digest } = await enc.finish();
      expect(toHex(digest)).toBe(e.digest);
      expect(Buffer.from(concat(...parts, tail)).equals(Buffer.from(ref.ciphertext)), i.name).toBe(true);
      // Streaming decryption of the reference bytes in odd pieces gives the same plaintext.
      const dec = new AttachmentDecryptor({ key, digest: fromHex(e.digest), commitment: fromHex(e.commitment) });
      const out: Uint8Array[] = [];
      for (let o = 0; o < ref.ciphertext.length; o += 9_999) out.push(dec.push(ref.ciphertext.subarray(o, o + 9_999)));
      out.push(await dec.finish());
      expect(Buffer.from(concat(...out)).equals(Buffer.from(plaintext))).toBe(true);
    }
    // The ciphertext names its key: another vector's key, with its own (true) commitment, is refused as a key
    // mismatch before any chunk is tried, not as a failed chunk.
    const [a, b] = attachment.cases;
    const ciphertext = K.buildAttachment(a.inputs).ciphertext;
    await expect(decryptAttachment({ ciphertext, key: fromHex(b.inputs.key), digest: fromHex(a.expected.digest), commitment: fromHex(b.expected.commitment) }))
      .rejects.toMatchObject({ code: "bad_key" });
  });
});
