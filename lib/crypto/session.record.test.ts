// Session records (current + archived states per peer device): simultaneous initiation heals, archived
// states open and are promoted, replays of first messages are refused, stale sessions are replaced.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes";
import {
  type SessionRecord,
  MAX_ARCHIVED_SESSIONS,
  UNANSWERED_SESSION_TTL_MS,
  archiveCurrent,
  decryptRecord,
  deserializeArchive,
  deserializeSession,
  encrypt,
  initiateSession,
  serializeArchive,
  serializeSession,
  sessionNeedsReplacing,
} from "./index";
import { type InFlight, networkStep, type Side } from "./testing/network";
import { bundleOf, type Device, makeDevice, replayGuardKey } from "./testing/parties";
import { dh, forgetDhKey, generateDhKeyPair, isDhKeyCached } from "./x25519";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** One person's device as the engine runs it: a record per peer, replay guards remembered after a commit. */
class Party {
  record: SessionRecord = { archived: [] };
  constructor(readonly device: Device, private readonly peer: () => Party) {}

  async initiate(opts: { oneTime?: boolean; kemOneTime?: boolean } = {}): Promise<void> {
    const peer = this.peer().device;
    const state = await initiateSession({ ourIdentity: this.device.identity, ourAddress: this.device.address, theirAddress: peer.address, bundle: bundleOf(peer, opts) });
    this.record = archiveCurrent(this.record, state);
  }

  async send(plaintext: string): Promise<Uint8Array> {
    const sealed = await encrypt(this.record.current!, utf8(plaintext));
    this.record = { ...this.record, current: sealed.state };
    return sealed.ciphertext;
  }

  async receive(ciphertext: Uint8Array): Promise<{ text: string; openedIn: string }> {
    const peer = this.peer().device;
    const out = await decryptRecord({
      record: this.record,
      ourIdentity: this.device.identity,
      ourAddress: this.device.address,
      theirAddress: peer.address,
      ciphertext,
      prekeys: this.device.store,
    });
    if (out.replayGuard) this.device.usedBaseKeys.add(replayGuardKey(out.replayGuard));
    // stored and read back as the worker does, so the archive format is exercised on every step
    this.record = {
      current: out.record.current && deserializeSession(serializeSession(out.record.current)),
      archived: deserializeArchive(serializeArchive(out.record.archived)),
    };
    return { text: text(out.plaintext), openedIn: out.openedIn };
  }
}

async function twoParties(opts: { oneTime?: number; kemOneTime?: number } = {}) {
  const parties: Party[] = [];
  const a = await makeDevice("whatsapp:+15551230001", opts);
  const b = await makeDevice("instagram:@bob", opts);
  parties.push(new Party(a, () => parties[1]), new Party(b, () => parties[0]));
  return parties as [Party, Party];
}

const step = networkStep(3);

