// Typing across relay nodes: Alice's engine on node A, Bob's on node B (one Postgres, one Redis). The
// signal crosses through the Redis adapter, node B's answer tells Alice it reached Bob, and nothing of it is
// stored anywhere.
import "fake-indexeddb/auto";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RelayProcess, startRelay } from "../relay/test/relayProcess";
import { dropSchemas, postgresUnavailable, TEST_DATABASE_URL, TEST_REDIS_URL } from "../relay/test/services";
import { account, handles, makeBoot, messagesOf, waitFor } from "./testClients";

const schema = `junction_typing_${randomBytes(5).toString("hex")}`;
let nodes: RelayProcess[] = [];

const unavailable = await postgresUnavailable();
const available = unavailable === null;
const maybe = available ? describe : describe.skip;
if (!available) console.warn(`cross-node typing test skipped: no Postgres at ${TEST_DATABASE_URL}: ${unavailable}`);

const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: `${schema}:` };

beforeAll(async () => {
  if (!available) return;
  nodes = await Promise.all([startRelay({ env }), startRelay({ env })]);
});

afterAll(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
  if (available) await dropSchemas([schema]);
});

maybe("typing across relay nodes", () => {
  it("reaches a device on the other node, which answers that it was reached", async () => {
    const [a, b] = nodes as [RelayProcess, RelayProcess];
    const alice = makeBoot(() => a.url)();
    const bob = makeBoot(() => b.url)();
    const h = handles();
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
    const { conversationId } = await alice.api.startChat({ from: aliceAddr as never, to: bobAddr });
    const bConv = `${bobAddr}|${aliceAddr}`;
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
