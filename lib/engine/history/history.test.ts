// History transfer to a newly linked device, with real engines through the real relay process: the primary's
// archive round-trips (messages, reactions, receipt and unread states, nicknames, disappearing expiries) and
// holds no key material; a tampered archive is refused with nothing imported; a download cut off midway
// resumes with a range request; and the person may skip it (or the primary may not send it).
import "fake-indexeddb/auto";
import { describe, expect, it, onTestFinished } from "vitest";
import { startRelay, useRelayProcess } from "../../relay/test/relayProcess";
import { TEST_RELAY_LIMITS } from "../../relay/test/limits";
import { EVENTS, toB64, type Address } from "../deps";
import { request, type RelaySocket } from "../relay";
import type { EngineContext } from "../context";
import { JunctionDB, type MessageRow } from "../../store/db";
import { randomId } from "../../store/ids";
import { historyProgress, pendingHistory, setPendingHistory } from "../../store/history";
import { HISTORY_WAIT_MS } from "../linking";
import { aliceAndBob, aliceBobCarol, makeBoot, messagesOf, waitFor, type Client } from "../testClients";
import { buildArchive, importArchive, parseArchive, verifyGroups } from "./archive";
import { groupRowId } from "../groups/state";
import { downloadHistory, uploadHistory } from "./transfer";
import { TransferError } from "../attachments/transfer";
import { mediaBlob } from "../../store/media";
import { TAMPERED_TEXT } from "../attachments/runner";
import type { HistoryUpload } from "../../store/history";
import { randomBytes } from "node:crypto";

// one relay for the whole file: its links open more provisioning rooms from this address than a person would
const relayUrl = useRelayProcess({ RELAY_LIMITS: JSON.stringify({ ...TEST_RELAY_LIMITS, provisionPerIp: { burst: 1000, perSecond: 1 } }) });
const boot = makeBoot(relayUrl);

/** Links a fresh device to Alice's account (history sent unless `history` is false). */
async function link(alice: Client, aliceAddr: string, history = true, patch?: (socket: RelaySocket) => void, blobFetch?: (input: string, init?: RequestInit) => Promise<Response>, media = false): Promise<Client> {
  const laptop = boot(undefined, patch, blobFetch);
  await waitFor(async () => laptop.online || laptop.sockets.some((s) => s.connected), "laptop connected");
  const { code } = await laptop.api.startLink({ name: "Laptop" });
  const asked = await alice.api.linkDevice({ code });
  expect(await alice.api.confirmLink({ linkId: asked.linkId, confirm: true, history, media })).toEqual({ linked: true });
  await waitFor(async () => (await laptop.db.accounts.get(aliceAddr as Address)) !== undefined, "the laptop has Alice's account");
  return laptop;
}

/** A socket patch that lets the first `pass` provisioning messages through and holds the rest until `release()`. */
function holdProvisioning(pass: number) {
  let seen = 0;
  let released = false;
  const queue: (() => void)[] = [];
  const patch = (socket: RelaySocket) => {
    const on = socket.on.bind(socket) as (event: string, fn: (payload: unknown) => void) => RelaySocket;
    (socket as unknown as { on: typeof on }).on = (event, fn) => {
      if (event !== EVENTS.provisionDeliver) return on(event, fn);
      return on(event, (payload) => {
        if (released || ++seen <= pass) fn(payload);
        else queue.push(() => fn(payload));
      });
    };
  };
  return {
    patch,
    held: () => queue.length,
    release: () => {
      released = true;
      for (const deliver of queue.splice(0)) deliver();
    },
  };
}

/**
 * Every archive upload the primary records, in order, as it is written: the record goes once the archive is
 * deleted, which may come before a test looks.
 */
function recordUploads(db: JunctionDB): HistoryUpload[] {
  const uploaded: HistoryUpload[] = [];
  const record = (key: unknown, value: unknown) => {
    if (key !== "historyUploads") return;
    for (const u of (value ?? []) as HistoryUpload[]) if (!uploaded.some((seen) => seen.blobId === u.blobId)) uploaded.push(u);
  };
  db.meta.hook("creating", (key, row) => record(key, row.value));
  db.meta.hook("updating", (mods, key) => record(key, (mods as { value?: unknown }).value));
  return uploaded;
}

/** A message row as both devices must show it (receivedAt is when each device stored it). */
const shown = ({ receivedAt: _r, ...m }: MessageRow) => m;

/** Every byte string of at least 16 bytes in a row, found anywhere in it. */
function secretsIn(value: unknown, out: Uint8Array[] = []): Uint8Array[] {
  if (value instanceof Uint8Array) {
    if (value.length >= 16) out.push(value);
  } else if (Array.isArray(value)) for (const v of value) secretsIn(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) secretsIn(v, out);
  return out;
}

/** Alice's history seeded straight into her store: `n` messages of a conversation, for the transfer tests. */
async function seed(db: JunctionDB, conversationId: string, n: number, at = Date.now() - 86_400_000): Promise<void> {
  const rows: MessageRow[] = Array.from({ length: n }, (_, i) => ({
    id: `seed-${i}-${randomId()}`,
    conversationId,
    direction: i % 2 ? "out" : "in",
    text: `seeded message ${i} about the harbour lights`,
    sentAt: at + i,
    receivedAt: at + i,
    state: i % 2 ? "read" : "delivered",
    sentToRelayAt: null,
    deliveredAt: null,
  }));
  await db.messages.bulkPut(rows);
}

