import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes";
import {
  type SenderKeyRecord,
  createSenderKey,
  deserializeSenderKey,
  groupDecrypt,
  groupEncrypt,
  processSenderKeyDistribution,
  rotateSenderKey,
  senderKeyDistribution,
  serializeSenderKey,
} from "./senderKeys";

const who = { groupId: "group-1", sender: "messenger:alice.smith/device-01" };
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function setup() {
  const own = createSenderKey(who);
  const theirs = processSenderKeyDistribution(undefined, senderKeyDistribution(own), who);
  return { own, theirs };
}

function send(own: SenderKeyRecord, n: number) {
  const out: Uint8Array[] = [];
  let rec = own;
  for (let i = 0; i < n; i++) {
    const e = groupEncrypt(rec, utf8(`m${i}`));
    rec = e.record;
    out.push(e.ciphertext);
  }
  return { own: rec, messages: out };
}

describe("sender keys", () => {
  it("delivers group messages in and out of order, each once, across serialisation", () => {
    const { own, theirs } = setup();
    const { messages } = send(own, 5);
    let r = deserializeSenderKey(serializeSenderKey(theirs));
    for (const i of [2, 0, 4, 1, 3]) {
      const d = groupDecrypt(r, messages[i]);
      expect(text(d.plaintext)).toBe(`m${i}`);
      r = deserializeSenderKey(serializeSenderKey(d.record));
    }
    expect(() => groupDecrypt(r, messages[1])).toThrow(expect.objectContaining({ code: "duplicate" }));
  });

  it("rejects a message whose signature or body was altered, changing nothing", () => {
    const { own, theirs } = setup();
    const { messages } = send(own, 1);
    for (const at of [7, 12, messages[0].length - 1]) {
      const bad = messages[0].slice();
      bad[at] ^= 1;
      expect(() => groupDecrypt(theirs, bad)).toThrow(expect.objectContaining({ code: "bad_signature" }));
    }
    expect(text(groupDecrypt(theirs, messages[0]).plaintext)).toBe("m0");
  });

  it("refuses a member's message signed with another member's chain", () => {
    const { theirs } = setup();
    const mallory = createSenderKey(who);
    // Same group, same claimed sender, but Mallory's key: the receiver holds no such chain.
    const forged = groupEncrypt(mallory, utf8("hi")).ciphertext;
    expect(() => groupDecrypt(theirs, forged)).toThrow(expect.objectContaining({ code: "no_session" }));
  });

  it("refuses a distribution in someone else's name", () => {
    const own = createSenderKey(who);
    expect(() => processSenderKeyDistribution(undefined, senderKeyDistribution(own), { ...who, sender: "instagram:@eve/device-02" }))
      .toThrow(expect.objectContaining({ code: "bad_message" }));
  });

  it("bounds skipped iterations: 1,000 ahead accepted, 1,001 refused", () => {
    const { own, theirs } = setup();
    const { messages } = send(own, 1002);
    expect(() => groupDecrypt(theirs, messages[1001])).toThrow(expect.objectContaining({ code: "too_far" }));
    expect(text(groupDecrypt(theirs, messages[1000]).plaintext)).toBe("m1000");
  });

  it("rotation: old chain still reads late messages, the removed member cannot read the new chain", () => {
    const { own, theirs } = setup();
    const late = groupEncrypt(own, utf8("late")).ciphertext;
    const rotated = rotateSenderKey(own);
    const staying = processSenderKeyDistribution(theirs, senderKeyDistribution(rotated), who);
    const fresh = groupEncrypt(rotated, utf8("after")).ciphertext;
    expect(text(groupDecrypt(staying, fresh).plaintext)).toBe("after");
    expect(text(groupDecrypt(staying, late).plaintext)).toBe("late");
    // `theirs` stands for the member who left: it never got the new distribution.
    expect(() => groupDecrypt(theirs, fresh)).toThrow(expect.objectContaining({ code: "no_session" }));
  });
});
