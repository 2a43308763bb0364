import { describe, expect, it } from "vitest";
import { randomBytes, utf8 } from "./bytes";
import { GROUP_GENESIS_PREVIOUS, type GroupHead, openGroupChange, signGroupChange } from "./groupChanges";
import { generateIdentityKeyPair } from "./keys";

const author = generateIdentityKeyPair();
const groupId = randomBytes(32);

function link(head: GroupHead | undefined, body: string, key = author, version = head ? head.version + 1 : 1, id = groupId) {
  return signGroupChange(key, { groupId: id, version, previous: head ? head.hash : GROUP_GENESIS_PREVIOUS, author: "instagram:ana", at: 5, body: utf8(body) });
}

describe("group change chain", () => {
  it("opens each next link under its author's key", () => {
    const first = openGroupChange(author.publicKey, groupId, undefined, link(undefined, "create"));
    expect(first.head.version).toBe(1);
    const second = openGroupChange(author.publicKey, groupId, first.head, link(first.head, "rename"));
    expect(second.head.version).toBe(2);
    expect(new TextDecoder().decode(second.change.body)).toBe("rename");
  });

  it("refuses a link not signed by the key given, and any altered byte", () => {
    const signed = link(undefined, "create");
    expect(() => openGroupChange(generateIdentityKeyPair().publicKey, groupId, undefined, signed)).toThrow(/not signed/);
    for (const at of [3, 40, signed.length - 10]) {
      const bad = signed.slice();
      bad[at] ^= 1;
      expect(() => openGroupChange(author.publicKey, groupId, undefined, bad)).toThrow();
    }
  });

  it("refuses replays, rollbacks, forks, gaps and other groups' links", () => {
    const v1 = openGroupChange(author.publicKey, groupId, undefined, link(undefined, "create")).head;
    const toV2 = link(v1, "two");
    const v2 = openGroupChange(author.publicKey, groupId, v1, toV2).head;
    expect(() => openGroupChange(author.publicKey, groupId, v2, toV2)).toThrow(/already applied/);
    expect(() => openGroupChange(author.publicKey, groupId, v2, link(v1, "fork"))).toThrow(/second group change/);
    const v3 = openGroupChange(author.publicKey, groupId, v2, link(v2, "three")).head;
    expect(() => openGroupChange(author.publicKey, groupId, v3, toV2)).toThrow(/older/);
    // the right version on a head I never saw, or a version that skips one
    expect(() => openGroupChange(author.publicKey, groupId, v3, link({ version: 3, hash: randomBytes(32) }, "elsewhere"))).toThrow(/does not follow/);
    expect(() => openGroupChange(author.publicKey, groupId, v3, link(v3, "skip", author, 5))).toThrow(/does not follow/);
    expect(() => openGroupChange(author.publicKey, groupId, v3, link(v3, "other", author, 4, randomBytes(32)))).toThrow(/another group/);
    // a group I do not know starts only with its creation (version 1 on nothing)
    expect(() => openGroupChange(author.publicKey, groupId, undefined, toV2)).toThrow(/starts with its creation/);
  });
});