describe("history transfer", () => {
  it("brings Alice's conversation to her new device as it was, and the archive holds no key material", async () => {
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await aliceAndBob(boot);
    await bob.api.startChat({ from: bobAddr as never, to: aliceAddr });
    for (const text of ["one", "two", "three"]) await bob.api.sendMessage({ conversationId: bConv, text });
    await waitFor(async () => (await messagesOf(alice.db, aConv)).length === 3, "Alice gets Bob's messages");
    await alice.api.sendMessage({ conversationId: aConv, text: "my answer" });
    const [first] = await messagesOf(alice.db, aConv);
    await alice.api.react({ conversationId: aConv, messageId: first.id, emoji: "👍" });
    await alice.api.markRead({ conversationId: aConv, messageIds: [first.id] });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).find((m) => m.text === "my answer")?.state === "delivered" || undefined, "Alice's answer delivered");
    await alice.api.setNickname({ address: bobAddr, nickname: "Bobby" });
    await alice.api.markVerified({ conversationId: aConv, verified: true });
    // a disappearing message still due keeps its expiry; one already gone is not sent
    const now = Date.now();
    await alice.db.messages.bulkPut([
      // read: written past the conversation's unread count, which the sweep of the gone one would otherwise skew
      { id: `soon-${randomId()}`, conversationId: aConv, direction: "in", text: "goes in an hour", sentAt: now, receivedAt: now, state: "read", sentToRelayAt: null, deliveredAt: null, expiresAt: now + 3_600_000 },
      { id: `gone-${randomId()}`, conversationId: aConv, direction: "in", text: "already gone", sentAt: now, receivedAt: now, state: "read", sentToRelayAt: null, deliveredAt: null, expiresAt: now - 1 },
    ]);

    // no private key, session, prekey or attachment key of Alice's device is in what she would send
    const { bytes } = await buildArchive(alice.db, [aliceAddr as Address], Date.now());
    const text = new TextDecoder().decode(bytes);
    const secrets = [alice.db.identityKeys, alice.db.prekeys, alice.db.sessions, alice.db.archivedSessions, alice.db.senderKeys, alice.db.attachmentKeys];
    let checked = 0;
    for (const table of secrets) {
      for (const row of await table.toArray()) {
        for (const s of secretsIn(row)) {
          checked++;
          expect(text.includes(toB64(s))).toBe(false);
          expect(text.includes(Buffer.from(s).toString("base64"))).toBe(false);
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(Object.keys(JSON.parse(text)).sort()).toEqual(["addressBook", "contacts", "conversations", "createdAt", "groups", "identities", "messages", "people", "v"]);
    expect(text).not.toContain("already gone");

    const laptop = await link(alice, aliceAddr);
    const done = await waitFor(async () => ((await historyProgress(laptop.db))?.state === "done" ? historyProgress(laptop.db) : undefined), "the history is imported");
    expect(done?.messages).toBe(5);
    await waitFor(async () => (await historyProgress(alice.db))?.state === "done", "the primary says it was sent");

    const onPrimary = (await messagesOf(alice.db, aConv)).filter((m) => m.text !== "already gone");
    const onLaptop = await messagesOf(laptop.db, aConv);
    expect(onLaptop.map(shown)).toEqual(onPrimary.map(shown));
    expect(onLaptop.find((m) => m.id === first.id)?.reactions?.[0]).toMatchObject({ emoji: "👍", by: aliceAddr });
    expect(onLaptop.find((m) => m.text === "my answer")?.state).toBe("delivered");
    expect(onLaptop.find((m) => m.text === "goes in an hour")?.expiresAt).toBe(now + 3_600_000);
    const convPrimary = await alice.db.conversations.get(aConv);
    const convLaptop = await laptop.db.conversations.get(aConv);
    expect(convLaptop?.unread).toBe(convPrimary?.unread);
    expect(convLaptop?.unread).toBeGreaterThan(0);
    expect(convLaptop?.lastPreview).toBe(convPrimary?.lastPreview);
    expect((await laptop.db.addressBook.get(bobAddr as Address))?.nickname).toBe("Bobby");
    // Bob's key as I verified it on the primary is verified here too
    expect((await laptop.db.identities.get(`${aliceAddr}|${bobAddr}`))?.verified).toBe(true);
    // search works on what came with the history
    const hits = await laptop.api.search({ query: "three" });
    expect(hits.groups.flatMap((g) => g.hits.map((m) => m.messageId))).toContain(onPrimary.find((m) => m.text === "three")?.id);
    // the laptop's keys are its own: nothing of the primary's came with the history
    const primarySessions = (await alice.db.sessions.toArray()).map((r) => toB64(r.state));
    expect((await laptop.db.sessions.toArray()).some((r) => primarySessions.includes(toB64(r.state)))).toBe(false);
    for (const c of [alice, bob, laptop]) await c.engine.stop();
  });

  it("refuses a tampered archive with nothing imported, and resumes a download cut off midway", async () => {
    const { alice, aliceAddr, aConv, bob } = await aliceAndBob(boot);
    await seed(alice.db, aConv, 3000);
    const { offer } = await uploadHistory(alice.engine.context, { baseUrl: relayUrl() }, aliceAddr as Address, [aliceAddr as Address]);
    expect(offer.messages).toBe(3000);
    const fresh = () => ({ db: new JunctionDB(`history-${randomId()}`), now: () => Date.now() }) as unknown as EngineContext;

    // the relay flips one byte in the middle of the archive: refused, and nothing is stored
    const tampering = async (input: string, init?: RequestInit) => {
      const res = await fetch(input, init);
      const body = new Uint8Array(await res.arrayBuffer());
      body[Math.floor(body.length / 2)] ^= 1;
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const victim = fresh();
    await expect(downloadHistory(victim, { baseUrl: relayUrl(), fetch: tampering }, offer, [aliceAddr as Address])).rejects.toBeInstanceOf(TransferError);
    expect(await victim.db.messages.count()).toBe(0);
    expect(await victim.db.conversations.count()).toBe(0);

    // the first response is cut after 100 kB: the download goes on from there with a range request
    const ranges: string[] = [];
    let cut = false;
    const cutting = async (input: string, init?: RequestInit) => {
      const res = await fetch(input, init);
      const range = new Headers(init?.headers).get("range");
      if (range) ranges.push(range);
      if (cut || !res.body) return res;
      cut = true;
      const reader = res.body.getReader();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done || sent > 100_000) {
            controller.error(new Error("connection reset"));
            return;
          }
          sent += value.length;
          controller.enqueue(value);
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const resumed = fresh();
    const counts = await downloadHistory(resumed, { baseUrl: relayUrl(), fetch: cutting }, offer, [aliceAddr as Address]);
    expect(cut).toBe(true);
    expect(ranges).toHaveLength(1);
    expect(Number(/bytes=(\d+)-/.exec(ranges[0])?.[1])).toBeGreaterThan(100_000);
    expect(counts.messages).toBe(3000);
    expect(await resumed.db.messages.count()).toBe(3000);
    expect((await messagesOf(resumed.db, aConv)).map((m) => m.text)).toEqual((await messagesOf(alice.db, aConv)).map((m) => m.text));

    // only the device that uploaded the archive may delete it: Bob, who knows its id, gets not_found
    const blobUrl = `${relayUrl()}/blobs/${offer.blobId}`;
    const { bobAddr } = await (async () => ({ bobAddr: (await bob.db.accounts.toArray())[0].address }))();
    await expect(request(bob.engine.context.socket(), EVENTS.blobDelete, { from: bobAddr, id: offer.blobId })).rejects.toMatchObject({ code: "not_found" });
    expect((await fetch(blobUrl, { method: "HEAD" })).status).toBe(200);
    expect(await request(alice.engine.context.socket(), EVENTS.blobDelete, { from: aliceAddr as Address, id: offer.blobId })).toEqual({ deleted: true });
    expect((await fetch(blobUrl, { method: "HEAD" })).status).toBe(404);
    for (const c of [alice, bob]) await c.engine.stop();
  });

  it("sends none when the primary chooses so, and stops when the new device skips it", async () => {
    const { alice, bob, aliceAddr, aConv } = await aliceAndBob(boot);
    await seed(alice.db, aConv, 20);
    const without = await link(alice, aliceAddr, false);
    await waitFor(async () => (await historyProgress(without.db))?.state === "skipped", "the laptop hears none comes");
    expect(await without.db.messages.count()).toBe(0);
    expect(await alice.db.meta.get("history")).toBeUndefined();
    await without.engine.stop();

    const uploaded = recordUploads(alice.db);

    // the third message on the channel (after hello and welcome) is the primary's offer: held until skipped
    const offer = holdProvisioning(2);
    const skipping = await link(alice, aliceAddr, true, offer.patch);
    await waitFor(async () => (await historyProgress(skipping.db))?.state === "waiting", "the laptop waits for the history");
    await skipping.api.skipHistory({});
    await waitFor(async () => (await historyProgress(skipping.db))?.state === "skipped", "skipped");
    // the primary's archive arrives after all (as a sync to my devices and over the link channel): it is not
    // imported; the laptop tells the primary it will not fetch it, and the primary deletes it at the relay
    await waitFor(async () => (await historyProgress(alice.db))?.state === "done", "the primary sent it");
    await waitFor(async () => offer.held() > 0 || undefined, "the offer reached the laptop");
    offer.release();
    expect(uploaded).toHaveLength(1);
    const blobUrl = `${relayUrl()}/blobs/${uploaded[0]?.blobId}`;
    await waitFor(async () => (await fetch(blobUrl, { method: "HEAD" })).status === 404 || undefined, "the skipped archive is deleted");
    expect(await skipping.db.messages.count()).toBe(0);
    expect((await historyProgress(skipping.db))?.state).toBe("skipped");
    for (const c of [alice, bob, skipping]) await c.engine.stop();
  });
});

/** A blob fetch whose GETs stall once `after` bytes passed (at least their first piece) while `stalled()` says so (until aborted). */
function stallingFetch(stalled: () => boolean, after = 0) {
  return async (input: string, init?: RequestInit) => {
    const res = await fetch(input, init);
    if ((init?.method ?? "GET") !== "GET" || !res.body || !stalled()) return res;
    const reader = res.body.getReader();
    let first = true;
    let passed = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!first && passed >= after) {
          // the rest never comes: only the engine's abort ends it
          await new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true })).catch((error: unknown) => controller.error(error));
          return;
        }
        first = false;
        const { done, value } = await reader.read();
        if (done) controller.close();
        else {
          passed += value.length;
          controller.enqueue(value);
        }
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
}

