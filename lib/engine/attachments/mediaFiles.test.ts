// Downloads kept in files (lib/store/mediaFiles.ts), between two real engines through a real relay
// process, over a directory of real files in place of the origin-private file system: written piece by
// piece as they authenticate, resumed from the whole pieces a file holds, and removed with their rows
// (deleted messages, Delete media, a tampered blob, log out) or by the sweep at start when nothing names
// them. The browser's own file system is covered by e2e/attachments.spec.ts.
import "fake-indexeddb/auto";
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { startRelay, type RelayProcess } from "../../relay/test/relayProcess";
import type { JunctionDB } from "../../store/db";
import { mediaBlob } from "../../store/media";
import { mediaFileIds, setMediaFileSystem, sweepMediaFiles, type MediaFileSystem } from "../../store/mediaFiles";
import { nodeMediaFiles, type NodeMediaFiles } from "../../store/mediaFiles.testing";
import { aliceAndBob, blobSha256, makeBoot, stallBlobDownloads, stopAll, waitFor, type Client } from "../testClients";
import { DOWNLOAD_PIECE_BYTES } from "./transfer";
import { TAMPERED_TEXT } from "./runner";

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  await relay.stop();
});
const boot = makeBoot(() => relay.url);

let files: NodeMediaFiles;
let before: MediaFileSystem;
beforeEach(() => {
  files = nodeMediaFiles();
  before = setMediaFileSystem(files);
});
afterEach(() => {
  setMediaFileSystem(before);
  files.dispose();
});

const sha = blobSha256;
const fileOf = (db: JunctionDB, id: string) => join(files.base, `media-${db.name}`, id);
/** The ciphertext offset after n whole pieces: the header, then n pieces' chunks with their tags. */
const afterPieces = (n: number) => 37 + n * (DOWNLOAD_PIECE_BYTES / 65536) * (65536 + 16);

/** Alice sends Bob a file of `size` random bytes; resolves once it is on Bob's device (not downloaded). */
async function sent(alice: Client, bob: Client, aConv: string, size: number, name = "big.bin") {
  const bytes = randomBytes(size);
  const {
    messageIds: [id],
  } = await alice.api.sendAttachments({ conversationId: aConv, files: [{ blob: new Blob([bytes]), name }] });
  await waitFor(() => bob.db.messages.get(id), "arrived");
  return { id, hash: createHash("sha256").update(bytes).digest("hex") };
}

