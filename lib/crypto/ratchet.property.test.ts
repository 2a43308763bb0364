// Property test in the manner of libsignal's fuzz target: two parties exchange random batches delivered in
// random order with drops, duplicates and reorders. Every delivered message decrypts exactly once to its
// plaintext, every duplicate is refused without changing state, and both sides can keep talking afterwards.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes";
import { type SessionState, decrypt, deserializeSession, encrypt, initiateSession, serializeSession } from "./index";
import { type InFlight, networkStep, type Side } from "./testing/network";
import { bundleOf, type Device, makeDevice } from "./testing/parties";

const step = networkStep(4);

describe("ratchet property", () => {
  it("delivers every message exactly once under drops, duplicates and reorders (500 runs)", async () => {
    const devices: [Device, Device] = [await makeDevice("whatsapp:+15551230001", { oneTime: 600 }), await makeDevice("instagram:@bob", { oneTime: 1, kemOneTime: 1 })];
    const bob = devices[1];
    let serial = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), fc.boolean(), async (steps, kemOneTime) => {
        const states: [SessionState | undefined, SessionState | undefined] = [
          await initiateSession({ ourIdentity: devices[0].identity, ourAddress: devices[0].address, theirAddress: bob.address, bundle: bundleOf(bob, { kemOneTime, oneTime: false }) }),
          undefined,
        ];
        const network: InFlight[] = [];
        const delivered: InFlight[] = [];
        const receive = async (m: InFlight) => {
          const to = (1 - m.from) as Side;
          const out = await decrypt({
            state: states[to],
            ourIdentity: devices[to].identity,
            ourAddress: devices[to].address,
            theirAddress: devices[m.from].address,
            ciphertext: m.ciphertext,
            prekeys: devices[to].store,
          });
          // Stored and read back as the worker does, so serialisation is exercised on every step.
          states[to] = deserializeSession(serializeSession(out.state));
          return new TextDecoder().decode(out.plaintext);
        };
        const send = async (from: Side, text: string) => {
          const e = await encrypt(states[from]!, utf8(text));
          states[from] = e.state;
          return { from, ciphertext: e.ciphertext, text };
        };

        for (const s of steps) {
          if (s.kind === "send") {
            // The responder has no session until some message of the initiator reaches it.
            if (!states[s.from]) continue;
            for (let i = 0; i < s.count; i++) network.push(await send(s.from, `m${serial++}`));
          } else if (s.kind === "deliver" && network.length) {
            const [m] = network.splice(s.pick % network.length, 1);
            expect(await receive(m)).toBe(m.text);
            delivered.push(m);
          } else if (s.kind === "duplicate" && delivered.length) {
            const m = delivered[s.pick % delivered.length];
            const to = (1 - m.from) as Side;
            const before = serializeSession(states[to]!);
            await expect(receive(m)).rejects.toMatchObject({ code: "duplicate" });
            expect(serializeSession(states[to]!)).toEqual(before);
          } else if (s.kind === "drop" && network.length) {
            network.splice(s.pick % network.length, 1);
          }
        }
        // Both sides keep talking afterwards, whatever was lost.
        if (!states[1]) {
          const first = await send(0, "hello again");
          expect(await receive(first)).toBe("hello again");
        }
        for (const from of [0, 1, 0, 1] as Side[]) {
          const m = await send(from, `after ${from}`);
          expect(await receive(m)).toBe(m.text);
        }
      }),
      { numRuns: 500 },
    );
  }, 120_000);
});