describe("an archive the relay did not delete", () => {
  it("is deleted at a later look of the primary's own, with nothing else happening", async () => {
    const { alice, bob, aliceAddr, aConv } = await aliceAndBob(boot);
    await seed(alice.db, aConv, 5);
    const uploaded = recordUploads(alice.db);
    // the primary's first deletion gets no answer from the relay (as when it is unreachable for a moment)
    const socket = alice.sockets.at(-1) as RelaySocket;
    const emitWithAck = socket.emitWithAck.bind(socket) as (event: string, ...args: unknown[]) => Promise<unknown>;
    let refused = 0;
    (socket as unknown as { emitWithAck: typeof emitWithAck }).emitWithAck = (event, ...args) =>
      event === EVENTS.blobDelete && refused++ === 0 ? Promise.reject(new Error("no answer")) : emitWithAck(event, ...args);
    const laptop = await link(alice, aliceAddr);
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "done", "the laptop has the history");
    await waitFor(async () => refused > 0 || undefined, "the primary tried to delete the archive");
    expect(uploaded).toHaveLength(1);
    await waitFor(async () => (await fetch(`${relayUrl()}/blobs/${uploaded[0]?.blobId}`, { method: "HEAD" })).status === 404 || undefined, "the archive is deleted after all");
    expect(refused).toBe(2);
    for (const c of [alice, bob, laptop]) await c.engine.stop();
  });
});

