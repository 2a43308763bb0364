// Attachments between two real engines (fake-indexeddb) through a real relay process: queued at once,
// uploaded by the worker's transfer runner, sent as the attachment kind, fetched (by itself for a small
// image, on request otherwise) and checked before anything is kept; refused whole when the relay's copy
// was altered, and refused as content when a hostile peer's pointer is malformed. Their media goes with
// the message.
import "fake-indexeddb/auto";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startRelay, type RelayProcess } from "../../relay/test/relayProcess";
import type { Address } from "../../brands";
import { sessionKey } from "../../store/ids";
import { deserializeSession, encrypt, serializeSession } from "../../crypto";
import { EVENTS, toB64 } from "../deps";
import { request } from "../relay";
import { aliceAndBob, blobSha256, holdDeliveries, makeBoot, messagesOf, stallBlobDownloads, stopAll, waitFor } from "../testClients";
import { sweepExpired } from "../disappearing";
import { blobBytes } from "./content";
import { DOWNLOAD_PIECE_BYTES } from "./transfer";
import { TAMPERED_TEXT } from "./runner";
import { mediaBlob } from "../../store/media";

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  await relay.stop();
});
const boot = makeBoot(() => relay.url);

const sha = blobSha256;

describe("attachments between two engines", () => {
  it("a file with a caption is queued at once, uploaded, and downloads intact on request on the other side", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const bytes = randomBytes(2 * 1024 * 1024 + 333);
    const { messageIds } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([bytes], { type: "application/pdf" }), name: "../../etc/report\u0007.pdf" }], caption: "the report" });
    expect(messageIds).toHaveLength(1);
    const id = messageIds[0];
    // shown at once, with its file, before a byte has gone
    const mine = (await alice.db.messages.get(id))!;
    expect(mine).toMatchObject({ kind: "attachment", text: "the report", attachment: { name: "report.pdf", mime: "application/pdf", size: bytes.length } });
    expect((await alice.db.media.get(id))?.size).toBe(bytes.length);

    const got = await waitFor(() => bob.db.messages.get(id), "the attachment message");
    expect(got).toMatchObject({ kind: "attachment", text: "the report", attachment: { name: "report.pdf", size: bytes.length } });
    expect((await alice.db.transfers.get(id))).toMatchObject({ state: "uploaded", done: blobBytes(bytes.length) });
    expect((await alice.db.messages.get(id))?.state).not.toBe("queued");
    // not an image: it waits for "Download"
    expect((await bob.db.transfers.get(id))?.state).toBe("remote");
    expect(await bob.db.media.get(id)).toBeUndefined();
    expect((await bob.db.conversations.get(bConv))?.lastPreview).toBe("📎 report.pdf: the report");

    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    const media = await waitFor(() => bob.db.media.get(id), "the download");
    expect(await sha((await mediaBlob(bob.db, media))!)).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect((await bob.db.transfers.get(id))).toMatchObject({ state: "ready", done: blobBytes(bytes.length) });

    // deleting the message deletes its media and key; "Delete media" on the other side keeps the message
    await bob.api.deleteMessage({ conversationId: bConv, messageId: id, forEveryone: false });
    expect(await bob.db.media.get(id)).toBeUndefined();
    expect(await bob.db.attachmentKeys.get(id)).toBeUndefined();
    expect(await bob.db.transfers.get(id)).toBeUndefined();
    expect(await alice.api.deleteMedia({ conversationId: aConv })).toEqual({ deleted: 1 });
    expect(await alice.db.media.get(id)).toBeUndefined();
    expect((await alice.db.messages.get(id))?.kind).toBe("attachment");
    // and my own upload can be fetched back from the relay
    await alice.api.downloadAttachment({ conversationId: aConv, messageId: id });
    await waitFor(() => alice.db.media.get(id), "fetched back");
    await stopAll(alice, bob);
  });

  it("a small image downloads by itself; a blob altered on the relay is refused whole, with nothing kept", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const image = randomBytes(200_000);
    const { messageIds } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([image], { type: "image/png" }), name: "a.png" }] });
    const first = messageIds[0];
    const media = await waitFor(() => bob.db.media.get(first), "the image by itself");
    expect(await sha((await mediaBlob(bob.db, media))!)).toBe(createHash("sha256").update(image).digest("hex"));

    // the same again, but one byte of the relay's copy is changed before Bob asks for it
    await bob.engine.stop();
    // large enough that pieces of it were stored before the altered byte near its end came
    const { messageIds: [second] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([randomBytes(2_500_000)], { type: "image/png" }), name: "b.png" }] });
    const keys = await waitFor(async () => ((await alice.db.transfers.get(second))?.state === "uploaded" ? alice.db.attachmentKeys.get(second) : undefined), "uploaded");
    await waitFor(async () => (await alice.db.messages.get(second))?.state !== "queued", "sent");
    const path = join(relay.dataDir, "blobs", keys.blobId!);
    const stored = readFileSync(path);
    stored[stored.length - 100] ^= 1;
    writeFileSync(path, stored);
    const bob2 = boot(bob.db);
    const t = await waitFor(async () => {
      const row = await bob2.db.transfers.get(second);
      return row?.state === "tampered" ? row : undefined;
    }, "refused as tampered");
    expect(t.error).toBe(TAMPERED_TEXT);
    expect(await bob2.db.media.get(second)).toBeUndefined();
    expect(await bob2.db.mediaChunks.count()).toBe(1); // the first image's one piece; none of the refused one
    expect(bob2.engine.counters.get("attachment_tampered")).toBe(1);
    // asking again does not bring it back
    await expect(bob2.api.downloadAttachment({ conversationId: bConv, messageId: second })).rejects.toMatchObject({ code: "bad_request" });
    await stopAll(alice, bob2);
  });

  it("queued offline, it goes when the relay is back; a restart in the middle resumes the same blob and sends once", async () => {
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await aliceAndBob(boot);
    alice.engine.setNetworkAvailable(false);
    await waitFor(async () => !alice.online, "alice offline");
    const bytes = randomBytes(3 * 1024 * 1024);
    const { messageIds: [id] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([bytes]), name: "big.bin" }] });
    expect((await alice.db.transfers.get(id))?.state).toBe("uploading");
    expect((await alice.db.messages.get(id))?.state).toBe("queued");
    // back online: the upload starts; the engine stops after the first piece (a closed tab: the pieces after
    // it hang on the wire until then), and a new one goes on
    const realFetch = globalThis.fetch;
    let stall = true;
    let patches = 0;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === "PATCH" && stall && ++patches > 1) {
        await new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
      }
      return realFetch(input, init);
    }) as typeof fetch;
    onTestFinished(() => {
      globalThis.fetch = realFetch;
    });
    alice.engine.setNetworkAvailable(true);
    await waitFor(async () => ((await alice.db.transfers.get(id))?.done ?? 0) > 0, "upload under way");
    await alice.engine.stop();
    stall = false;
    const blobId = (await alice.db.attachmentKeys.get(id))?.blobId;
    expect(blobId).toBeDefined();
    const alice2 = boot(alice.db);
    await waitFor(() => bob.db.messages.get(id), "arrived");
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    const media = await waitFor(() => bob.db.media.get(id), "downloaded");
    expect(await sha((await mediaBlob(bob.db, media))!)).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect((await alice2.db.attachmentKeys.get(id))?.blobId).toBe(blobId);
    expect((await messagesOf(bob.db, bConv)).filter((m) => m.id === id)).toHaveLength(1);
    void aliceAddr;
    void bobAddr;
    await stopAll(alice2, bob);
  });

  it("a download is stored piece by piece as it comes, shown only when whole, and resumes after a restart from the last piece kept", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const bytes = randomBytes(3 * DOWNLOAD_PIECE_BYTES + 1000);
    const { messageIds: [id] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([bytes]), name: "big.bin" }] });
    await waitFor(() => bob.db.messages.get(id), "arrived");
    // the relay's answer stalls after 2.5 pieces' worth (a connection that hangs), until the tab closes
    const net = stallBlobDownloads(2.5 * DOWNLOAD_PIECE_BYTES);
    onTestFinished(net.restore);
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    await waitFor(async () => ((await bob.db.mediaChunks.count()) >= 2 ? true : undefined), "two pieces stored");
    // stored, but nothing shown: no media row until the whole ciphertext checked out
    expect(await bob.db.media.get(id)).toBeUndefined();
    expect((await bob.db.transfers.get(id))?.state).toBe("downloading");
    await bob.engine.stop();
    net.release();
    const bob2 = boot(bob.db);
    const media = await waitFor(() => bob2.db.media.get(id), "downloaded after the restart");
    // resumed after the two pieces kept, not from the start
    expect(net.ranges).toEqual(["whole", `bytes=${37 + 2 * (DOWNLOAD_PIECE_BYTES / 65536) * (65536 + 16)}-`]);
    expect(media).toMatchObject({ pieces: 4, size: bytes.length });
    expect(media.blob).toBeUndefined();
    expect(await sha((await mediaBlob(bob2.db, media))!)).toBe(createHash("sha256").update(bytes).digest("hex"));
    // deleting the media takes its pieces
    await bob2.api.deleteMedia({ conversationId: bConv });
    expect(await bob2.db.mediaChunks.count()).toBe(0);
    await stopAll(alice, bob2);
  });

  it("an attachment still uploading holds nothing: a text sent after it arrives first, and the attachment keeps its place", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    // the relay takes no upload piece until let through (a slow uplink)
    const realFetch = globalThis.fetch;
    let letThrough!: () => void;
    const gate = new Promise<void>((resolve) => (letThrough = resolve));
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === "PATCH") await gate;
      return realFetch(input, init);
    }) as typeof fetch;
    onTestFinished(() => {
      globalThis.fetch = realFetch;
    });
    const { messageIds: [file] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([randomBytes(300_000)]), name: "slides.pdf" }] });
    const { messageId: text } = await alice.api.sendMessage({ conversationId: aConv, text: "slides coming" });
    await waitFor(() => bob.db.messages.get(text), "the text, before the upload ends");
    expect((await alice.db.transfers.get(file))?.state).toBe("uploading");
    expect(await bob.db.messages.get(file)).toBeUndefined();
    letThrough();
    await waitFor(() => bob.db.messages.get(file), "the attachment once uploaded");
    // in the order they were written, on both sides, each once
    expect((await messagesOf(bob.db, bConv)).map((m) => m.id)).toEqual([file, text]);
    expect((await messagesOf(alice.db, aConv)).map((m) => m.id)).toEqual([file, text]);
    await stopAll(alice, bob);
  });

  it("a voice note played on the other side shows Listened to its sender, under the read-receipts setting on both sides", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const voice = (n: number) => ({ conversationId: aConv, files: [{ blob: new Blob([randomBytes(5_000 + n)], { type: "audio/webm" }), name: "voice.webm" }], voice: { durationMs: 2_000, waveform: [1, 5, 9] } });
    const { messageIds: [first] } = await alice.api.sendAttachments(voice(1));
    await waitFor(() => bob.db.media.get(first), "the voice note, fetched by itself");
    await bob.api.markListened({ conversationId: bConv, messageId: first });
    const played = await waitFor(async () => {
      const m = await alice.db.messages.get(first);
      return m?.listenedAt ? m : undefined;
    }, "listened on alice's side");
    // played is read too
    expect(played.state).toBe("read");
    expect((await bob.db.messages.get(first))?.listenedAt).toBeGreaterThan(0);
    // only voice notes of that conversation; a second play tells nothing more
    const { messageId: text } = await alice.api.sendMessage({ conversationId: aConv, text: "hi" });
    await waitFor(() => bob.db.messages.get(text), "the text");
    await expect(bob.api.markListened({ conversationId: bConv, messageId: text })).rejects.toMatchObject({ code: "not_found" });
    await bob.api.markListened({ conversationId: bConv, messageId: first });
    expect(await bob.db.outbox.filter((r) => r.receiptKind === "listened").count()).toBe(0);

    // Bob's receipts off: he sends none
    await bob.api.updateSettings({ readReceipts: false });
    const { messageIds: [second] } = await alice.api.sendAttachments(voice(2));
    await waitFor(() => bob.db.media.get(second), "the second voice note");
    await bob.api.markListened({ conversationId: bConv, messageId: second });
    expect((await bob.db.messages.get(second))?.listenedAt).toBeGreaterThan(0);
    expect(await bob.db.outbox.filter((r) => r.receiptKind === "listened").count()).toBe(0);

    // Bob on, Alice off: his receipt comes, but Alice does not see it
    await bob.api.updateSettings({ readReceipts: true });
    await alice.api.updateSettings({ readReceipts: false });
    const { messageIds: [third] } = await alice.api.sendAttachments(voice(3));
    await waitFor(() => bob.db.media.get(third), "the third voice note");
    await bob.api.markListened({ conversationId: bConv, messageId: third });
    await waitFor(async () => alice.engine.counters.get("read_receipt_hidden") >= 1, "receipt came and was hidden");
    expect((await alice.db.messages.get(third))?.listenedAt).toBeUndefined();
    expect((await alice.db.messages.get(second))?.listenedAt).toBeUndefined();
    await stopAll(alice, bob);
  });

  it("a cancelled upload shows Not sent; Retry resumes the same blob and the message arrives once", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const bytes = randomBytes(6 * 1024 * 1024);
    // pieces go slowly (300 ms each), so that the cancel lands in the middle of the upload
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (init?.method === "PATCH") await new Promise((r) => setTimeout(r, 300));
      return realFetch(input, init);
    }) as typeof fetch;
    onTestFinished(() => {
      globalThis.fetch = realFetch;
    });
    const { messageIds: [id] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([bytes]), name: "slow.bin" }] });
    await waitFor(async () => ((await alice.db.transfers.get(id))?.done ?? 0) > 0, "upload under way");
    await alice.api.cancelTransfer({ conversationId: aConv, messageId: id });
    const failed = await waitFor(async () => ((await alice.db.messages.get(id))?.state === "failed" ? alice.db.messages.get(id) : undefined), "not sent");
    expect(failed?.error).toBe("cancelled");
    expect((await alice.db.transfers.get(id))?.state).toBe("failed");
    expect(await alice.db.outbox.where("messageId").equals(id).count()).toBe(0);
    const blobId = (await alice.db.attachmentKeys.get(id))?.blobId;
    expect(blobId).toBeDefined();
    expect(await bob.db.messages.get(id)).toBeUndefined();
    globalThis.fetch = realFetch;

    await alice.api.retryMessage({ conversationId: aConv, messageId: id });
    await waitFor(() => bob.db.messages.get(id), "arrived after the retry");
    expect((await alice.db.attachmentKeys.get(id))?.blobId).toBe(blobId);
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    const media = await waitFor(() => bob.db.media.get(id), "downloaded");
    expect(await sha((await mediaBlob(bob.db, media))!)).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect((await messagesOf(bob.db, bConv)).filter((m) => m.id === id)).toHaveLength(1);
    await stopAll(alice, bob);
  });

  it("refuses a hostile peer's malformed or oversized attachment: kept as unsupported, nothing fetched", async () => {
    // Alice's engine must not write her session while it is written by hand below: decrypting a receipt of
    // Bob's meanwhile would write it back over the hand-made one, and a message number would go out twice (Bob
    // drops the second as a duplicate). So Bob's first receipt is in before, and Alice hears nothing during.
    const hold = holdDeliveries();
    const { alice, bob, aliceAddr, bobAddr, aConv, bConv } = await aliceAndBob(boot, boot, hold.patch);
    hold.release();
    await alice.api.sendMessage({ conversationId: aConv, text: "hello" });
    await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 1, "first");
    await waitFor(async () => (await messagesOf(alice.db, aConv))[0]?.state === "delivered", "the delivery receipt");
    await alice.engine.idle();
    hold.hold();
    const bobDevice = (await bob.db.device.get(bobAddr as Address))!.deviceId;
    const key = sessionKey(aliceAddr, bobAddr, bobDevice);
    const good = {
      v: 1, type: "attachment", sentAt: Date.now(), blobId: "A".repeat(43), key: toB64(new Uint8Array(32)), digest: toB64(new Uint8Array(32)),
      commitment: toB64(new Uint8Array(32)), size: 10, mime: "image/png", name: "x.png",
    };
    const hostile: [string, Record<string, unknown>][] = [
      ["size past 100 MB", { size: 100 * 1024 * 1024 + 1 }],
      ["a thumbnail past 8 KB", { thumb: toB64(new Uint8Array(9 * 1024)) }],
      ["a name that is a path", { name: "../../.bashrc" }],
      ["a short key", { key: toB64(new Uint8Array(16)) }],
      ["a waveform of 1000 bars", { voice: { durationMs: 1000, waveform: new Array(1000).fill(1) } }],
      ["a blob id that is a path", { blobId: "../".repeat(14) + "a" }],
    ];
    const socket = alice.sockets.at(-1)!;
    for (const [i, [, change]] of hostile.entries()) {
      const row = (await alice.db.sessions.get(key))!;
      const id = `hostile0000${i}`;
      const sealed = await encrypt(deserializeSession(row.state), new TextEncoder().encode(JSON.stringify({ ...good, id, ...change })));
      await alice.db.sessions.put({ ...row, state: serializeSession(sealed.state) });
      await request(socket, EVENTS.send, { from: aliceAddr, envelopes: [{ id: `hostileenv0${i}`, to: bobAddr, toDevice: bobDevice, body: toB64(sealed.ciphertext) }] });
    }
    await waitFor(async () => (await messagesOf(bob.db, bConv)).length === 1 + hostile.length, "all stored", 60_000);
    hold.release();
    expect(bob.engine.counters.get("duplicate")).toBe(0);
    for (const [i, [what]] of hostile.entries()) {
      expect((await bob.db.messages.get(`hostile0000${i}`))?.kind, what).toBe("unsupported");
    }
    expect(await bob.db.transfers.count()).toBe(0);
    expect(await bob.db.attachmentKeys.count()).toBe(0);
    await stopAll(alice, bob);
  }, 90_000);

  it("a disappearing attachment takes its media with it", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    await alice.api.setDisappearing({ conversationId: aConv, expiresInMs: 86_400_000 });
    const { messageIds: [id] } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([randomBytes(1000)], { type: "image/jpeg" }), name: "p.jpg" }] });
    await waitFor(() => bob.db.media.get(id), "fetched by itself");
    const expiresAt = (await bob.db.messages.get(id))!.expiresAt!;
    await bob.engine.stop();
    await alice.engine.stop();
    for (const c of [alice, bob]) {
      await sweepExpired({ db: c.db, log: { warn() {}, info() {} }, counters: c.engine.counters, now: () => expiresAt + 1 } as never, expiresAt + 1);
      expect(await c.db.messages.get(id)).toBeUndefined();
      expect(await c.db.media.get(id)).toBeUndefined();
      expect(await c.db.attachmentKeys.get(id)).toBeUndefined();
    }
    void bConv;
  });
});