describe("session records", () => {
  it("simultaneous initiation heals: both first messages open and the pair keeps talking (200 interleavings)", async () => {
    let serial = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 24 }), fc.boolean(), async (steps, oneTime) => {
        const parties = await twoParties();
        // both write first, before either has heard from the other
        await parties[0].initiate({ oneTime, kemOneTime: false });
        await parties[1].initiate({ oneTime, kemOneTime: false });
        const network: InFlight[] = [];
        const delivered: InFlight[] = [];
        for (const from of [0, 1] as Side[]) {
          const t = `first ${from}`;
          network.push({ from, ciphertext: await parties[from].send(t), text: t });
        }
        for (const s of steps) {
          if (s.kind === "send") {
            for (let i = 0; i < s.count; i++) {
              const t = `m${serial++}`;
              network.push({ from: s.from, ciphertext: await parties[s.from].send(t), text: t });
            }
          } else if (s.kind === "deliver" && network.length) {
            const [m] = network.splice(s.pick % network.length, 1);
            expect((await parties[1 - m.from].receive(m.ciphertext)).text).toBe(m.text);
            delivered.push(m);
          } else if (s.kind === "duplicate" && delivered.length) {
            const m = delivered[s.pick % delivered.length];
            const to = parties[1 - m.from];
            const before = to.record;
            await expect(to.receive(m.ciphertext)).rejects.toMatchObject({ code: "duplicate" });
            expect(to.record).toBe(before);
          } else if (s.kind === "drop" && network.length) {
            network.splice(s.pick % network.length, 1);
          }
        }
        // everything still in flight arrives late, in order of sending
        for (const m of network.splice(0)) expect((await parties[1 - m.from].receive(m.ciphertext)).text).toBe(m.text);
        // and both can keep talking, one-way bursts and alternating
        for (const from of [0, 0, 1, 1, 0, 1, 0, 1] as Side[]) {
          const t = `after ${serial++}`;
          expect((await parties[1 - from].receive(await parties[from].send(t))).text).toBe(t);
        }
        for (const p of parties) expect(p.record.archived.length).toBeLessThanOrEqual(MAX_ARCHIVED_SESSIONS);
      }),
      { numRuns: 200 },
    );
  }, 180_000);

  it("a message for an archived state opens there, and that state is promoted for sending", async () => {
    const [alice, bob] = await twoParties();
    await alice.initiate();
    expect(await bob.receive(await alice.send("one"))).toEqual({ text: "one", openedIn: "new" });
    const late = await bob.send("late reply on the first session");
    // Alice loses nothing but starts over (a second session), which Bob accepts as current
    await alice.initiate();
    expect((await bob.receive(await alice.send("two"))).openedIn).toBe("new");
    expect(bob.record.archived).toHaveLength(1);
    // Bob's reply from the first session reaches Alice: her archived first session opens it and is promoted
    expect(await alice.receive(late)).toEqual({ text: "late reply on the first session", openedIn: "archived" });
    const t = await alice.send("three");
    expect(t[0]).toBe(0x11);
    expect(await bob.receive(t)).toEqual({ text: "three", openedIn: "archived" });
  });

  it("a recorded first message without one-time prekeys cannot start a second session, and the live one stays", async () => {
    const [alice, bob] = await twoParties({ oneTime: 0 });
    await alice.initiate({ oneTime: false, kemOneTime: false });
    const first = await alice.send("first");
    expect((await bob.receive(first)).openedIn).toBe("new");
    expect(bob.device.usedBaseKeys.size).toBe(1);
    // the session moves on both ways
    await alice.receive(await bob.send("reply"));
    await bob.receive(await alice.send("more"));
    // the archive no longer holds that session (evicted, or the row was lost): only the guard remains
    const live = bob.record.current!;
    bob.record = { current: undefined, archived: [] };
    await expect(bob.receive(first)).rejects.toMatchObject({ code: "duplicate" });
    // with the live state back, the replay is a duplicate of it and changes nothing
    bob.record = { current: live, archived: [] };
    await expect(bob.receive(first)).rejects.toMatchObject({ code: "duplicate" });
    expect(bob.record.current).toBe(live);
    expect((await bob.receive(await alice.send("still here"))).text).toBe("still here");
    // the control: without the guard the same replay would have started a session
    bob.device.usedBaseKeys.clear();
    bob.record = { current: undefined, archived: [] };
    expect((await bob.receive(first)).openedIn).toBe("new");
  });

  it("the archive keeps at most 40 states, newest first", async () => {
    const [alice, bob] = await twoParties();
    for (let i = 0; i < MAX_ARCHIVED_SESSIONS + 3; i++) {
      await alice.initiate({ oneTime: false, kemOneTime: false });
      await bob.receive(await alice.send(`start ${i}`));
    }
    expect(bob.record.archived).toHaveLength(MAX_ARCHIVED_SESSIONS);
    expect(serializeArchive(bob.record.archived).length).toBeGreaterThan(0);
  });

  it("an unanswered session is replaced after 30 days; an answered one and a post-quantum one are not", async () => {
    const [alice, bob] = await twoParties();
    const bundle = bundleOf(bob.device);
    const created = 1_700_000_000_000;
    const s = await initiateSession({ ourIdentity: alice.device.identity, ourAddress: alice.device.address, theirAddress: bob.device.address, bundle, now: created });
    expect(sessionNeedsReplacing(s, created + UNANSWERED_SESSION_TTL_MS)).toBe(false);
    expect(sessionNeedsReplacing(s, created + UNANSWERED_SESSION_TTL_MS + 1)).toBe(true);
    expect(sessionNeedsReplacing({ ...s, pending: undefined }, created + 10 * UNANSWERED_SESSION_TTL_MS)).toBe(false);
    expect(sessionNeedsReplacing({ ...s, pending: undefined, postQuantum: false }, created)).toBe(true);
    expect(deserializeSession(serializeSession(s)).createdAt).toBe(created);
  });

  it("a wiped private key is never used again, and a forgotten key leaves the cache", async () => {
    const ours = await generateDhKeyPair("webcrypto");
    const theirs = await generateDhKeyPair("webcrypto");
    const shared = await dh(ours, theirs.publicKey, "webcrypto");
    expect(isDhKeyCached(ours.publicKey)).toBe(true);
    ours.privateKey.fill(0);
    await expect(dh(ours, theirs.publicKey, "webcrypto")).rejects.toMatchObject({ code: "bad_key" });
    await expect(dh(ours, theirs.publicKey, "noble")).rejects.toMatchObject({ code: "bad_key" });
    forgetDhKey(theirs.publicKey);
    expect(isDhKeyCached(theirs.publicKey)).toBe(false);
    // the other side still agrees with itself: the cache never changed a result
    expect(shared).toHaveLength(32);
  });
});