describe("the history offer kept on the new device", () => {
  it("reaches a new device that was offline when it was sent, and a reload in the middle of the transfer goes on", async () => {
    const { alice, bob, aliceAddr, aConv } = await aliceAndBob(boot);
    // an archive of a few MiB: the download keeps whole pieces of 1 MiB to go on from
    await seed(alice.db, aConv, 8000);
    // the link channel loses the offer (the laptop is gone by then): only the mailbox keeps it
    const channel = holdProvisioning(2);
    const first = await link(alice, aliceAddr, true, channel.patch);
    expect((await pendingHistory(first.db))?.accounts).toEqual([aliceAddr]);
    await first.engine.stop();
    await waitFor(async () => (await historyProgress(alice.db))?.state === "done", "the primary sent it");

    // back online with a download that stalls: the offer came as a sync and is kept on disk
    let stall = true;
    const second = boot(first.db, undefined, stallingFetch(() => stall, 2_200_000));
    await waitFor(async () => ((await historyProgress(second.db))?.state === "downloading" ? true : undefined), "the laptop downloads");
    const kept = await pendingHistory(second.db);
    expect(kept?.offer).toMatchObject({ t: "history", messages: 8000 });
    // the page reloads in the middle of it, once two whole pieces are stored
    await waitFor(async () => (await second.db.mediaChunks.count()) >= 2 || undefined, "two pieces of the archive kept");
    await second.engine.stop();
    expect((await pendingHistory(second.db))?.offer).toEqual(kept?.offer);
    stall = false;
    // it goes on after the pieces kept, with a range request
    const ranges: string[] = [];
    const third = boot(first.db, undefined, async (input, init) => {
      const range = new Headers(init?.headers).get("range");
      if (range) ranges.push(range);
      return fetch(input, init);
    });
    const done = await waitFor(async () => ((await historyProgress(third.db))?.state === "done" ? historyProgress(third.db) : undefined), "the history is imported after the reload");
    expect(done?.messages).toBe(8000);
    expect(await third.db.messages.count()).toBe(8000);
    expect(Number(/bytes=(\d+)-/.exec(ranges[0] ?? "")?.[1])).toBeGreaterThan(2 * 1024 * 1024);
    // imported: the pieces are gone
    expect(await third.db.mediaChunks.count()).toBe(0);
    // imported: nothing more is expected, and the primary deletes the archive at the relay (only it may)
    expect(await pendingHistory(third.db)).toBeNull();
    const blobUrl = `${relayUrl()}/blobs/${(kept?.offer as { blobId: string }).blobId}`;
    await waitFor(async () => (await fetch(blobUrl, { method: "HEAD" })).status === 404 || undefined, "the archive is deleted");
    for (const c of [alice, bob, third]) await c.engine.stop();
  });

  it("a failed or expired transfer can be asked for again, and the primary sends it again", async () => {
    const { alice, bob, aliceAddr, aConv } = await aliceAndBob(boot);
    await seed(alice.db, aConv, 50);
    // the first download is refused by the blob store (as if the blob were gone)
    let refuse = true;
    const fetched = new Set<string>();
    const failing = async (input: string, init?: RequestInit) => {
      if ((init?.method ?? "GET") !== "GET") return fetch(input, init);
      fetched.add(new URL(input).pathname);
      return refuse ? new Response("gone", { status: 404 }) : fetch(input, init);
    };
    const laptop = await link(alice, aliceAddr, true, undefined, failing);
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "failed" || undefined, "the transfer failed");
    expect((await historyProgress(laptop.db))?.reason).toBe("failed");
    expect((await pendingHistory(laptop.db))?.failed).toBe(true);
    expect(await laptop.db.messages.count()).toBe(0);
    refuse = false;
    const firstBlob = (await pendingHistory(laptop.db))?.offer;
    await laptop.api.askHistory({});
    const done = await waitFor(async () => ((await historyProgress(laptop.db))?.state === "done" ? historyProgress(laptop.db) : undefined), "the history came the second time");
    expect(done?.messages).toBe(50);
    expect(await laptop.db.messages.count()).toBe(50);
    // a new archive: the primary built and uploaded it again (a late copy of the failed offer is not taken)
    expect(firstBlob).toMatchObject({ t: "history" });
    expect(fetched.size).toBe(2);
    // nothing to ask for once it came
    await expect(laptop.api.askHistory({})).rejects.toMatchObject({ code: "bad_request" });

    // a wait that ran out while the app was closed shows as expired at the next start, and may be asked again
    await laptop.engine.stop();
    await setPendingHistory(laptop.db, { accounts: [aliceAddr as Address], since: Date.now() - HISTORY_WAIT_MS - 1 });
    await laptop.db.meta.put({ key: "history", value: { direction: "in", state: "waiting", done: 0, total: 0 } });
    const again = boot(laptop.db);
    await waitFor(async () => (await historyProgress(again.db))?.state === "failed" || undefined, "the wait expired");
    expect((await historyProgress(again.db))?.reason).toBe("expired");
    await waitFor(async () => again.online || undefined, "online");
    await again.api.askHistory({});
    expect((await historyProgress(again.db))?.state).toBe("waiting");
    await waitFor(async () => (await historyProgress(again.db))?.state === "done" || undefined, "sent again after the expiry");
    for (const c of [alice, bob, again]) await c.engine.stop();
  });

  it("an archive the primary could not upload shows as failed on the new device, and may be asked for again", async () => {
    const { alice, bob, aliceAddr, aConv } = await aliceAndBob(boot);
    await seed(alice.db, aConv, 20);
    // the relay refuses the primary's uploads (a quota, say) until told otherwise
    let refuse = true;
    const uploads = async (input: string, init?: RequestInit) => ((init?.method ?? "GET") !== "GET" && refuse ? new Response("no", { status: 403 }) : fetch(input, init));
    await alice.engine.stop();
    const primary = boot(alice.db, undefined, uploads);
    await waitFor(async () => primary.online || undefined, "the primary is online");
    const laptop = await link(primary, aliceAddr, true);
    await waitFor(async () => (await historyProgress(primary.db))?.state === "failed" || undefined, "the upload failed on the primary");
    // not "skipped": the person chose to send it, and may ask again
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "failed" || undefined, "the new device says it failed");
    expect((await historyProgress(laptop.db))?.reason).toBe("failed");
    expect((await pendingHistory(laptop.db))?.failed).toBe(true);
    refuse = false;
    await laptop.api.askHistory({});
    const done = await waitFor(async () => ((await historyProgress(laptop.db))?.state === "done" ? historyProgress(laptop.db) : undefined), "the history came when asked again");
    expect(done?.messages).toBe(20);
    for (const c of [primary, bob, laptop]) await c.engine.stop();
  });
});

/** The bytes this device shows for an attachment message, once its media row is here. */
async function shownBytes(c: Client, messageId: string): Promise<Uint8Array | undefined> {
  const row = await c.db.media.get(messageId);
  const blob = row ? await mediaBlob(c.db, row) : null;
  return blob ? new Uint8Array(await blob.arrayBuffer()) : undefined;
}

