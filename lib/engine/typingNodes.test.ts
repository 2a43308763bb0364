// Typing across relay nodes: Alice's engine on node A, Bob's on node B (one Postgres, one Redis). The
// signal crosses through the Redis adapter, node B's answer tells Alice it reached Bob, and nothing of it is
// stored anywhere.
import "fake-indexeddb/auto";
import { expect, it } from "vitest";
import type { RelayProcess } from "../relay/test/relayProcess";
import { aliceAndBob, makeBoot, messagesOf, waitFor } from "./testClients";
import { relayNodes } from "../relay/test/nodes";

const set = await relayNodes("typing");
const { maybe } = set;
if (set.unavailable) console.warn(`cross-node typing test skipped: no Postgres: ${set.unavailable}`);

maybe("typing across relay nodes", () => {
  it("reaches a device on the other node, which answers that it was reached", async () => {
    const [a, b] = set.nodes as [RelayProcess, RelayProcess];
    const { alice, bob, aConv: conversationId, bConv } = await aliceAndBob(makeBoot(() => a.url), makeBoot(() => b.url));
    await alice.api.sendMessage({ conversationId, text: "hi" });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 1, "hi on node B");
    await bob.api.sendMessage({ conversationId: bConv, text: "hello" });
    await waitFor(async () => (await messagesOf(alice.db, conversationId)).length === 2, "hello on node A");
    await alice.engine.idle();

    expect(await alice.engine.setTyping(conversationId, true)).toBe("sent");
    await waitFor(async () => ((await bob.db.conversations.get(bConv))?.typingUntil ?? 0) > Date.now(), "typing on node B");
    expect(alice.engine.counters.get("typing_lost")).toBe(0);
    await alice.engine.stop();
    await bob.engine.stop();
  }, 60_000);
});