describe("downloads kept in files", () => {
  it("written piece by piece, resumed after a restart from the whole pieces of the file (a piece cut off is written again), shown only when whole", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const { id, hash } = await sent(alice, bob, aConv, 3 * DOWNLOAD_PIECE_BYTES + 1000);
    const net = stallBlobDownloads(2.5 * DOWNLOAD_PIECE_BYTES);
    onTestFinished(net.restore);
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    await waitFor(async () => statSync(fileOf(bob.db, id), { throwIfNoEntry: false })?.size === 2 * DOWNLOAD_PIECE_BYTES || undefined, "two pieces in the file");
    // in the file, not in IndexedDB, and nothing shown: no media row until the whole ciphertext checked out
    expect(await bob.db.mediaChunks.count()).toBe(0);
    expect(await bob.db.media.get(id)).toBeUndefined();
    expect((await bob.db.transfers.get(id))?.state).toBe("downloading");
    await bob.engine.stop();
    expect(files.openCount()).toBe(0);
    // a crash in the middle of writing the third piece left part of it
    appendFileSync(fileOf(bob.db, id), randomBytes(1000));
    net.release();
    const bob2 = boot(bob.db);
    const media = await waitFor(() => bob2.db.media.get(id), "downloaded after the restart");
    // resumed after the two whole pieces, not from the start and not after the part
    expect(net.ranges).toEqual(["whole", `bytes=${afterPieces(2)}-`]);
    expect(media).toMatchObject({ file: true, size: 3 * DOWNLOAD_PIECE_BYTES + 1000 });
    expect(media.pieces).toBeUndefined();
    expect(await sha((await mediaBlob(bob2.db, media))!)).toBe(hash);
    expect(statSync(fileOf(bob.db, id)).size).toBe(3 * DOWNLOAD_PIECE_BYTES + 1000);
    expect(await bob2.db.mediaChunks.count()).toBe(0);
    expect(files.openCount()).toBe(0);

    // Delete media takes the file (after its transaction); the message can be fetched again
    await bob2.api.deleteMedia({ conversationId: bConv });
    await waitFor(async () => (await mediaFileIds(bob2.db)).length === 0 || undefined, "the file removed");
    expect((await bob2.db.transfers.get(id))?.state).toBe("remote");
    await stopAll(alice, bob2);
  });

  it("a kept piece that no longer matches the digest fails the download at its end, and nothing of it stays", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const { id } = await sent(alice, bob, aConv, 2 * DOWNLOAD_PIECE_BYTES + 10);
    const net = stallBlobDownloads(1.5 * DOWNLOAD_PIECE_BYTES);
    onTestFinished(net.restore);
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    await waitFor(async () => statSync(fileOf(bob.db, id), { throwIfNoEntry: false })?.size === DOWNLOAD_PIECE_BYTES || undefined, "one piece in the file");
    await bob.engine.stop();
    // the device's own file changed under it (a disk error): replayed into the digest, it no longer matches
    const kept = readFileSync(fileOf(bob.db, id));
    kept[10] ^= 1;
    writeFileSync(fileOf(bob.db, id), kept);
    net.release();
    const bob2 = boot(bob.db);
    const t = await waitFor(async () => {
      const row = await bob2.db.transfers.get(id);
      return row?.state === "tampered" ? row : undefined;
    }, "refused");
    expect(t.error).toBe(TAMPERED_TEXT);
    expect(await bob2.db.media.get(id)).toBeUndefined();
    await waitFor(async () => (await mediaFileIds(bob2.db)).length === 0 || undefined, "its file removed");
    await stopAll(alice, bob2);
  });

  it("a blob altered on the relay is refused with no file kept; a message deleted during its download takes its file once the download stops", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const altered = await sent(alice, bob, aConv, 2_500_000, "altered.bin");
    const keys = await waitFor(async () => ((await alice.db.transfers.get(altered.id))?.state === "uploaded" ? alice.db.attachmentKeys.get(altered.id) : undefined), "uploaded");
    const path = join(relay.dataDir, "blobs", keys.blobId!);
    const stored = readFileSync(path);
    stored[stored.length - 100] ^= 1;
    writeFileSync(path, stored);
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: altered.id });
    await waitFor(async () => (await bob.db.transfers.get(altered.id))?.state === "tampered" || undefined, "refused as tampered");
    await waitFor(async () => (await mediaFileIds(bob.db)).length === 0 || undefined, "the refused file removed");

    const { id } = await sent(alice, bob, aConv, 3 * DOWNLOAD_PIECE_BYTES, "deleted.bin");
    const net = stallBlobDownloads(1.5 * DOWNLOAD_PIECE_BYTES);
    onTestFinished(net.restore);
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    await waitFor(async () => statSync(fileOf(bob.db, id), { throwIfNoEntry: false })?.size === DOWNLOAD_PIECE_BYTES || undefined, "one piece in the file");
    // the file is open while its rows go, so it stays; the download finds its transfer gone at its next
    // piece, stops, and removes it
    await bob.api.deleteMessage({ conversationId: bConv, messageId: id, forEveryone: false });
    expect(await mediaFileIds(bob.db)).toEqual([id]);
    net.release();
    await waitFor(async () => (await mediaFileIds(bob.db)).length === 0 || undefined, "the deleted message's file removed");
    expect(files.openCount()).toBe(0);
    await stopAll(alice, bob);
  });

  it("a device whose storage refuses the file: a clear error and nothing kept, and Download tries again", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const { id, hash } = await sent(alice, bob, aConv, 2 * DOWNLOAD_PIECE_BYTES + 5);
    // the disk fills up after the first piece: the second piece's write is refused
    let room = DOWNLOAD_PIECE_BYTES;
    setMediaFileSystem({
      ...files,
      async open(dir, name) {
        const file = (await files.open(dir, name))!;
        return {
          ...file,
          write(bytes, at) {
            if (bytes.length > room) throw new DOMException("no room", "QuotaExceededError");
            room -= bytes.length;
            return file.write(bytes, at);
          },
        };
      },
    });
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    const failed = await waitFor(async () => {
      const t = await bob.db.transfers.get(id);
      return t?.state === "failed" ? t : undefined;
    }, "failed");
    expect(failed.error).toBe("There is no room on this device for this file.");
    expect(await bob.db.media.get(id)).toBeUndefined();
    await waitFor(async () => (await mediaFileIds(bob.db)).length === 0 || undefined, "what was written removed");
    expect(files.openCount()).toBe(0);

    // a storage that cannot open the file at all: the same kind of error, not a download that waits forever
    setMediaFileSystem({
      ...files,
      async open() {
        throw new DOMException("broken", "InvalidStateError");
      },
    });
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    await waitFor(async () => ((await bob.db.transfers.get(id))?.error === "This device could not store this file." ? true : undefined), "refused again");
    expect((await bob.db.transfers.get(id))?.state).toBe("failed");

    // room again: Download brings it, whole
    setMediaFileSystem(files);
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    const media = await waitFor(() => bob.db.media.get(id), "downloaded");
    expect(await sha((await mediaBlob(bob.db, media))!)).toBe(hash);
    await stopAll(alice, bob);
  });

  it("a file another thread still holds open: the download waits and goes on by itself once it is let go", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const { id, hash } = await sent(alice, bob, aConv, 300_000);
    // a worker a reload ended (or a tab that lost the lead) has not let go of the file yet
    const held = (await files.open(`media-${bob.db.name}`, id))!;
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    await new Promise((r) => setTimeout(r, 300));
    expect(await bob.db.media.get(id)).toBeUndefined();
    expect((await bob.db.transfers.get(id))?.state).not.toBe("failed");
    // let go: nothing else happens (no message, no login), and the download comes
    held.close();
    const media = await waitFor(() => bob.db.media.get(id), "downloaded once the file was let go", 5_000);
    expect(await sha((await mediaBlob(bob.db, media))!)).toBe(hash);
    await stopAll(alice, bob);
  });

  it("the sweep removes the files no row names and keeps those of downloads to resume; log out removes them all", async () => {
    const { alice, bob, aConv, bConv } = await aliceAndBob(boot);
    const { id, hash } = await sent(alice, bob, aConv, 200_000);
    await bob.api.downloadAttachment({ conversationId: bConv, messageId: id });
    await waitFor(() => bob.db.media.get(id), "downloaded");
    const waiting = await sent(alice, bob, aConv, 300_000, "waiting.bin");
    await bob.engine.stop();
    // a file no row names (a removal that could not run), and the start of a download that waits to resume
    writeFileSync(fileOf(bob.db, "AAAAAAAAAAAAAAAAAAAAAA"), randomBytes(5000));
    writeFileSync(fileOf(bob.db, waiting.id), Buffer.alloc(0));
    expect(await sweepMediaFiles(bob.db)).toBe(1);
    expect((await mediaFileIds(bob.db)).sort()).toEqual([id, waiting.id].sort());
    // the engine sweeps at start, before its first download
    writeFileSync(fileOf(bob.db, "BBBBBBBBBBBBBBBBBBBBBB"), randomBytes(5000));
    const bob2 = boot(bob.db);
    await waitFor(async () => !(await mediaFileIds(bob2.db)).includes("BBBBBBBBBBBBBBBBBBBBBB") || undefined, "swept at start");
    expect(await sha((await mediaBlob(bob2.db, (await bob2.db.media.get(id))!))!)).toBe(hash);
    // a message deleted takes its file, once the deletion commits
    await bob2.api.deleteMessage({ conversationId: bConv, messageId: id, forEveryone: false });
    await waitFor(async () => !(await mediaFileIds(bob2.db)).includes(id) || undefined, "the deleted message's file removed");
    expect(await mediaFileIds(bob2.db)).toEqual([waiting.id]);
    // Delete media takes what a download left halfway too (its transfer waits, "remote", with no media row)
    await bob2.api.deleteMedia({ conversationId: bConv });
    expect(await mediaFileIds(bob2.db)).toEqual([]);
    expect((await bob2.db.transfers.get(waiting.id))?.state).toBe("remote");
    writeFileSync(fileOf(bob.db, waiting.id), randomBytes(100));

    await bob2.api.logOut({});
    expect(await mediaFileIds(bob2.db)).toEqual([]);
    await stopAll(alice);
  });
});