describe("photos and files in the history", () => {
  it("come with the history when included (same bytes, fresh blobs deleted once here), and not otherwise", async () => {
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await aliceAndBob(boot);
    await bob.api.startChat({ from: bobAddr as never, to: aliceAddr });
    // a photo Alice sent, a file Bob sent that she downloaded, and one she never downloaded
    const photo = randomBytes(150_000);
    const { messageIds: [photoId] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([photo], { type: "image/png" }), name: "harbour.png" }] });
    const file = randomBytes(1_300_000);
    const { messageIds: [fileId] } = await bob.api.sendAttachments({ conversationId: bConv, files: [{ blob: new Blob([file], { type: "application/pdf" }), name: "plan.pdf" }] });
    const { messageIds: [remoteId] } = await bob.api.sendAttachments({ conversationId: bConv, files: [{ blob: new Blob([randomBytes(40_000)], { type: "application/zip" }), name: "never.zip" }] });
    await waitFor(async () => (await alice.db.transfers.get(remoteId))?.state === "remote" || undefined, "the zip reaches Alice");
    await waitFor(async () => (await alice.db.transfers.get(fileId))?.state === "remote" || undefined, "the file reaches Alice");
    await alice.api.downloadAttachment({ conversationId: aConv, messageId: fileId });
    await waitFor(async () => (await shownBytes(alice, fileId))?.length === file.length || undefined, "Alice downloads the file");
    await waitFor(async () => (await alice.db.transfers.get(photoId))?.state === "uploaded" || undefined, "Alice's photo is up");
    const originals = new Set((await alice.db.attachmentKeys.toArray()).map((k) => k.blobId));

    // what the primary would send, as its link dialog shows it
    const laptopCode = boot();
    await waitFor(async () => laptopCode.online || laptopCode.sockets.some((s) => s.connected), "connected");
    const asked = await alice.api.linkDevice({ code: (await laptopCode.api.startLink({ name: "Tablet" })).code });
    expect(asked.media).toEqual({ count: 2, bytes: photo.length + file.length });
    await alice.api.confirmLink({ linkId: asked.linkId, confirm: false });
    await laptopCode.engine.stop();

    // without: the messages come with their previews, no media and nothing to download
    const without = await link(alice, aliceAddr, true);
    await waitFor(async () => (await historyProgress(without.db))?.state === "done" || undefined, "the history without media");
    expect((await without.db.messages.get(photoId))?.attachment).toMatchObject({ name: "harbour.png", size: photo.length });
    expect(await without.db.media.count()).toBe(0);
    expect(await without.db.transfers.count()).toBe(0);
    expect(await without.db.attachmentKeys.count()).toBe(0);
    await without.engine.stop();

    // with: the same bytes on the new device, from fresh blobs under fresh keys. The media downloads wait
    // (until the archive is gone from the relay, or 2 s): the primary must not delete anything before they came
    let archivePath: string | null = null;
    const waiting = async (input: string, init?: RequestInit) => {
      const path = new URL(input).pathname;
      archivePath ??= path;
      if ((init?.method ?? "GET") === "GET" && path !== archivePath) {
        const until = Date.now() + 2_000;
        while (Date.now() < until && (await fetch(`${relayUrl()}${archivePath}`, { method: "HEAD" })).status !== 404) await new Promise((r) => setTimeout(r, 100));
      }
      return fetch(input, init);
    };
    const uploaded = recordUploads(alice.db);
    const laptop = await link(alice, aliceAddr, true, undefined, waiting, true);
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "done" || undefined, "the history with media");
    await waitFor(async () => (await historyProgress(alice.db))?.state === "done" || undefined, "the primary sent it");
    expect((await historyProgress(alice.db))?.media).toEqual({ count: 2, bytes: photo.length + file.length });
    expect(Buffer.from((await waitFor(() => shownBytes(laptop, photoId), "the photo on the laptop"))).equals(photo)).toBe(true);
    expect(Buffer.from((await waitFor(() => shownBytes(laptop, fileId), "the file on the laptop"))).equals(file)).toBe(true);
    // one the primary never had stays as before: a preview, nothing to fetch
    expect((await laptop.db.messages.get(remoteId))?.attachment?.name).toBe("never.zip");
    expect(await laptop.db.transfers.get(remoteId)).toBeUndefined();
    const keys = await laptop.db.attachmentKeys.toArray();
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(originals.has(k.blobId)).toBe(false);
    // once both are here the primary deletes the archive and the media blobs at the relay
    // the newest upload recorded (the first link's, without media, is in the list the hook saw first)
    const upload = uploaded.at(-1)!;
    expect(upload.media?.map((m) => m.blobId).sort()).toEqual(keys.map((k) => k.blobId).sort());
    for (const id of [upload.blobId, ...keys.map((k) => k.blobId!)]) {
      await waitFor(async () => (await fetch(`${relayUrl()}/blobs/${id}`, { method: "HEAD" })).status === 404 || undefined, "a history blob is deleted");
    }
    // (the first link's archive may still be listed, or gone too if that device said it was done before it stopped)
    await waitFor(async () => !((await alice.db.meta.get("historyUploads"))?.value as HistoryUpload[]).some((u) => u.blobId === upload.blobId) || undefined, "the primary forgets the deleted upload");
    for (const c of [alice, bob, laptop]) await c.engine.stop();
  });

  it("a media blob altered on the relay is refused on the new device, with nothing stored", async () => {
    const { alice, bob, aliceAddr, aConv } = await aliceAndBob(boot);
    const photo = randomBytes(300_000);
    const { messageIds: [photoId] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([photo], { type: "image/png" }), name: "harbour.png" }] });
    await waitFor(async () => (await alice.db.transfers.get(photoId))?.state === "uploaded" || undefined, "Alice's photo is up");
    // the first blob the laptop fetches is the archive; every one after it comes with a byte changed
    let archivePath: string | null = null;
    const tampering = async (input: string, init?: RequestInit) => {
      const res = await fetch(input, init);
      const path = new URL(input).pathname;
      archivePath ??= path;
      if ((init?.method ?? "GET") !== "GET" || path === archivePath || !res.ok) return res;
      const body = new Uint8Array(await res.arrayBuffer());
      body[body.length - 100] ^= 1;
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const laptop = await link(alice, aliceAddr, true, undefined, tampering, true);
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "done" || undefined, "the history is imported");
    const t = await waitFor(async () => {
      const row = await laptop.db.transfers.get(photoId);
      return row?.state === "tampered" ? row : undefined;
    }, "the photo is refused");
    expect(t.error).toBe(TAMPERED_TEXT);
    expect(await laptop.db.media.get(photoId)).toBeUndefined();
    expect(await laptop.db.mediaChunks.count()).toBe(0);
    expect((await laptop.db.messages.get(photoId))?.attachment?.name).toBe("harbour.png");
    for (const c of [alice, bob, laptop]) await c.engine.stop();
  });
});

