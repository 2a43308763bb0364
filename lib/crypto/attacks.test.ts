// One named test per limit and attack on pairwise sessions and keys.
import { describe, expect, it } from "vitest";
import { fromHex, utf8 } from "./bytes";
import {
  type SessionState,
  decrypt,
  encrypt,
  initiateSession,
  deserializeSession,
  safetyNumber,
  serializeSession,
  sessionIsPostQuantum,
  verifyAuth,
  verifySafetyQr,
} from "./index";
import { KeyTag, encodeKey, generateIdentityKeyPair, signAuth, signIdentity } from "./keys";
import { sessionSkippedKeys } from "./session";
import { bundleOf, type Device, makeDevice } from "./testing/parties";
import { generateDhKeyPair } from "./x25519";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function pair(opts: { kem?: boolean } = {}) {
  const alice = await makeDevice("whatsapp:+15551230001");
  const bob = await makeDevice("messenger:bob.jones");
  const a = await initiateSession({ ourIdentity: alice.identity, ourAddress: alice.address, theirAddress: bob.address, bundle: bundleOf(bob, opts) });
  return { alice, bob, a };
}

function recv(to: Device, from: Device, state: SessionState | undefined, ciphertext: Uint8Array, over: Partial<{ ourAddress: string; theirAddress: string }> = {}) {
  return decrypt({ state, ourIdentity: to.identity, ourAddress: over.ourAddress ?? to.address, theirAddress: over.theirAddress ?? from.address, ciphertext, prekeys: to.store });
}

/** A session where Bob has replied once, so both sides exchange normal messages. */
async function established() {
  const { alice, bob, a: a0 } = await pair();
  const m = await encrypt(a0, utf8("hi"));
  const b = await recv(bob, alice, undefined, m.ciphertext);
  const r = await encrypt(b.state, utf8("hello"));
  const a = await recv(alice, bob, m.state, r.ciphertext);
  return { alice, bob, a: a.state, b: r.state };
}

async function sendMany(state: SessionState, n: number) {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const e = await encrypt(state, utf8(`m${i}`));
    state = e.state;
    out.push(e.ciphertext);
  }
  return { state, out };
}

