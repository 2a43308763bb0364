// Two (or more) real engines, each with its own IndexedDB (fake-indexeddb), talking through the real
// relay process with the real lib/crypto. What is asserted is what a person would see in the inbox.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { useRelayProcess } from "../relay/test/relayProcess";
import type { RelaySocket } from "./relay";
import { account, handles, makeBoot, messagesOf, waitFor } from "./testClients";
import { MAX_DELIVERIES_IN_FLIGHT, MAX_ENVELOPES_PER_DELIVERY } from "../protocol/limits";

const boot = makeBoot(useRelayProcess());

describe("engine against the real relay", () => {
  it("exchanges messages both ways across brands, and a receipt marks mine delivered", async () => {
    const h = handles();
    const alice = boot();
    const bob = boot();
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");

    const { conversationId } = await alice.api.startChat({ from: aliceAddr as never, to: bobAddr });
    const { messageId } = await alice.api.sendMessage({ conversationId, text: "hi Bob, from Messenger" });

    const bobConvId = `${bobAddr}|${aliceAddr}`;
    const bobConv = await waitFor(() => bob.db.conversations.get(bobConvId), "bob's conversation");
    expect(bobConv.theirBrand).toBe("messenger");
    expect(bobConv.ourBrand).toBe("whatsapp");
    const got = await waitFor(async () => (await messagesOf(bob.db, bobConvId)).length === 1 && messagesOf(bob.db, bobConvId), "bob's message");
    expect(got.map((m) => [m.id, m.direction, m.text])).toEqual([[messageId, "in", "hi Bob, from Messenger"]]);
    expect((await bob.db.contacts.get(aliceAddr as never))?.displayName).toBe("Alice");
    expect((await bob.db.conversations.get(bobConvId))?.unread).toBe(1);

    // Bob's device decrypted it: the encrypted receipt comes back and Alice's bubble says delivered
    await waitFor(async () => (await alice.db.messages.get(messageId))?.state === "delivered", "delivered state");
    expect((await alice.db.conversations.get(conversationId))?.lastState).toBe("delivered");

    await bob.api.sendMessage({ conversationId: bobConvId, text: "hello Alice, from WhatsApp" });
    await waitFor(async () => (await messagesOf(alice.db, conversationId)).length === 2, "alice gets the reply");
    const aliceView = await messagesOf(alice.db, conversationId);
    expect(aliceView.map((m) => [m.direction, m.text])).toEqual([
      ["out", "hi Bob, from Messenger"],
      ["in", "hello Alice, from WhatsApp"],
    ]);
    const bobView = await waitFor(async () => {
      const list = await messagesOf(bob.db, bobConvId);
      return list.length === 2 && list;
    }, "bob's view");
    expect(bobView.map((m) => m.text)).toEqual(aliceView.map((m) => m.text));

    // safety numbers agree on both sides, and the relay's data holds none of the texts
    const sa = await alice.api.safetyNumber({ conversationId });
    const sb = await bob.api.safetyNumber({ conversationId: bobConvId });
    expect(sa.digits).toMatch(/^\d{60}$/);
    expect(sa.digits).toBe(sb.digits);
    await alice.engine.stop();
    await bob.engine.stop();
  });

  it("keeps sessions across a restart: new messages need no new session", async () => {
    const h = handles();
    let alice = boot();
    let bob = boot();
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
    const { conversationId } = await alice.api.startChat({ from: aliceAddr as never, to: bobAddr });
    const bobConvId = `${bobAddr}|${aliceAddr}`;
    await alice.api.sendMessage({ conversationId, text: "before restart" });
    await waitFor(async () => (await messagesOf(bob.db, bobConvId)).length === 1, "first message");
    await bob.api.sendMessage({ conversationId: bobConvId, text: "reply before restart" });
    await waitFor(async () => (await messagesOf(alice.db, conversationId)).length === 2, "reply");
    await alice.engine.idle();
    await bob.engine.idle();
    const bobPrekeysBefore = await bob.db.prekeys.count();
    const aliceSessions = (await alice.db.sessions.toArray()).map((s) => s.key);

    await alice.engine.stop();
    await bob.engine.stop();
    alice = boot(alice.db);
    bob = boot(bob.db);

    await alice.api.sendMessage({ conversationId, text: "after restart" });
    await waitFor(async () => (await messagesOf(bob.db, bobConvId)).length === 3, "message after restart");
    await bob.api.sendMessage({ conversationId: bobConvId, text: "reply after restart" });
    await waitFor(async () => (await messagesOf(alice.db, conversationId)).length === 4, "reply after restart");
    expect((await messagesOf(alice.db, conversationId)).map((m) => m.text)).toEqual([
      "before restart",
      "reply before restart",
      "after restart",
      "reply after restart",
    ]);
    // same sessions, and no one-time prekey of Bob's was consumed by a new session setup
    expect((await alice.db.sessions.toArray()).map((s) => s.key)).toEqual(aliceSessions);
    expect(await bob.db.prekeys.count()).toBe(bobPrekeysBefore);
    await alice.engine.stop();
    await bob.engine.stop();
  });

  it("queues messages written offline, keeps them across a restart, and drains them in order exactly once", async () => {
    const h = handles();
    let alice = boot();
    const bob = boot();
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
    const { conversationId } = await alice.api.startChat({ from: aliceAddr as never, to: bobAddr });

    alice.engine.setNetworkAvailable(false);
    await waitFor(async () => !alice.online, "offline");
    const texts = ["one", "two", "three"];
    for (const text of texts) await alice.api.sendMessage({ conversationId, text });
    const queued = await messagesOf(alice.db, conversationId);
    expect(queued.map((m) => m.state)).toEqual(["queued", "queued", "queued"]);
    expect(await alice.db.outbox.count()).toBe(3);

    // "reload" while still offline: a new engine on the same database, network still down
    await alice.engine.stop();
    alice = boot(alice.db);
    alice.engine.setNetworkAvailable(false);
    expect((await messagesOf(alice.db, conversationId)).map((m) => m.state)).toEqual(["queued", "queued", "queued"]);

    alice.engine.setNetworkAvailable(true);
    const bobConvId = `${bobAddr}|${aliceAddr}`;
    await waitFor(async () => (await messagesOf(bob.db, bobConvId)).length >= 3, "three messages at bob");
    await waitFor(async () => (await alice.db.outbox.count()) === 0, "outbox drained");
    await bob.engine.idle();
    const atBob = await messagesOf(bob.db, bobConvId);
    expect(atBob.map((m) => m.text)).toEqual(texts);
    expect(atBob.map((m) => m.id)).toEqual(queued.map((m) => m.id));
    expect((await bob.db.conversations.get(bobConvId))?.unread).toBe(3);
    await waitFor(async () => (await messagesOf(alice.db, conversationId)).every((m) => m.state === "delivered"), "all delivered");
    await alice.engine.stop();
    await bob.engine.stop();
  });

  it("shows a message once when the device stops between storing it and acking it", async () => {
    const h = handles();
    const alice = boot();
    let dropAcks = true;
    const dropAckPatch = (socket: RelaySocket) => {
      const emit = socket.emit.bind(socket) as (...args: unknown[]) => RelaySocket;
      (socket as unknown as { emit: (...args: unknown[]) => RelaySocket }).emit = (...args: unknown[]) => {
        // the "crash": the connection dies instead of the ack leaving
        if (dropAcks && args[0] === "mailbox:ack") {
          socket.disconnect();
          throw new Error("connection lost");
        }
        return emit(...args);
      };
    };
    let bob = boot(undefined, dropAckPatch);
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
    const { conversationId } = await alice.api.startChat({ from: aliceAddr as never, to: bobAddr });
    const { messageId } = await alice.api.sendMessage({ conversationId, text: "exactly once" });
    const bobConvId = `${bobAddr}|${aliceAddr}`;
    await waitFor(() => bob.db.messages.get(messageId), "stored at bob");
    await waitFor(async () => !bob.online, "bob's connection dropped before the ack");
    expect(await bob.db.pendingAcks.count()).toBe(1);
    await bob.engine.stop();
    // a row as earlier builds wrote it (one per envelope) is owed too, beside the batch's row
    const [owed] = await bob.db.pendingAcks.toArray();
    const [ref] = owed.envelopes ?? [];
    await bob.db.pendingAcks.put({ key: `${ref.to}|${ref.id}`, to: ref.to, id: ref.id });

    dropAcks = false;
    bob = boot(bob.db);
    await waitFor(async () => (await bob.db.pendingAcks.count()) === 0, "owed ack sent");
    // the relay pushed the unacked envelope again on login: it decrypts as a replay and is dropped
    await waitFor(async () => bob.engine.counters.get("duplicate") === 1, "redelivery dropped as duplicate");
    await alice.api.sendMessage({ conversationId, text: "after the crash" });
    await waitFor(async () => (await messagesOf(bob.db, bobConvId)).length === 2, "second message");
    await bob.engine.idle();
    const list = await messagesOf(bob.db, bobConvId);
    expect(list.map((m) => m.text)).toEqual(["exactly once", "after the crash"]);
    expect((await bob.db.conversations.get(bobConvId))?.unread).toBe(2);
    // nothing is left in Bob's mailbox: a fresh start receives nothing again
    await bob.engine.stop();
    bob = boot(bob.db);
    await waitFor(async () => bob.online, "bob back");
    await bob.engine.idle();
    expect((await messagesOf(bob.db, bobConvId)).length).toBe(2);
    await alice.engine.stop();
    await bob.engine.stop();
  });

  it("a forged envelope shows a placeholder that the sender's resend replaces, and later messages still decrypt", async () => {
    const h = handles();
    let tamperNext = false;
    const alice = boot(undefined, (socket) => {
      const emit = socket.emit.bind(socket) as (...args: unknown[]) => RelaySocket;
      (socket as unknown as { emit: (...args: unknown[]) => RelaySocket }).emit = (...args: unknown[]) => {
        if (tamperNext && args[0] === "mailbox:send") {
          tamperNext = false;
          const req = args[1] as { envelopes: { body: string }[] };
          // flip one character of every body: the relay stores what looks like a real message
          for (const env of req.envelopes) env.body = env.body.slice(0, -4) + (env.body.slice(-4, -3) === "A" ? "B" : "A") + env.body.slice(-3);
        }
        return emit(...args);
      };
    });
    const bob = boot();
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
    const { conversationId } = await alice.api.startChat({ from: aliceAddr as never, to: bobAddr });
    const bobConvId = `${bobAddr}|${aliceAddr}`;
    await alice.api.sendMessage({ conversationId, text: "genuine" });
    await waitFor(async () => (await messagesOf(bob.db, bobConvId)).length === 1, "genuine message");
    await bob.engine.idle();

    tamperNext = true;
    await alice.api.sendMessage({ conversationId, text: "tampered" });
    await waitFor(async () => bob.engine.counters.get("undecryptable") === 1, "forgery counted");
    // Bob asked Alice's device for it again; she started a fresh session and resent it: the placeholder is
    // replaced by the message, in place
    await waitFor(async () => bob.engine.counters.get("recovered") === 1, "recovered");
    expect(alice.engine.counters.get("retry_request_received")).toBe(1);
    expect(alice.engine.counters.get("session_reset")).toBe(1);
    await bob.engine.idle();
    expect((await messagesOf(bob.db, bobConvId)).map((m) => [m.kind ?? "text", m.text])).toEqual([["text", "genuine"], ["text", "tampered"]]);
    expect(await bob.db.waiting.count()).toBe(0);
    expect(await bob.db.pendingAcks.count()).toBe(0);
    // the resend did not change what Alice sees: her message is delivered once
    await waitFor(async () => (await messagesOf(alice.db, conversationId)).every((m) => m.state === "delivered"), "delivered");

    await alice.api.sendMessage({ conversationId, text: "genuine again" });
    await waitFor(async () => (await messagesOf(bob.db, bobConvId)).length === 3, "next message");
    expect((await messagesOf(bob.db, bobConvId)).map((m) => m.text)).toEqual(["genuine", "tampered", "genuine again"]);
    await alice.engine.stop();
    await bob.engine.stop();
  });

  it("flags a changed identity key: verified is cleared and the change is stamped", async () => {
    const h = handles();
    const alice = boot();
    const bob = boot();
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
    const { conversationId } = await alice.api.startChat({ from: aliceAddr as never, to: bobAddr });
    await alice.api.markVerified({ conversationId, verified: true });
    const idKey = `${aliceAddr}|${bobAddr}`;
    const before = await alice.db.identities.get(idKey);
    expect(before?.verified).toBe(true);
    expect(before?.changedAt).toBeNull();

    // what Alice had stored differs from the key Bob's messages now carry, as after a reinstall
    const other = crypto.getRandomValues(new Uint8Array(before!.identityKey.length));
    await alice.db.identities.put({ ...before!, identityKey: other });
    await bob.api.sendMessage({ conversationId: (await bob.api.startChat({ from: bobAddr as never, to: aliceAddr })).conversationId, text: "new phone, who dis" });
    await waitFor(async () => (await alice.db.identities.get(idKey))?.changedAt != null, "identity change noticed");
    const after = await alice.db.identities.get(idKey);
    expect(after?.verified).toBe(false);
    expect(after?.identityKey).toEqual(before!.identityKey);
    expect((await alice.api.safetyNumber({ conversationId })).verified).toBe(false);
    await alice.engine.stop();
    await bob.engine.stop();
  });

  it("delivers a backlog larger than the relay's unacked window once and in order, continuing as acks free room", async () => {
    const h = handles();
    const alice = boot();
    let bob = boot();
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
    await bob.engine.stop();
    const { conversationId } = await alice.api.startChat({ from: aliceAddr as never, to: bobAddr });
    // more than the relay pushes before the first ack: the rest only comes once the engine acks what it stored
    const texts = Array.from({ length: MAX_ENVELOPES_PER_DELIVERY * MAX_DELIVERIES_IN_FLIGHT + 50 }, (_, i) => `backlog ${i}`);
    for (const text of texts) await alice.api.sendMessage({ conversationId, text });
    await waitFor(async () => (await alice.db.outbox.count()) === 0, "all sent", 120_000);

    const started = Date.now();
    bob = boot(bob.db);
    const bobConvId = `${bobAddr}|${aliceAddr}`;
    await waitFor(async () => (await bob.db.messages.where("conversationId").equals(bobConvId).count()) === texts.length, "backlog stored", 60_000);
    console.log(`backlog of ${texts.length} decrypted and stored in ${Date.now() - started} ms (Node, fake-indexeddb)`);
    await bob.engine.idle();
    expect((await messagesOf(bob.db, bobConvId)).map((m) => m.text)).toEqual(texts);
    expect((await bob.db.conversations.get(bobConvId))?.unread).toBe(texts.length);
    expect((await bob.db.conversations.get(bobConvId))?.lastPreview).toBe(texts.at(-1));
    await waitFor(async () => (await messagesOf(alice.db, conversationId)).every((m) => m.state === "delivered"), "all delivered", 60_000);
    await alice.engine.stop();
    await bob.engine.stop();
  }, 240_000);

  it("refuses bad handles, taken handles and unknown addresses with clear codes", async () => {
    const h = handles();
    const alice = boot();
    const other = boot();
    await expect(alice.api.createAccount({ brand: "whatsapp", handle: "5551234", displayName: "A" })).rejects.toMatchObject({ code: "bad_handle" });
    const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
    await waitFor(async () => other.online, "other online");
    await expect(other.api.createAccount({ brand: "messenger", handle: h.alice, displayName: "Imposter" })).rejects.toMatchObject({ code: "handle_taken" });
    expect(await other.db.accounts.count()).toBe(0);
    await expect(alice.api.startChat({ from: aliceAddr as never, to: "instagram:@nobody.here.at.all" })).rejects.toMatchObject({ code: "not_found" });
    await expect(alice.api.startChat({ from: aliceAddr as never, to: "whatsapp:12" })).rejects.toMatchObject({ code: "bad_handle" });
    expect(await alice.api.lookup({ address: "instagram:@nobody.here.at.all" })).toEqual({ address: "instagram:@nobody.here.at.all", exists: false });
    expect(await alice.api.lookup({ address: aliceAddr })).toEqual({ address: aliceAddr, exists: true });
    // a second brand gets its own relay device (id and auth key): nothing the relay serves links the two
    const second = await account(alice, "instagram", h.carol, "Alice on Instagram");
    expect(await alice.api.lookup({ address: second })).toMatchObject({ exists: true });
    const devices = await alice.db.device.toArray();
    expect(devices.map((d) => d.id).sort()).toEqual([aliceAddr, second].sort());
    expect(new Set(devices.map((d) => d.deviceId)).size).toBe(2);
    expect(Buffer.from(devices[0]!.authPublicKey).equals(Buffer.from(devices[1]!.authPublicKey))).toBe(false);
    // and both are served on the one connection: a message to each arrives
    const otherAddr = await account(other, "whatsapp", `+1555${Date.now() % 10_000_000}`, "Other");
    for (const to of [aliceAddr, second]) {
      const { conversationId } = await other.api.startChat({ from: otherAddr as never, to });
      await other.api.sendMessage({ conversationId, text: `hello ${to}` });
    }
    await waitFor(async () => (await alice.db.messages.count()) === 2, "both accounts' messages");
    await alice.engine.stop();
    await other.engine.stop();
  });
});
