// A small, readable reference of the Double Ratchet's KDF chain (Signal spec §5.2), written with Node's own
// crypto rather than the libraries the real code uses. Each turn t of the conversation has one sender whose
// ratchet key K_t meets the previous turn's K_{t-1}:  (RK_t, CK_t) = HKDF(salt = RK_{t-1}, DH(K_t, K_{t-1})),
// with RK_0 = SK and K_0 the responder's signed prekey; message i of the turn uses CK_t advanced i times.
// The real implementation must open to the same keys, message for message.
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from "node:crypto";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { describe, expect, it } from "vitest";
import { concat, randomBytes, utf8 } from "./bytes";
import { type RatchetState, decodeHeader, initInitiator, initResponder, ratchetDecrypt, ratchetEncrypt } from "./ratchet";
import { type DhKeyPair, generateDhKeyPair } from "./x25519";

const ref = {
  dh(priv: Uint8Array, pub: Uint8Array): Buffer {
    const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), priv]), format: "der", type: "pkcs8" });
    const publicKey = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), pub]), format: "der", type: "spki" });
    return diffieHellman({ privateKey, publicKey });
  },
  kdfRoot(rk: Buffer, dhOut: Buffer): [Buffer, Buffer] {
    const out = Buffer.from(hkdfSync("sha256", dhOut, rk, "Junction_Ratchet_Root_v1", 64));
    return [out.subarray(0, 32), out.subarray(32)];
  },
  messageKey(ck: Buffer, i: number): Buffer {
    for (let k = 0; k < i; k++) ck = createHmac("sha256", ck).update(Buffer.from([2])).digest();
    return createHmac("sha256", ck).update(Buffer.from([1])).digest();
  },
  cipherKeys(mk: Buffer): { key: Buffer; nonce: Buffer } {
    const out = Buffer.from(hkdfSync("sha256", mk, Buffer.alloc(0), "Junction_Ratchet_MessageKeys_v1", 56));
    return { key: out.subarray(0, 32), nonce: out.subarray(32) };
  },
};

describe("reference KDF chain", () => {
  it("agrees with the real ratchet over 12 alternating turns of 1–4 messages, out of order within a turn", async () => {
    const sk = randomBytes(32);
    const ad = utf8("associated data");
    const spk = await generateDhKeyPair();
    const states: [RatchetState, RatchetState] = [await initInitiator(sk, spk.publicKey), initResponder(sk, spk)];
    // The reference sees each turn's ratchet key pair as the sender holds it.
    const turnKeys: DhKeyPair[] = [spk];
    let rk: Buffer = Buffer.from(sk);
    let checked = 0;
    for (let turn = 1; turn <= 12; turn++) {
      const from = (turn + 1) % 2;
      const to = 1 - from;
      const count = 1 + ((turn * 7) % 4);
      const msgs: { header: Uint8Array; body: Uint8Array; text: string }[] = [];
      for (let i = 0; i < count; i++) {
        const text = `turn ${turn} message ${i}`;
        const out = ratchetEncrypt(states[from], utf8(text), ad);
        states[from] = out.state;
        msgs.push({ header: out.header, body: out.body, text });
      }
      turnKeys.push(states[from].dhs);
      const t = turnKeys.length - 1;
      let ck: Buffer;
      [rk, ck] = ref.kdfRoot(rk, ref.dh(turnKeys[t].privateKey, turnKeys[t - 1].publicKey));
      for (const [i, m] of msgs.entries()) {
        expect(decodeHeader(m.header).n).toBe(i);
        const { key, nonce } = ref.cipherKeys(ref.messageKey(ck, i));
        const opened = xchacha20poly1305(key, nonce, concat(ad, m.header)).decrypt(m.body);
        expect(new TextDecoder().decode(opened)).toBe(m.text);
        checked++;
      }
      for (const m of msgs.slice().reverse()) {
        const out = await ratchetDecrypt(states[to], m.header, m.body, ad);
        expect(new TextDecoder().decode(out.plaintext)).toBe(m.text);
        states[to] = out.state;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });
});