describe("attacks and limits", () => {
  it("tampered ciphertext, header or associated data → rejected and state unchanged", async () => {
    const { alice, bob, a, b } = await established();
    const { out } = await sendMany(a, 1);
    const before = serializeSession(b);
    const ct = out[0];
    // type byte 0, ratchet key 2..33, pn 34..37, counter 38..41, then the AEAD body and tag.
    for (const at of [2, 20, 36, 41, 42, ct.length - 1]) {
      const bad = ct.slice();
      bad[at] ^= 0x01;
      await expect(recv(bob, alice, b, bad), `byte ${at}`).rejects.toMatchObject({ name: "CryptoError" });
    }
    await expect(recv(bob, alice, b, ct, { theirAddress: "instagram:@mallory" })).rejects.toMatchObject({ code: "bad_message" });
    await expect(recv(bob, alice, b, ct, { ourAddress: "instagram:@bob" })).rejects.toMatchObject({ code: "bad_message" });
    expect(serializeSession(b)).toEqual(before);
    expect(text((await recv(bob, alice, b, ct)).plaintext)).toBe("m0");
  });

  it("a tampered prekey message (identity, base key, prekey ids, KEM ciphertext) → rejected", async () => {
    const { alice, bob, a } = await pair();
    const { ciphertext } = await encrypt(a, utf8("first"));
    // Layout: type, identity 1..33, base key 34..66, spk id 67..70, flags 71, opk id 72..75, kem id 76..79, kem ct 80..
    for (const at of [10, 50, 70, 75, 79, 500]) {
      const bad = ciphertext.slice();
      bad[at] ^= 0x01;
      await expect(recv(bob, alice, undefined, bad), `byte ${at}`).rejects.toMatchObject({ name: "CryptoError" });
    }
    expect(text((await recv(bob, alice, undefined, ciphertext)).plaintext)).toBe("first");
  });

  it("a prekey part altered in a later message of a session that opened the untampered one → rejected", async () => {
    // the joined associated data and prefix of the last message is reused while the prefix is the same:
    // a prefix that differs in any byte (here the KEM ciphertext, which an open session no longer reads)
    // must not reuse it
    const { alice, bob, a } = await pair();
    const first = await encrypt(a, utf8("first"));
    const second = await encrypt(first.state, utf8("second"));
    const opened = await recv(bob, alice, undefined, first.ciphertext);
    for (const at of [80, 500, 1100]) {
      const bad = second.ciphertext.slice();
      bad[at] ^= 0x01;
      await expect(recv(bob, alice, opened.state, bad), `byte ${at}`).rejects.toMatchObject({ name: "CryptoError", code: "bad_message" });
    }
    expect(text((await recv(bob, alice, opened.state, second.ciphertext)).plaintext)).toBe("second");
  });

  it("a replayed message → rejected as duplicate, in the current chain, an old chain, and a prekey message", async () => {
    const { alice, bob, a, b } = await established();
    const first = await sendMany(a, 2);
    let bs = (await recv(bob, alice, b, first.out[0])).state;
    bs = (await recv(bob, alice, bs, first.out[1])).state;
    await expect(recv(bob, alice, bs, first.out[1])).rejects.toMatchObject({ code: "duplicate" });
    // Move to a new chain, then replay from the old one.
    const reply = await encrypt(bs, utf8("r"));
    const as = (await recv(alice, bob, first.state, reply.ciphertext)).state;
    const next = await encrypt(as, utf8("new chain"));
    bs = (await recv(bob, alice, reply.state, next.ciphertext)).state;
    await expect(recv(bob, alice, bs, first.out[0])).rejects.toMatchObject({ code: "duplicate" });

    const p = await pair();
    const m = await encrypt(p.a, utf8("prekey"));
    const got = await recv(p.bob, p.alice, undefined, m.ciphertext);
    await expect(recv(p.bob, p.alice, got.state, m.ciphertext)).rejects.toMatchObject({ code: "duplicate" });
  });

  it("a gap of exactly 1,000 is accepted and 1,001 rejected with state unchanged", async () => {
    const { alice, bob, a, b } = await established();
    const { out } = await sendMany(a, 1002);
    const before = serializeSession(b);
    await expect(recv(bob, alice, b, out[1001])).rejects.toMatchObject({ code: "too_far" });
    expect(serializeSession(b)).toEqual(before);
    const ok = await recv(bob, alice, b, out[1000]);
    expect(text(ok.plaintext)).toBe("m1000");
    expect(sessionSkippedKeys(ok.state)).toBe(1000);
    // The skipped keys still open the earlier messages, once each.
    const late = await recv(bob, alice, ok.state, out[3]);
    expect(text(late.plaintext)).toBe("m3");
    expect(sessionSkippedKeys(late.state)).toBe(999);
  });

  it("a forged far-ahead header stores no skipped keys", async () => {
    const { alice, bob, a, b } = await established();
    const { out } = await sendMany(a, 1);
    const forged = out[0].slice();
    new DataView(forged.buffer).setUint32(38, 900, false);
    await expect(recv(bob, alice, b, forged)).rejects.toMatchObject({ code: "bad_message" });
    new DataView(forged.buffer).setUint32(38, 4_000_000_000, false);
    await expect(recv(bob, alice, b, forged)).rejects.toMatchObject({ code: "too_far" });
    expect(sessionSkippedKeys(b)).toBe(0);
    const real = await recv(bob, alice, b, out[0]);
    expect(sessionSkippedKeys(real.state)).toBe(0);
  });

  it("skipped keys are bounded at 2,000 in all, oldest evicted", async () => {
    const { alice, bob, a, b } = await established();
    let as = a;
    let bs = b;
    const kept: Uint8Array[] = [];
    for (let round = 0; round < 3; round++) {
      const batch = await sendMany(as, 1001);
      kept.push(batch.out[0]);
      bs = (await recv(bob, alice, bs, batch.out[1000])).state;
      const reply = await encrypt(bs, utf8("r"));
      bs = reply.state;
      as = (await recv(alice, bob, batch.state, reply.ciphertext)).state;
    }
    expect(sessionSkippedKeys(bs)).toBe(2000);
    await expect(recv(bob, alice, bs, kept[0])).rejects.toMatchObject({ code: "duplicate" });
    expect(text((await recv(bob, alice, bs, kept[2])).plaintext)).toBe("m0");
  });

  it("a bundle whose signed prekey signature does not verify → refused", async () => {
    const bob = await makeDevice("instagram:@bob");
    const alice = generateIdentityKeyPair();
    const good = bundleOf(bob);
    const other = await makeDevice("instagram:@eve");
    const params = { ourIdentity: alice, ourAddress: "whatsapp:+15551230001", theirAddress: bob.address };
    const sig = good.signedPrekey.signature.slice();
    sig[5] ^= 1;
    await expect(initiateSession({ ...params, bundle: { ...good, signedPrekey: { ...good.signedPrekey, signature: sig } } })).rejects.toMatchObject({ code: "bad_signature" });
    // A relay swapping in its own (validly self-signed) prekey still fails against Bob's identity key.
    await expect(initiateSession({ ...params, bundle: { ...good, signedPrekey: bundleOf(other).signedPrekey } })).rejects.toMatchObject({ code: "bad_signature" });
    await expect(initiateSession({ ...params, bundle: { ...good, kemPrekey: bundleOf(other).kemPrekey } })).rejects.toMatchObject({ code: "bad_signature" });
  });

  it("a key of the wrong type → refused", async () => {
    const bob = await makeDevice("instagram:@bob");
    const alice = generateIdentityKeyPair();
    const good = bundleOf(bob);
    const params = { ourIdentity: alice, ourAddress: "whatsapp:+15551230001", theirAddress: bob.address };
    // The one-time prekey's bytes retagged: signed with the real identity key, yet refused for its type.
    const asOneTime = encodeKey(KeyTag.oneTimePrekey, good.signedPrekey.publicKey.subarray(1));
    const spk = { id: 1, publicKey: asOneTime, signature: signIdentity(bob.identity, asOneTime) };
    await expect(initiateSession({ ...params, bundle: { ...good, signedPrekey: spk } })).rejects.toMatchObject({ code: "bad_key" });
    await expect(initiateSession({ ...params, bundle: { ...good, identityKey: encodeKey(KeyTag.auth, good.identityKey.subarray(1)) } }))
      .rejects.toMatchObject({ code: "bad_key" });
    // A signature over a signed prekey is not a signature over the same bytes as a KEM key.
    const kem = good.kemPrekey!;
    await expect(initiateSession({ ...params, bundle: { ...good, kemPrekey: { ...kem, signature: good.signedPrekey.signature } } }))
      .rejects.toMatchObject({ code: "bad_signature" });
    const auth = { publicKey: encodeKey(KeyTag.identity, alice.publicKey.subarray(1)), privateKey: alice.privateKey };
    const msg = utf8("login");
    expect(verifyAuth(auth.publicKey, msg, signAuth(auth.privateKey, msg))).toBe(false);
  });

  it("low-order points → refused as prekeys and as ratchet keys", async () => {
    const bob = await makeDevice("instagram:@bob");
    const alice = generateIdentityKeyPair();
    const good = bundleOf(bob);
    const low = fromHex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
    const spkLow = encodeKey(KeyTag.signedPrekey, low);
    const bundle = { ...good, signedPrekey: { id: 1, publicKey: spkLow, signature: signIdentity(bob.identity, spkLow) } };
    await expect(initiateSession({ ourIdentity: alice, ourAddress: "whatsapp:+15551230001", theirAddress: bob.address, bundle })).rejects.toMatchObject({ code: "bad_key" });

    const { alice: al, bob: bo, a, b } = await established();
    const { out } = await sendMany(a, 1);
    const forged = out[0].slice();
    forged.set(new Uint8Array(32), 2);
    await expect(recv(bo, al, b, forged)).rejects.toMatchObject({ code: "bad_key" });
    const zeroBase = (await encrypt((await pair()).a, utf8("x"))).ciphertext;
    zeroBase.set(new Uint8Array(32), 35);
    await expect(recv(bob, bob, undefined, zeroBase)).rejects.toMatchObject({ name: "CryptoError" });
    void generateDhKeyPair;
  });

  it("a bundle without a KEM prekey is refused: no session, nothing to send", async () => {
    const alice = await makeDevice("whatsapp:+15551230001");
    const bob = await makeDevice("messenger:bob.jones", { kemOneTime: 1 });
    const start = (bundle: ReturnType<typeof bundleOf>) =>
      initiateSession({ ourIdentity: alice.identity, ourAddress: alice.address, theirAddress: bob.address, bundle });
    await expect(start(bundleOf(bob, { kem: false }))).rejects.toMatchObject({ code: "downgrade" });
    // a one-time KEM prekey without the signed last-resort one is not a complete bundle either
    await expect(start({ ...bundleOf(bob), kemPrekey: undefined })).rejects.toMatchObject({ code: "downgrade" });
    // a KEM prekey whose signature does not verify, last-resort or one-time
    const good = bundleOf(bob);
    const forged = { ...good.kemPrekey!, signature: good.kemPrekey!.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    await expect(start({ ...good, kemPrekey: forged })).rejects.toMatchObject({ code: "bad_signature" });
    await expect(start({ ...good, kemOneTimePrekey: { ...good.kemOneTimePrekey!, signature: forged.signature } })).rejects.toMatchObject({ code: "bad_signature" });
    const s = await start(good);
    expect(sessionIsPostQuantum(s)).toBe(true);
    expect(sessionIsPostQuantum(deserializeSession(serializeSession(s)))).toBe(true);
  });

  it("an X3DH prekey message (KEM part stripped or never there) is refused", async () => {
    const { alice, bob, a } = await pair();
    const m = await encrypt(a, utf8("post-quantum"));
    expect(m.ciphertext[71] & 0x02).toBe(0x02);
    // Layout: type, identity, base key, spk id, flags @71, opk id 72..75, kem id 76..79, kem ct 80..1167, header, body.
    const stripped = new Uint8Array([...m.ciphertext.subarray(0, 71), m.ciphertext[71] & ~0x02, ...m.ciphertext.subarray(72, 76), ...m.ciphertext.subarray(80 + 1088)]);
    await expect(recv(bob, alice, undefined, stripped)).rejects.toMatchObject({ code: "downgrade" });
    // the one-time KEM flag without the KEM part is malformed, not a way around the check
    const oddFlags = stripped.slice();
    oddFlags[71] |= 0x04;
    await expect(recv(bob, alice, undefined, oddFlags)).rejects.toMatchObject({ name: "CryptoError" });
    expect(text((await recv(bob, alice, undefined, m.ciphertext)).plaintext)).toBe("post-quantum");
  });

  it("two devices compute the same safety number and a changed identity key changes it", () => {
    const a = generateIdentityKeyPair();
    const b = generateIdentityKeyPair();
    const mine = { ourIdentityKey: a.publicKey, ourAddress: "whatsapp:+15551230001", theirIdentityKey: b.publicKey, theirAddress: "instagram:@bob" };
    const theirs = { ourIdentityKey: b.publicKey, ourAddress: "instagram:@bob", theirIdentityKey: a.publicKey, theirAddress: "whatsapp:+15551230001" };
    const x = safetyNumber(mine);
    const y = safetyNumber(theirs);
    expect(x.digits).toMatch(/^\d{60}$/);
    expect(x.digits).toBe(y.digits);
    expect(verifySafetyQr(mine, y.qr)).toBe(true);
    expect(verifySafetyQr(theirs, x.qr)).toBe(true);
    const changed = { ...mine, theirIdentityKey: generateIdentityKeyPair().publicKey };
    expect(safetyNumber(changed).digits).not.toBe(x.digits);
    expect(verifySafetyQr(changed, y.qr)).toBe(false);
    expect(safetyNumber({ ...mine, theirAddress: "instagram:@bobby" }).digits).not.toBe(x.digits);
  });
});