describe("photos and files the relay has no room for", () => {
  it("fail the transfer clearly on the primary; asked again, the history comes without them", async () => {
    // a relay with 1 MB of room per device: Alice's photo fits once, not twice
    const small = await startRelay({ env: { BLOB_QUOTA_BYTES: "1000000" } });
    onTestFinished(async () => void (await small.stop()));
    const bootSmall = makeBoot(() => small.url);
    const { alice, bob, aConv } = await aliceAndBob(bootSmall);
    const photo = randomBytes(600_000);
    const { messageIds: [photoId] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([photo], { type: "image/png" }), name: "harbour.png" }] });
    await waitFor(async () => (await alice.db.transfers.get(photoId))?.state === "uploaded" || undefined, "Alice's photo is up");
    const laptop = bootSmall();
    await waitFor(async () => laptop.online || laptop.sockets.some((s) => s.connected), "laptop connected");
    const asked = await alice.api.linkDevice({ code: (await laptop.api.startLink({ name: "Laptop" })).code });
    await alice.api.confirmLink({ linkId: asked.linkId, confirm: true, media: true });
    const failed = await waitFor(async () => ((await historyProgress(alice.db))?.state === "failed" ? historyProgress(alice.db) : undefined), "the primary says it failed");
    expect(failed).toMatchObject({ reason: "quota", media: { bytes: photo.length } });
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "failed" || undefined, "the new device hears it failed");
    expect(await laptop.db.messages.count()).toBe(0);
    await laptop.api.askHistory({});
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "done" || undefined, "the history without the photo");
    expect((await laptop.db.messages.get(photoId))?.attachment?.name).toBe("harbour.png");
    expect(await laptop.db.transfers.get(photoId)).toBeUndefined();
    for (const c of [alice, bob, laptop]) await c.engine.stop();
  });
});

describe("photos and files when asked again", () => {
  it("an upload that failed for another reason sends them again by the link's default rule", async () => {
    const { alice, bob, aConv, aliceAddr } = await aliceAndBob(boot);
    const photo = randomBytes(50_000);
    const { messageIds: [photoId] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([photo], { type: "image/png" }), name: "harbour.png" }] });
    await waitFor(async () => (await alice.db.transfers.get(photoId))?.state === "uploaded" || undefined, "Alice's photo is up");
    // the relay's blob store refuses the primary's uploads (an outage, say) until told otherwise
    let refuse = true;
    const uploads = async (input: string, init?: RequestInit) => ((init?.method ?? "GET") !== "GET" && refuse ? new Response("no", { status: 503 }) : fetch(input, init));
    await alice.engine.stop();
    const primary = boot(alice.db, undefined, uploads);
    await waitFor(async () => primary.online || undefined, "the primary is online");
    const laptop = await link(primary, aliceAddr, true, undefined, undefined, true);
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "failed" || undefined, "the new device says it failed");
    expect((await historyProgress(primary.db))?.reason).toBeUndefined();
    refuse = false;
    await laptop.api.askHistory({});
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "done" || undefined, "the history came when asked again");
    const shown = await waitFor(() => shownBytes(laptop, photoId), "the photo with it");
    expect(toB64(shown)).toBe(toB64(photo));
    for (const c of [primary, bob, laptop]) await c.engine.stop();
  });
});

describe("photos and files when asked again, after an archive with them", () => {
  it("come no more: the device that could not take that archive gets one without them", async () => {
    const { alice, bob, aConv, aliceAddr } = await aliceAndBob(boot);
    const { messageIds: [photoId] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([randomBytes(50_000)], { type: "image/png" }), name: "harbour.png" }] });
    await waitFor(async () => (await alice.db.transfers.get(photoId))?.state === "uploaded" || undefined, "Alice's photo is up");
    // the new device cannot fetch the first archive (as if the blob were gone)
    let refuse = true;
    const failing = async (input: string, init?: RequestInit) => ((init?.method ?? "GET") === "GET" && refuse ? new Response("gone", { status: 404 }) : fetch(input, init));
    const laptop = await link(alice, aliceAddr, true, undefined, failing, true);
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "failed" || undefined, "the transfer failed");
    refuse = false;
    await laptop.api.askHistory({});
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "done" || undefined, "the history came when asked again");
    expect((await laptop.db.messages.get(photoId))?.attachment?.name).toBe("harbour.png");
    expect(await laptop.db.transfers.get(photoId)).toBeUndefined();
    for (const c of [alice, bob, laptop]) await c.engine.stop();
  });
});

