// Whole sessions against the known-answer vectors, byte for byte in both directions. lib/crypto draws its
// ephemeral, ratchet and KEM randomness itself; here key generation and ML-KEM encapsulation are fed the
// vector's fixed values (everything else is the real code), so initiateSession and encrypt must write exactly
// the bytes the independent reference wrote, and decrypt must open them, over both X25519 backends.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fromHex, toHex, utf8 } from "./bytes";
import { type SessionState, decrypt, encrypt, initiateSession } from "./session";
import { type SessionFile, usedKemPrekey } from "./testing/katBuild";
import { aliceIdentity, bobBundle, bobIdentity, bobPrekeys } from "./testing/katFixtures";
import { detBytes, x25519Public } from "./testing/nodeReference";
import type * as KemModule from "./kem";
import { type DhKeyPair, type X25519Backend, setX25519Backend } from "./x25519";
import type * as X25519Module from "./x25519";

const fixed = vi.hoisted(() => ({ dh: [] as DhKeyPair[], kem: [] as Uint8Array[], strict: false }));

vi.mock("./x25519", async (importOriginal) => {
  const actual = await importOriginal<typeof X25519Module>();
  return {
    ...actual,
    generateDhKeyPair: async (backend?: X25519Backend) => {
      const next = fixed.dh.shift();
      if (next) return next;
      if (fixed.strict) throw new Error("a key pair was generated where the vector fixes none");
      return actual.generateDhKeyPair(backend);
    },
  };
});

vi.mock("./kem", async (importOriginal) => {
  const actual = await importOriginal<typeof KemModule>();
  return {
    ...actual,
    kemEncapsulate: (publicKey: Uint8Array, randomness?: Uint8Array) => {
      const m = randomness ?? fixed.kem.shift();
      if (!m && fixed.strict) throw new Error("an encapsulation happened where the vector fixes none");
      return actual.kemEncapsulate(publicKey, m);
    },
  };
});

const session = JSON.parse(readFileSync(join(import.meta.dirname, "vectors", "kat", "session.json"), "utf8")) as SessionFile;
const text = (b: Uint8Array) => new TextDecoder().decode(b);
/** A fresh pair object each time: the code wipes ephemeral private keys after use. */
const pair = (privateHex: string): DhKeyPair => {
  const privateKey = fromHex(privateHex);
  return { publicKey: x25519Public(privateKey), privateKey };
};

afterEach(() => {
  fixed.dh.length = 0;
  fixed.kem.length = 0;
  fixed.strict = false;
  setX25519Backend(undefined);
});

describe("sessions, byte for byte", () => {
  for (const backend of ["webcrypto", "noble"] as X25519Backend[]) {
    for (const c of session.cases) {
      it(`${c.inputs.name} (${backend}): initiateSession/encrypt write the reference's bytes, decrypt opens every turn`, async () => {
        setX25519Backend(backend);
        fixed.strict = true;
        const { inputs: i, expected: e } = c;
        const alice = { ourIdentity: aliceIdentity(c), ourAddress: i.alice.address, theirAddress: i.bob.address };
        const pre = bobPrekeys(c);
        const bob = { ourIdentity: bobIdentity(c), ourAddress: i.bob.address, theirAddress: i.alice.address, prekeys: pre.store };
        expect(pre.usedKem.id).toBe(usedKemPrekey(i.prekeys).id);

        // Alice: the base key, then her first ratchet key; one encapsulation.
        fixed.dh.push(pair(i.baseKeyPrivate), pair(i.turns[0].ratchetPrivate));
        fixed.kem.push(fromHex(i.prekeys.encapsulation.randomness));
        const states: Record<"alice" | "bob", SessionState | undefined> = {
          alice: await initiateSession({ ...alice, bundle: bobBundle(c) }),
          bob: undefined,
        };
        expect(fixed.dh).toHaveLength(0);
        expect(fixed.kem).toHaveLength(0);
        expect(toHex(states.alice!.baseKey)).toBe(e.header.baseKey);

        for (const [t, turn] of i.turns.entries()) {
          const from = turn.from;
          const to = from === "alice" ? "bob" : "alice";
          const msgs = e.messages.filter((m) => m.turn === t + 1);
          for (const m of msgs) {
            const out = await encrypt(states[from]!, utf8(m.plaintext));
            expect(toHex(out.ciphertext), `turn ${t + 1} message ${m.n}`).toBe(m.wire);
            states[from] = out.state;
          }
          // The recipient's first message of this turn is a DH ratchet step: it generates its next ratchet key,
          // which the vector fixes when the recipient speaks next (a throwaway key otherwise).
          const next = i.turns[t + 1]?.ratchetPrivate ?? toHex(detBytes(`unused/${c.inputs.name}/${t}`, 32));
          fixed.dh.push(pair(next));
          for (const m of msgs.slice().reverse()) {
            const params = to === "bob" ? bob : { ...alice, prekeys: pre.store };
            const out = await decrypt({ ...params, state: states[to], ciphertext: fromHex(m.wire) });
            expect(text(out.plaintext), `turn ${t + 1} message ${m.n}`).toBe(m.plaintext);
            if (out.replayGuard) pre.remember(out.replayGuard);
            states[to] = out.state;
          }
          expect(fixed.dh).toHaveLength(0);
        }
      });
    }
  }
});
