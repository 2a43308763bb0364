// Typing between real engines through the real relay: shown and cleared, stored nowhere, never a
// conversation of its own, and hours of typing to a peer who is offline leave the session working.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import { TYPING_INTERVAL_MS, TYPING_LOST_BUDGET } from "./typing";
import { aliceAndBob, makeBoot, messagesOf, waitFor, type Client } from "./testClients";

const boot = makeBoot(useRelayProcess());

async function talking() {
  const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await aliceAndBob(boot);
  // a session both ways: typing goes only over an answered session
  await alice.api.sendMessage({ conversationId: aConv, text: "hi" });
  await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 1, "hi");
  await bob.api.sendMessage({ conversationId: bConv, text: "hello" });
  await waitFor(async () => (await messagesOf(alice.db, aConv)).length === 2, "hello");
  await alice.engine.idle();
  await bob.engine.idle();
  return { alice, bob, aliceAddr, bobAddr, aConv, bConv };
}

const typingUntil = async (c: Client, conv: string) => (await c.db.conversations.get(conv))?.typingUntil;

describe("typing", () => {
  it("shows on the peer's side, is throttled, clears on 'stopped' and on a message, and is stored nowhere", async () => {
    const { alice, bob, aConv, bConv } = await talking();
    const outboxBefore = await alice.db.outbox.count();
    const bobMessages = (await messagesOf(bob.db, bConv)).length;
    const t0 = Date.now();
    expect(await alice.engine.setTyping(aConv, true, t0)).toBe("sent");
    expect(await alice.engine.setTyping(aConv, true, t0 + TYPING_INTERVAL_MS - 1)).toBe("throttled");
    await waitFor(async () => ((await typingUntil(bob, bConv)) ?? 0) > Date.now(), "typing shown");
    expect(await alice.db.outbox.count()).toBe(outboxBefore);
    expect((await messagesOf(bob.db, bConv)).length).toBe(bobMessages);

    await alice.api.setTyping({ conversationId: aConv, typing: false });
    await waitFor(async () => (await typingUntil(bob, bConv)) === undefined, "typing cleared");
    // a second "stopped" sends nothing
    expect(await alice.engine.setTyping(aConv, false)).toBe("throttled");

    expect(await alice.engine.setTyping(aConv, true, t0 + 2 * TYPING_INTERVAL_MS)).toBe("sent");
    await waitFor(async () => ((await typingUntil(bob, bConv)) ?? 0) > 0, "typing again");
    await alice.api.sendMessage({ conversationId: aConv, text: "done typing" });
    await waitFor(async () => (await typingUntil(bob, bConv)) === undefined, "cleared by the message");
    expect(bob.engine.counters.get("typing_received")).toBe(3);
    await alice.engine.stop();
    await bob.engine.stop();
  });

  it("never creates a conversation", async () => {
    const { alice, bob, aConv, bConv } = await talking();
    await bob.db.conversations.delete(bConv);
    expect(await alice.engine.setTyping(aConv, true)).toBe("sent");
    await new Promise((r) => setTimeout(r, 300));
    await bob.engine.idle();
    expect(await bob.db.conversations.get(bConv)).toBeUndefined();
    await alice.engine.stop();
    await bob.engine.stop();
  });

  it("ten hours of typing to an offline peer leave the next message decryptable", async () => {
    const { alice, bob, aConv, bConv } = await talking();
    const bobDb = bob.db;
    await bob.engine.stop();
    // one keystroke signal every 3 s for ten hours, on Alice's clock: the relay reaches no one
    const t0 = Date.now();
    for (let t = 0; t < 10 * 60 * 60_000; t += TYPING_INTERVAL_MS) await alice.engine.setTyping(aConv, true, t0 + t);
    expect(alice.engine.counters.get("typing_lost")).toBeLessThanOrEqual(TYPING_LOST_BUDGET);
    expect(alice.engine.counters.get("typing_suppressed")).toBeGreaterThan(0);
    expect(await alice.db.outbox.count()).toBe(0);
    const { messageId } = await alice.api.sendMessage({ conversationId: aConv, text: "still there?" });
    const bobAgain = boot(bobDb);
    await waitFor(() => bobAgain.db.messages.get(messageId), "the message opens");
    expect(bobAgain.engine.counters.get("undecryptable")).toBe(0);
    expect((await messagesOf(bobAgain.db, bConv)).map((m) => m.kind ?? "text")).toEqual(["text", "text", "text"]);
    await alice.engine.stop();
    await bobAgain.engine.stop();
  }, 120_000);
});