describe("groups in the history", () => {
  it("brings the groups Alice is in, rebuilt from their signed chains, with their messages and no sender key", async () => {
    const { alice, bob, carol, aliceAddr, bobAddr, carolAddr, toBob } = await aliceBobCarol(boot);
    await alice.api.sendMessage({ conversationId: toBob, text: "direct hello" });
    const { groupId } = await bob.api.createGroup({ from: bobAddr as Address, name: "Harbour", members: [aliceAddr, carolAddr] });
    const aGroup = `${aliceAddr}|group:${groupId}`;
    await waitFor(async () => (await alice.db.conversations.get(aGroup))?.groupName === "Harbour", "Alice has the group");
    await waitFor(async () => (await carol.db.conversations.get(`${carolAddr}|group:${groupId}`))?.groupName === "Harbour", "Carol has the group");
    await carol.api.sendMessage({ conversationId: `${carolAddr}|group:${groupId}`, text: "lights at nine" });
    await waitFor(async () => (await messagesOf(alice.db, aGroup)).some((m) => m.text === "lights at nine"), "Alice reads Carol");
    await alice.api.sendMessage({ conversationId: aGroup, text: "see you there" });
    // Bob lets every member change it: Alice's own rename is a link of hers in the chain
    await bob.api.changeGroup({ conversationId: `${bobAddr}|group:${groupId}`, action: { type: "promote", member: aliceAddr } });
    await waitFor(async () => (await alice.db.groups.get(groupRowId(aliceAddr as Address, groupId)))?.members.find((m) => m.address === aliceAddr)?.admin, "Alice is an admin");
    await alice.api.changeGroup({ conversationId: aGroup, action: { type: "rename", name: "Harbour lights" } });
    await alice.api.updateConversation({ conversationId: aGroup, pinned: true, muted: true });
    await waitFor(async () => (await messagesOf(alice.db, aGroup)).find((m) => m.text === "see you there")?.state === "delivered" || undefined, "Alice's group message delivered");
    expect((await alice.db.senderKeys.count()) > 0).toBe(true);

    // the group's chain is in the archive; no sender key (mine or a member's) is
    const { bytes } = await buildArchive(alice.db, [aliceAddr as Address], Date.now());
    const text = new TextDecoder().decode(bytes);
    let checked = 0;
    for (const row of await alice.db.senderKeys.toArray()) {
      for (const s of secretsIn(row)) {
        checked++;
        expect(text.includes(toB64(s))).toBe(false);
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(JSON.parse(text).groups).toHaveLength(1);

    const laptop = await link(alice, aliceAddr);
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "done", "the history is imported");
    const onPrimary = await alice.db.groups.get(groupRowId(aliceAddr as Address, groupId));
    const onLaptop = await laptop.db.groups.get(groupRowId(aliceAddr as Address, groupId));
    expect(onLaptop).toMatchObject({ name: onPrimary?.name, members: onPrimary?.members, version: onPrimary?.version, addPolicy: onPrimary?.addPolicy, keySentTo: [] });
    expect(onLaptop?.chain.map((c) => toB64(c))).toEqual(onPrimary?.chain.map((c) => toB64(c)));
    const conv = await laptop.db.conversations.get(aGroup);
    expect(onLaptop?.name).toBe("Harbour lights");
    // the conversation's own state comes too (pinned and muted on the primary)
    expect(conv).toMatchObject({ groupId, groupName: "Harbour lights", theirAddress: aliceAddr, pinnedAt: (await alice.db.conversations.get(aGroup))?.pinnedAt, muted: true });
    expect((await messagesOf(laptop.db, aGroup)).map(shown)).toEqual((await messagesOf(alice.db, aGroup)).map(shown));
    expect((await messagesOf(laptop.db, aGroup)).map((m) => m.text)).toContain("lights at nine");
    // the laptop holds no sender key that came from Alice's device
    const primaryKeys = (await alice.db.senderKeys.toArray()).map((r) => toB64(r.record));
    expect((await laptop.db.senderKeys.toArray()).some((r) => primaryKeys.includes(toB64(r.record)))).toBe(false);
    for (const c of [alice, bob, carol, laptop]) await c.engine.stop();
  });

  it("leaves out a group whose chain does not verify or does not hold me, with its messages; the rest comes", async () => {
    const { alice, bob, carol, aliceAddr, bobAddr, carolAddr, toBob } = await aliceBobCarol(boot);
    await alice.api.sendMessage({ conversationId: toBob, text: "direct hello" });
    const { groupId } = await bob.api.createGroup({ from: bobAddr as Address, name: "Real", members: [aliceAddr, carolAddr] });
    const aGroup = `${aliceAddr}|group:${groupId}`;
    await waitFor(async () => (await alice.db.groups.get(groupRowId(aliceAddr as Address, groupId))) !== undefined, "Alice has the group");
    // Carol writes once the group reached her too (before, it is no conversation of hers)
    await waitFor(async () => (await carol.db.conversations.get(`${carolAddr}|group:${groupId}`)) !== undefined, "Carol has the group");
    await carol.api.sendMessage({ conversationId: `${carolAddr}|group:${groupId}`, text: "real words" });
    await waitFor(async () => (await messagesOf(alice.db, aGroup)).some((m) => m.text === "real words"), "Alice reads Carol");
    // a group of Bob and Carol only, which Alice is not in: its genuine chain
    const other = await bob.api.createGroup({ from: bobAddr as Address, name: "Without Alice", members: [carolAddr] });
    const otherChain = (await bob.db.groups.get(groupRowId(bobAddr as Address, other.groupId)))?.chain ?? [];
    expect(otherChain.length).toBeGreaterThan(0);

    const laptop = await link(alice, aliceAddr, false);
    await waitFor(async () => (await historyProgress(laptop.db))?.state === "skipped", "no history sent");
    const archive = parseArchive((await buildArchive(alice.db, [aliceAddr as Address], Date.now())).bytes, [aliceAddr as Address]);
    const real = archive.groups[0];
    // one byte of the creation changed (the group's name, say): its signature no longer holds
    const forged = real.chain.map((c, i) => (i === 0 ? Uint8Array.from(c, (b, k) => (k === Math.floor(c.length / 2) ? b ^ 1 : b)) : c));
    const fakeConv = `${aliceAddr}|group:${other.groupId}`;
    const tampered = {
      ...archive,
      groups: [{ ...real, chain: forged }, { ourAddress: aliceAddr as Address, groupId: other.groupId, chain: otherChain }],
      conversations: [...archive.conversations, { ...archive.conversations.find((c) => c.id === aGroup)!, id: fakeConv, groupId: other.groupId }],
      messages: [...archive.messages, { ...archive.messages.find((m) => m.text === "real words")!, id: `fake-${randomId()}`, conversationId: fakeConv, text: "made up" }],
    };
    const ctx = laptop.engine.context;
    const verified = await verifyGroups(ctx, tampered);
    expect(verified.refused).toBe(2);
    expect(verified.rows).toEqual([]);
    const counts = await importArchive(laptop.db, tampered, Date.now(), undefined, undefined, verified);
    expect(counts.groupsRefused).toBe(2);
    expect(await laptop.db.groups.count()).toBe(0);
    expect(await laptop.db.conversations.get(aGroup)).toBeUndefined();
    expect(await laptop.db.conversations.get(fakeConv)).toBeUndefined();
    const texts = (await laptop.db.messages.toArray()).map((m) => m.text);
    expect(texts).toContain("direct hello");
    expect(texts).not.toContain("real words");
    expect(texts).not.toContain("made up");

    // the genuine archive brings the group in after all
    const good = await verifyGroups(ctx, archive);
    expect(good.refused).toBe(0);
    await importArchive(laptop.db, archive, Date.now(), undefined, undefined, good);
    expect((await laptop.db.groups.get(groupRowId(aliceAddr as Address, groupId)))?.name).toBe("Real");
    expect((await messagesOf(laptop.db, aGroup)).map((m) => m.text)).toContain("real words");
    for (const c of [alice, bob, carol, laptop]) await c.engine.stop();
  });
});

describe("the archive as the new device reads it", () => {
  const me = "messenger:alice.smith" as Address;
  const conv = { id: `${me}|whatsapp:+15550000001`, ourAddress: me, theirAddress: "whatsapp:+15550000001", lastActivity: 1, unread: 0, hasUnread: 0 };
  const message = { id: "m1", conversationId: conv.id, direction: "in", text: "hi", sentAt: 1, receivedAt: 1, state: "delivered" };
  const archive = (patch: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify({ v: 1, createdAt: 1, conversations: [conv], messages: [message], contacts: [], addressBook: [], people: [], identities: [], ...patch }));

  it("reads a well-formed archive, bytes included", () => {
    const thumb = { ...message, id: "m2", attachment: { name: "a.jpg", mime: "image/jpeg", size: 3, thumb: { $b: toB64(new Uint8Array([1, 2, 3])) } } };
    const read = parseArchive(archive({ messages: [message, thumb] }), [me]);
    expect(read.messages[1].attachment?.thumb).toEqual(new Uint8Array([1, 2, 3]));
  });

  it("refuses one that names another account, a message outside its conversations, a malformed group, or another version", () => {
    expect(() => parseArchive(archive({}), ["messenger:someone.else" as Address])).toThrow(/another account/);
    expect(() => parseArchive(archive({ messages: [{ ...message, conversationId: `${me}|whatsapp:+15550000002` }] }), [me])).toThrow(/outside/);
    expect(() => parseArchive(archive({ conversations: [{ ...conv, groupId: "ab" }] }), [me])).toThrow(/not readable/);
    const gid = "ab".repeat(32);
    const groupConv = { ...conv, id: `${me}|group:${gid}`, theirAddress: me, groupId: gid };
    const group = { ourAddress: me, groupId: gid, chain: [{ $b: toB64(new Uint8Array([1, 2, 3])) }] };
    expect(parseArchive(archive({ conversations: [groupConv], messages: [], groups: [group] }), [me]).groups[0].chain[0]).toEqual(new Uint8Array([1, 2, 3]));
    // a group conversation needs its group, named as the group names it, and mine
    expect(() => parseArchive(archive({ conversations: [groupConv], messages: [] }), [me])).toThrow(/without its group/);
    expect(() => parseArchive(archive({ conversations: [{ ...groupConv, id: `${me}|group:${"cd".repeat(32)}` }], messages: [], groups: [group] }), [me])).toThrow(/not named/);
    expect(() => parseArchive(archive({ conversations: [{ ...groupConv, theirAddress: "whatsapp:+15550000001" }], messages: [], groups: [group] }), [me])).toThrow(/not named/);
    expect(() => parseArchive(archive({ groups: [{ ...group, ourAddress: "messenger:someone.else" }] }), [me])).toThrow(/another account/);
    expect(() => parseArchive(archive({ groups: [group, group] }), [me])).toThrow(/twice/);
    expect(() => parseArchive(archive({ groups: [{ ...group, chain: [] }] }), [me])).toThrow(/not readable/);
    expect(() => parseArchive(archive({ groups: [{ ...group, chain: ["AAAA"] }] }), [me])).toThrow(/not readable/);
    expect(() => parseArchive(archive({ v: 2 }), [me])).toThrow(/not readable/);
    // a media pointer names an attachment message of the archive, once, with its size, and nothing absurd
    const photo = { ...message, id: "m2", kind: "attachment", attachment: { name: "a.jpg", mime: "image/jpeg", size: 3000 } };
    const b32 = toB64(new Uint8Array(32).fill(7));
    const pointer = { messageId: "m2", blobId: b32, key: b32, digest: b32, commitment: b32, size: 3000 };
    expect(parseArchive(archive({ messages: [message, photo], media: [pointer] }), [me]).media).toEqual([pointer]);
    expect(() => parseArchive(archive({ messages: [message, photo], media: [{ ...pointer, messageId: "m9" }] }), [me])).toThrow(/does not carry/);
    expect(() => parseArchive(archive({ messages: [message, photo], media: [{ ...pointer, messageId: "m1", size: 0 }] }), [me])).toThrow(/does not carry/);
    expect(() => parseArchive(archive({ messages: [message, photo], media: [{ ...pointer, size: 3001 }] }), [me])).toThrow(/does not carry/);
    expect(() => parseArchive(archive({ messages: [message, photo], media: [pointer, pointer] }), [me])).toThrow(/twice/);
    expect(() => parseArchive(archive({ messages: [message, photo], media: [{ ...pointer, size: 2 ** 40 }] }), [me])).toThrow(/not readable/);
    expect(() => parseArchive(archive({ messages: [message, photo], media: [{ ...pointer, key: "AAAA" }] }), [me])).toThrow(/not readable/);
    expect(() => parseArchive(archive({ messages: [message, photo], media: [{ ...pointer, extra: 1 }] }), [me])).toThrow(/not readable/);
    expect(() => parseArchive(new TextEncoder().encode("{"), [me])).toThrow(/not readable/);
  });
});
