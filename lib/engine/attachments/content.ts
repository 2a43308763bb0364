// Between the attachment content on the wire (kinds/attachment.ts) and the rows that keep it here.
import { fromB64, toB64 } from "../deps";
import type { AttachmentInfo, AttachmentKeyRow, MessageRow } from "../../store/db";
import type { AttachmentContent } from "../content/kinds/attachment";
import { ciphertextSize, paddedSize, type AttachmentPointer } from "./transfer";

/** The ciphertext length of a file of `size` bytes (what the relay holds and the progress bar counts). */
export function blobBytes(size: number): number {
  return ciphertextSize(paddedSize(size));
}

/** What the message row shows of an attachment. */
export function attachmentInfo(c: AttachmentContent): AttachmentInfo {
  return {
    name: c.name,
    mime: c.mime,
    size: c.size,
    ...(c.width !== undefined && c.height !== undefined ? { width: c.width, height: c.height } : {}),
    ...(c.thumb !== undefined ? { thumb: fromB64(c.thumb) } : {}),
    ...(c.voice ? { durationMs: c.voice.durationMs, waveform: c.voice.waveform } : {}),
  };
}

export function attachmentKeyRow(c: AttachmentContent): AttachmentKeyRow {
  return { messageId: c.id, key: fromB64(c.key), blobId: c.blobId, digest: fromB64(c.digest), commitment: fromB64(c.commitment) };
}

/** The pointer to download an attachment with, once its key row is complete. */
export function pointerOf(keys: AttachmentKeyRow, size: number): AttachmentPointer | undefined {
  if (!keys.blobId || !keys.digest || !keys.commitment) return undefined;
  return { blobId: keys.blobId, key: keys.key, digest: keys.digest, commitment: keys.commitment, size };
}

/** The attachment fields of my message's content (its durable fields are the caller's). */
export function attachmentFields(msg: MessageRow, keys: AttachmentKeyRow): Omit<AttachmentContent, "v" | "id" | "sentAt" | "type"> | undefined {
  const a = msg.attachment;
  if (!a || !keys.blobId || !keys.digest || !keys.commitment) return undefined;
  return {
    blobId: keys.blobId,
    key: toB64(keys.key),
    digest: toB64(keys.digest),
    commitment: toB64(keys.commitment),
    size: a.size,
    mime: a.mime,
    name: a.name,
    ...(a.width !== undefined && a.height !== undefined ? { width: a.width, height: a.height } : {}),
    ...(a.thumb ? { thumb: toB64(a.thumb) } : {}),
    ...(msg.text ? { caption: msg.text } : {}),
    ...(a.durationMs !== undefined ? { voice: { durationMs: a.durationMs, waveform: a.waveform ?? [] } } : {}),
  };
}
