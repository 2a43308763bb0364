// Attachments on this device: their transfers, decrypted media and keys (lib/store/db.ts, version 6).
// Every function that runs inside a caller's transaction needs mediaTables(db) in its scope.
import type { AttachmentInfo, JunctionDB, TransferRow } from "./db";

/** Images and voice notes up to this size are fetched as soon as their message arrives; anything else on request. */
export const AUTO_DOWNLOAD_BYTES = 5 * 1024 * 1024;

/** The tables an attachment's removal touches. */
export function mediaTables(db: JunctionDB) {
  return [db.transfers, db.media, db.attachmentKeys];
}

/** Removes everything this device holds of these messages' attachments (inside the caller's transaction). */
export async function forgetMedia(db: JunctionDB, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.media.bulkDelete(ids);
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
  return db.transaction("rw", [db.media, db.transfers], async () => {
    const rows = conversationId === undefined ? await db.media.toArray() : await db.media.where("conversationId").equals(conversationId).toArray();
    const ids = rows.map((m) => m.messageId);
    await db.media.bulkDelete(ids);
    const transfers = (await db.transfers.bulkGet(ids)).filter((t): t is TransferRow => t !== undefined && t.state === "ready");
    if (transfers.length) await db.transfers.bulkPut(transfers.map((t) => ({ ...t, state: "remote" as const, done: 0 })));
    return ids.length;
  });
}
