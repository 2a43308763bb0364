// Search on the receiving side, through the real receive path: a peer's message is found once it is stored,
// their edit replaces its words and their delete for everyone removes them, in the commits that apply them.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import { aliceAndBob, makeBoot, waitFor } from "./testClients";
import { entriesOf } from "../store/search";

const boot = makeBoot(useRelayProcess());

describe("search across the receive path", () => {
  it("finds what a peer wrote, follows their edit and forgets their delete", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const hits = async (query: string) => (await bob.api.search({ query })).groups.flatMap((g) => g.hits.map((h) => h.messageId));

    const { messageId } = await alice.api.sendMessage({ conversationId: aConv, text: "Meet me by the amber fountain" });
    await waitFor(() => bob.db.messages.get(messageId), "bob has it");
    expect(await hits("amber")).toEqual([messageId]);
    const found = await bob.api.search({ query: "fount" });
    expect(found.groups.map((g) => g.conversationId)).toEqual([bConv]);
    expect(found.groups[0]?.title).toBe("Alice");

    await alice.api.editMessage({ conversationId: aConv, messageId, text: "Meet me by the silver fountain" });
    await waitFor(async () => (await bob.db.messages.get(messageId))?.editedAt !== undefined, "edit applied");
    expect(await hits("amber")).toEqual([]);
    expect(await hits("silver")).toEqual([messageId]);

    await alice.api.deleteMessage({ conversationId: aConv, messageId, forEveryone: true });
    await waitFor(async () => (await bob.db.messages.get(messageId))?.deletedAt !== undefined, "delete applied");
    expect(await hits("silver")).toEqual([]);
    expect((await bob.db.searchBlocks.toArray()).flatMap(entriesOf).filter((e) => e.id === messageId)).toEqual([]);
    // the sender's own copy went the same way
    expect(await alice.db.searchBlocks.count()).toBe(0);
    await Promise.all([alice.engine.stop(), bob.engine.stop()]);
  });
});
