import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes";
import { CryptoError, decrypt, deserializeSession, encrypt, initiateSession, serializeSession, type SessionState } from "./index";
import { bundleOf, type Device, makeDevice } from "./testing/parties";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function open(alice: Device, bob: Device, opts: { kemOneTime?: boolean; oneTime?: boolean } = {}) {
  const a = await initiateSession({ ourIdentity: alice.identity, ourAddress: alice.address, theirAddress: bob.address, bundle: bundleOf(bob, opts) });
  return a;
}

async function recv(to: Device, from: Device, state: SessionState | undefined, ciphertext: Uint8Array) {
  return decrypt({ state, ourIdentity: to.identity, ourAddress: to.address, theirAddress: from.address, ciphertext, prekeys: to.store });
}

describe("pairwise sessions", () => {
  for (const kemOneTime of [false, true]) {
    it(`round-trips both ways over PQXDH (${kemOneTime ? "one-time" : "last-resort"} KEM prekey) and through serialisation`, async () => {
      const alice = await makeDevice("whatsapp:+15551230001");
      const bob = await makeDevice("instagram:@bob", { kemOneTime: 1 });
      let a = await open(alice, bob, { kemOneTime });
      const m1 = await encrypt(a, utf8("hello bob"));
      a = m1.state;
      expect(m1.ciphertext[0]).toBe(0x12);
      const r1 = await recv(bob, alice, undefined, m1.ciphertext);
      expect(text(r1.plaintext)).toBe("hello bob");
      expect(r1.newSession).toBe(true);
      expect(r1.usedOneTimePrekeyId).toBe(100);
      expect(r1.usedKemOneTimePrekeyId).toBe(kemOneTime ? 200 : undefined);
      // a one-time key of either kind makes the first message unreplayable by itself
      expect(r1.replayGuard).toBeUndefined();
      expect(r1.theirIdentityKey).toEqual(alice.identity.publicKey);
      let b = deserializeSession(serializeSession(r1.state));

      const m2 = await encrypt(b, utf8("hi alice"));
      b = m2.state;
      expect(m2.ciphertext[0]).toBe(0x11);
      const r2 = await recv(alice, bob, deserializeSession(serializeSession(a)), m2.ciphertext);
      expect(text(r2.plaintext)).toBe("hi alice");
      a = r2.state;
      // After the first reply the initiator stops sending prekey messages.
      const m3 = await encrypt(a, utf8("again"));
      expect(m3.ciphertext[0]).toBe(0x11);
      const r3 = await recv(bob, alice, b, m3.ciphertext);
      expect(text(r3.plaintext)).toBe("again");
      expect(serializeSession(deserializeSession(serializeSession(r3.state)))).toEqual(serializeSession(r3.state));
    });
  }

  it("refuses a normal message without a session", async () => {
    const alice = await makeDevice("whatsapp:+15551230001");
    const bob = await makeDevice("instagram:@bob");
    let a = await open(alice, bob);
    const m1 = await encrypt(a, utf8("one"));
    a = m1.state;
    const r1 = await recv(bob, alice, undefined, m1.ciphertext);
    const reply = await encrypt(r1.state, utf8("two"));
    await expect(recv(alice, bob, undefined, reply.ciphertext)).rejects.toMatchObject({ code: "no_session" });
    await expect(recv(alice, bob, undefined, reply.ciphertext)).rejects.toBeInstanceOf(CryptoError);
  });
});
