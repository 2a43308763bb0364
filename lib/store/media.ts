// Attachments on this device: their transfers, decrypted media and keys (lib/store/db.ts, version 6).
// Every function that runs inside a caller's transaction needs mediaTables(db) in its scope.
import Dexie from "dexie";
import type { AttachmentInfo, JunctionDB, MediaRow, TransferRow } from "./db";
import { mediaFile, removeMediaFiles } from "./mediaFiles";

/** Images and voice notes up to this size are fetched as soon as their message arrives; anything else on request. */
export const AUTO_DOWNLOAD_BYTES = 5 * 1024 * 1024;

/** The tables an attachment's removal touches. */
export function mediaTables(db: JunctionDB) {
  return [db.transfers, db.media, db.mediaChunks, db.attachmentKeys];
}

/** The key range of one message's pieces in mediaChunks. */
function piecesOf(db: JunctionDB, messageId: string) {
  return db.mediaChunks.where("[messageId+index]").between([messageId, Dexie.minKey], [messageId, Dexie.maxKey]);
}

/** Deletes the stored pieces of these messages' downloads, finished or not (inside the caller's transaction). */
export async function deletePieces(db: JunctionDB, ids: string[]): Promise<void> {
  for (const id of ids) await piecesOf(db, id).delete();
}

/** How many pieces of a download are stored (they are written in order, from 0). */
export async function countPieces(db: JunctionDB, messageId: string): Promise<number> {
  return piecesOf(db, messageId).count();
}

/** The bytes of stored piece `index`. */
export async function readPiece(db: JunctionDB, messageId: string, index: number): Promise<Uint8Array> {
  const row = await db.mediaChunks.get([messageId, index]);
  if (!row) throw new Error("a kept piece is missing");
  return new Uint8Array(await row.data.arrayBuffer());
}

/** The pieces stored under `messageId`, joined in order (a download this device is about to read whole). */
export async function joinedPieces(db: JunctionDB, messageId: string): Promise<Blob> {
  return new Blob((await piecesOf(db, messageId).toArray()).map((p) => p.data));
}

/**
 * The media's bytes as one Blob: its own, its file, or its pieces joined (in a browser the Blob refers to
 * what is on disk, so a large file is not read into memory). Null when the file or a piece is missing.
 */
export async function mediaBlob(db: JunctionDB, row: MediaRow): Promise<Blob | null> {
  if (row.blob) return row.blob;
  if (row.file) {
    const file = await mediaFile(db, row.messageId);
    if (!file || file.size !== row.size) return null;
    return row.mime ? new Blob([file], { type: row.mime }) : file;
  }
  const pieces = await piecesOf(db, row.messageId).toArray();
  if (pieces.length !== row.pieces) return null;
  return new Blob(
    pieces.map((p) => p.data),
    row.mime ? { type: row.mime } : {},
  );
}

/** Removes everything this device holds of these messages' attachments (inside the caller's transaction). */
export async function forgetMedia(db: JunctionDB, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.media.bulkDelete(ids);
  await deletePieces(db, ids);
  await db.transfers.bulkDelete(ids);
  await db.attachmentKeys.bulkDelete(ids);
}

/** Whether an incoming attachment is fetched without being asked: images and voice notes up to AUTO_DOWNLOAD_BYTES. */
export function downloadsByItself(info: Pick<AttachmentInfo, "mime" | "size" | "durationMs">): boolean {
  return (info.mime.startsWith("image/") || info.durationMs !== undefined) && info.size <= AUTO_DOWNLOAD_BYTES;
}

/** The transfer row of an attachment that just arrived. */
export function incomingTransfer(messageId: string, conversationId: string, info: AttachmentInfo, total: number): TransferRow {
  return { messageId, conversationId, direction: "in", state: downloadsByItself(info) ? "queued" : "remote", done: 0, total };
}

/** Bytes of decrypted media per conversation (Settings → Storage). */
export async function mediaUsage(db: JunctionDB): Promise<Map<string, { bytes: number; count: number }>> {
  const usage = new Map<string, { bytes: number; count: number }>();
  await db.media.each((m) => {
    const u = usage.get(m.conversationId) ?? { bytes: 0, count: 0 };
    u.bytes += m.size;
    u.count += 1;
    usage.set(m.conversationId, u);
  });
  return usage;
}

/**
 * Deletes decrypted media (of one conversation, or all). The attachments stay: their transfers go back
 * to "remote", so they can be fetched again from the relay while it keeps them.
 */
export async function deleteMedia(db: JunctionDB, conversationId?: string): Promise<number> {
  const { deleted, halfway } = await db.transaction("rw", [db.media, db.mediaChunks, db.transfers], async () => {
    const rows = conversationId === undefined ? await db.media.toArray() : await db.media.where("conversationId").equals(conversationId).toArray();
    const ids = rows.map((m) => m.messageId);
    await db.media.bulkDelete(ids);
    // pieces of downloads left halfway (cancelled, failed) go too; those under way are left alone
    const all = conversationId === undefined ? await db.transfers.toArray() : await db.transfers.where("conversationId").equals(conversationId).toArray();
    const idle = all.filter((t) => t.direction === "in" && t.state !== "queued" && t.state !== "downloading").map((t) => t.messageId);
    await deletePieces(db, [...new Set([...ids, ...idle])]);
    const transfers = (await db.transfers.bulkGet(ids)).filter((t): t is TransferRow => t !== undefined && t.state === "ready");
    if (transfers.length) await db.transfers.bulkPut(transfers.map((t) => ({ ...t, state: "remote" as const, done: 0 })));
    const shown = new Set(ids);
    return { deleted: ids.length, halfway: idle.filter((id) => !shown.has(id)) };
  });
  // the media rows' files go with them (db.ts); what downloads left halfway kept in files goes here
  await removeMediaFiles(db, halfway);
  return deleted;
}
