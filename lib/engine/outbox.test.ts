// Sending never blocks: every conversation is its own queue, transient failures back off and give up after
// a bounded number of attempts, a permanent refusal shows "Not sent" at once, and Retry sends it again.
// The relay is real; its answers are altered on Alice's side of the socket, as a hostile or failing relay
// would answer.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import type { RelaySocket } from "./relay";
import { MAX_SEND_ATTEMPTS } from "./send";
import { aliceBobCarol, makeBoot, messagesOf, waitFor } from "./testClients";

const boot = makeBoot(useRelayProcess());

type Ack = (err: unknown, res?: unknown) => void;

/** Alice's socket, with the relay's answers to some requests replaced or altered. */
function relayAnswers(alter: (event: string, payload: unknown) => { refuse?: string; edit?: (res: unknown) => unknown } | undefined) {
  return (socket: RelaySocket) => {
    const emit = socket.emit.bind(socket) as (...args: unknown[]) => RelaySocket;
    (socket as unknown as { emit: (...args: unknown[]) => RelaySocket }).emit = (...args: unknown[]) => {
      const rule = typeof args[0] === "string" ? alter(args[0], args[1]) : undefined;
      const ack = args[args.length - 1];
      if (rule && typeof ack === "function") {
        if (rule.refuse) {
          (ack as Ack)(null, { ok: false, error: { code: rule.refuse, message: "refused in the test" } });
          return socket;
        }
        if (rule.edit) args[args.length - 1] = (err: unknown, res: unknown) => (ack as Ack)(err, err ? res : rule.edit!(res));
      }
      return emit(...args);
    };
  };
}

describe("outbox", () => {
  it("a bundle stripped of its post-quantum prekey: Not sent at once with a reason, other chats go on, Retry sends", async () => {
    let strip = true;
    const alicePatch = relayAnswers((event, payload) => {
      if (strip && event === "directory:bundles" && (payload as { address: string }).address.startsWith("whatsapp:")) {
        return { edit: (res) => ({ ...(res as object), bundles: (res as { bundles: object[] }).bundles.map((b) => ({ ...b, kemPrekey: undefined, kemOneTimePrekey: undefined })) }) };
      }
      return undefined;
    });
    const { alice, bob, carol, aliceAddr, bobAddr, carolAddr, toBob, toCarol } = await aliceBobCarol(boot, alicePatch);
    const { messageId } = await alice.api.sendMessage({ conversationId: toBob, text: "to Bob" });
    await alice.api.sendMessage({ conversationId: toCarol, text: "to Carol" });
    const failed = await waitFor(async () => {
      const m = await alice.db.messages.get(messageId);
      return m?.state === "failed" && m;
    }, "not sent");
    expect(failed.error).toMatch(/post-quantum/);
    await waitFor(async () => (await messagesOf(carol.db, `${carolAddr}|${aliceAddr}`)).length === 1, "carol's message");
    expect(await bob.db.messages.count()).toBe(0);
    expect(await alice.db.sessions.where("[ourAddress+theirAddress]").equals([aliceAddr, bobAddr]).count()).toBe(0);

    strip = false;
    await alice.api.retryMessage({ conversationId: toBob, messageId });
    await waitFor(async () => (await messagesOf(bob.db, `${bobAddr}|${aliceAddr}`)).length === 1, "bob gets it after Retry");
    await waitFor(async () => (await alice.db.messages.get(messageId))?.state === "delivered", "delivered");
    expect((await alice.db.messages.get(messageId))?.error).toBeUndefined();
    for (const c of [alice, bob, carol]) await c.engine.stop();
  });

  it("a conversation whose sends keep failing backs off and gives up, without holding another conversation", async () => {
    let refusals = 0;
    const alicePatch = relayAnswers((event, payload) => {
      const p = payload as { envelopes?: { to: string }[] };
      if (event === "mailbox:send" && p.envelopes?.some((e) => e.to.startsWith("whatsapp:"))) {
        refusals += 1;
        return { refuse: "unavailable" };
      }
      return undefined;
    });
    const { alice, bob, carol, aliceAddr, carolAddr, toBob, toCarol } = await aliceBobCarol(boot, alicePatch);
    // Bob's first, so his failing row is at the head of the outbox
    const first = await alice.api.sendMessage({ conversationId: toBob, text: "bob 1" });
    const second = await alice.api.sendMessage({ conversationId: toBob, text: "bob 2" });
    await alice.api.sendMessage({ conversationId: toCarol, text: "carol 1" });
    await waitFor(async () => refusals >= 1, "a refusal");
    await alice.api.sendMessage({ conversationId: toCarol, text: "carol 2" });
    await waitFor(async () => (await messagesOf(carol.db, `${carolAddr}|${aliceAddr}`)).length === 2, "carol's messages, while bob's wait");
    const head = (await alice.db.outbox.where("conversationId").equals(toBob).first())!;
    expect(head.messageId).toBe(first.messageId);
    expect(head.notBefore).toBeGreaterThan(Date.now());
    // the backoff is the engine's; the test skips the waiting by moving each wait into the past
    for (let i = 0; i < 20 * MAX_SEND_ATTEMPTS; i++) {
      if ((await alice.db.messages.get(second.messageId))?.state === "failed") break;
      await alice.db.outbox.where("conversationId").equals(toBob).modify({ notBefore: 0 });
      alice.engine.poke();
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(async () => (await alice.db.messages.get(first.messageId))?.state === "failed", "bob 1 not sent");
    await waitFor(async () => (await alice.db.messages.get(second.messageId))?.state === "failed", "bob 2 not sent");
    expect(refusals).toBe(2 * MAX_SEND_ATTEMPTS);
    expect(await alice.db.outbox.where("conversationId").equals(toBob).count()).toBe(0);
    expect(alice.engine.counters.get("send_gave_up")).toBe(2);
    for (const c of [alice, bob, carol]) await c.engine.stop();
  });
});
