// Moving the history archive (./archive.ts) from the primary to a newly linked device (runtime: the worker,
// Node in tests). The archive is encrypted and uploaded exactly as an attachment is (../attachments/transfer:
// a fresh key, 64 KiB chunks, key commitment, digest, resumable pieces), and its pointer (blob id, key,
// digest, commitment, size) goes to the new device sealed over the link's provisioning channel. The new
// device downloads it (range requests resume a dropped connection, and after a reload go on from the pieces
// it kept), and nothing is imported before the whole ciphertext authenticated and its digest matched.
// Progress goes to the meta table for both screens.
// With "Include photos and files", each attachment whose bytes this device holds is uploaded first, the same
// way under a fresh key of its own, and the archive carries its pointer (./archive.ts, `media`); the new
// device's transfer runner downloads them after the import. The primary deletes them (and the archive) at
// the relay once the new device says it is done with them (`historyDone`, sent when its downloads settled).
import { EVENTS, fromB64, ProtocolError, request, toB64, type Address } from "../deps";
import type { EngineContext } from "../context";
import { ciphertextSize, paddedSize, streamAttachment, TransferError, uploadAttachment, type AttachmentPointer } from "../attachments/transfer";
import { attachmentKey } from "../attachments/keys";
import { blobBytes } from "../attachments/content";
import { countPieces, deletePieces, joinedPieces, mediaBlob, readPiece } from "../../store/media";
import { setHistoryProgress, type HistoryProgress } from "../../store/history";
import { BLOB_QUOTA_BYTES } from "../../protocol";
import { HistoryOffer } from "./offer";
import { collectArchive, encodeArchive, heldMedia, importArchive, parseArchive, verifyGroups, type ArchivedMedia, type ImportCounts } from "./archive";

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** Where blobs go and come from (the engine's own setting). */
export interface BlobAccess {
  baseUrl: string;
  fetch?: Fetch;
}

export { HistoryOffer };
export type Pointed = Extract<HistoryOffer, { t: "history" }>;

/** Progress is written at most this often (each write wakes the live queries on the meta table). */
const PROGRESS_EVERY_MS = 200;

function throttled(write: (done: number, total: number) => Promise<void>): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < PROGRESS_EVERY_MS) return;
    last = now;
    void write(done, total).catch(() => undefined);
  };
}

/** A blob uploaded with the history, and the account it went under (only that account's device may delete it). */
export interface MediaBlob {
  blobId: string;
  from: Address;
}

/** An archive uploaded: the offer that points at it, and the media blobs uploaded with it (deleted with it). */
export interface UploadedHistory {
  offer: Pointed;
  mediaBlobs: MediaBlob[];
  /** Photos and files sent along, and their bytes (the files' own sizes). */
  media: { count: number; bytes: number };
}

/**
 * The relay refused the photos and files: they do not fit in its per-device room (`quota`), or they are more
 * uploads than it takes from one device now (`too_many`). The person may send the history without them.
 */
export class MediaRefused extends Error {
  constructor(
    readonly reason: "quota" | "too_many",
    readonly bytes: number,
    options?: { cause?: unknown },
  ) {
    super(reason === "quota" ? "the photos and files do not fit on the relay" : "the relay takes no more uploads from this device now", options);
    this.name = "MediaRefused";
  }
}

/** A pointer's secrets as the archive carries them (base64url). */
function archived(messageId: string, p: AttachmentPointer): ArchivedMedia {
  return { messageId, blobId: p.blobId, key: toB64(p.key), digest: toB64(p.digest), commitment: toB64(p.commitment), size: p.size };
}

/**
 * Builds the archive of `accounts`, uploads it under `from` (with `media`: the photos and files this device
 * holds first, each a fresh upload), and returns the offer that points at it. Progress counts the ciphertext
 * bytes of all of it. A failure deletes at the relay the media blobs uploaded by then.
 */
export async function uploadHistory(
  ctx: EngineContext,
  blobs: BlobAccess,
  from: Address,
  accounts: readonly Address[],
  onProgress?: (done: number, total: number, messages: number) => void,
  signal?: AbortSignal,
  opts: { media?: boolean } = {},
): Promise<UploadedHistory> {
  const { db } = ctx;
  const archive = await collectArchive(db, accounts, ctx.now());
  const messages = archive.messages.length;
  const carried = new Set(archive.messages.map((m) => m.id));
  const held = opts.media ? (await heldMedia(db, accounts, ctx.now())).filter((h) => carried.has(h.messageId)) : [];
  const mediaTotal = held.reduce((n, h) => n + blobBytes(h.size), 0);
  const mediaBytes = held.reduce((n, h) => n + h.size, 0);
  // more than the relay's default quota cannot fit: said before a byte goes (a relay with a smaller one says quota_exceeded)
  if (mediaTotal > BLOB_QUOTA_BYTES) throw new MediaRefused("quota", mediaBytes);
  // the archive's size is known once the pointers are in it: until then, its size without them and ~260 bytes a pointer
  const archiveGuess = ciphertextSize(paddedSize(encodeArchive(archive).length + 260 * held.length));
  let total = mediaTotal + archiveGuess;
  let moved = 0;
  const grant = (as: Address) => (req: { size: number } | { resume: string }) => request(ctx.socket(), EVENTS.blobUpload, { from: as, ...req });
  const uploaded: MediaBlob[] = [];
  const pointers: ArchivedMedia[] = [];
  try {
    for (const h of held) {
      signal?.throwIfAborted();
      const row = await db.media.get(h.messageId);
      const file = row ? await mediaBlob(db, row) : null;
      // deleted here while the others went: left out
      if (!file || file.size !== h.size) {
        total -= blobBytes(h.size);
        continue;
      }
      const pointer = await uploadAttachment({
        file,
        key: attachmentKey(),
        grant: grant(h.our),
        baseUrl: blobs.baseUrl,
        fetch: blobs.fetch,
        onProgress: (p) => onProgress?.(moved + p.done, total, messages),
        signal,
      });
      uploaded.push({ blobId: pointer.blobId, from: h.our });
      pointers.push(archived(h.messageId, pointer));
      moved += blobBytes(h.size);
    }
    if (pointers.length > 0) archive.media = pointers;
    const bytes = encodeArchive(archive);
    total = moved + ciphertextSize(paddedSize(bytes.length));
    const pointer = await uploadAttachment({
      file: new Blob([bytes as Uint8Array<ArrayBuffer>]),
      grant: grant(from),
      baseUrl: blobs.baseUrl,
      fetch: blobs.fetch,
      onProgress: (p) => onProgress?.(moved + p.done, total, messages),
      signal,
    });
    const offer: Pointed = { t: "history", blobId: pointer.blobId, key: toB64(pointer.key), digest: toB64(pointer.digest), commitment: toB64(pointer.commitment), size: pointer.size, messages };
    return { offer, mediaBlobs: uploaded, media: { count: pointers.length, bytes: pointers.reduce((n, p) => n + p.size, 0) } };
  } catch (error) {
    // what went up for nothing does not hold the relay's room until it expires (best effort)
    for (const b of uploaded) await request(ctx.socket(), EVENTS.blobDelete, { from: b.from, id: b.blobId }).catch(() => undefined);
    if (held.length > 0 && error instanceof ProtocolError && error.code === "quota_exceeded") throw new MediaRefused("quota", mediaBytes, { cause: error });
    if (held.length > 0 && error instanceof ProtocolError && error.code === "rate_limited") throw new MediaRefused("too_many", mediaBytes, { cause: error });
    throw error;
  }
}

/**
 * Where a download of the archive `blobId` keeps its pieces of plaintext as they authenticate (mediaChunks,
 * under an id no message has), so a reload resumes it with a range request after the last whole piece. Never
 * shown: read only once the whole ciphertext checked out, and deleted once imported, refused or skipped.
 */
export function archivePiecesId(blobId: string): string {
  return `history:${blobId}`;
}

/** Deletes what a download of the archive `blobId` kept (skipped, or refused). */
export async function forgetArchivePieces(ctx: EngineContext, blobId: string): Promise<void> {
  const { db } = ctx;
  await db.transaction("rw", db.mediaChunks, () => deletePieces(db, [archivePiecesId(blobId)]));
}

/** Downloads the archive an offer points at (going on from what an interrupted download kept) and imports it once all of it checked out. */
export async function downloadHistory(
  ctx: EngineContext,
  blobs: BlobAccess,
  offer: Pointed,
  accounts: readonly Address[],
  onProgress?: (phase: "downloading" | "importing", done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<ImportCounts> {
  const { db } = ctx;
  const pointer: AttachmentPointer = { blobId: offer.blobId, key: fromB64(offer.key), digest: fromB64(offer.digest), commitment: fromB64(offer.commitment), size: offer.size };
  const id = archivePiecesId(offer.blobId);
  let archive;
  try {
    // resolves only after the last chunk and the digest of the whole ciphertext: a tampered archive throws here
    await streamAttachment({
      pointer,
      baseUrl: blobs.baseUrl,
      fetch: blobs.fetch,
      signal,
      onProgress: (p) => onProgress?.("downloading", p.done, p.total),
      kept: { count: await countPieces(db, id), read: (index) => readPiece(db, id, index) },
      sink: async (pieces) => void (await db.mediaChunks.bulkPut(pieces.map((p) => ({ messageId: id, index: p.index, data: p.data })))),
    });
    archive = parseArchive(new Uint8Array(await (await joinedPieces(db, id)).arrayBuffer()), accounts);
  } catch (error) {
    // an interrupted download keeps its pieces to go on from; what a refused or unreadable archive gave goes
    if (!(error instanceof TransferError && error.code === "network") && !signal?.aborted) await forgetArchivePieces(ctx, offer.blobId);
    throw error;
  }
  // groups are replayed from their signed chains before anything is stored
  const groups = await verifyGroups(ctx, archive);
  const counts = await importArchive(db, archive, ctx.now(), (done, total) => onProgress?.("importing", done, total), signal, groups);
  await forgetArchivePieces(ctx, offer.blobId);
  return counts;
}

/**
 * The primary, once the new device is linked: sends the history (progress under HISTORY_KEY, over the media
 * and the archive together) or, when the person chose not to, says none comes. `send` seals an offer to the
 * new device and keeps the blobs to delete once it is done with them.
 */
export async function offerHistory(
  ctx: EngineContext,
  blobs: BlobAccess,
  link: { from: Address; accounts: readonly Address[]; peer: string; wanted: boolean; media?: boolean },
  send: (offer: HistoryOffer, mediaBlobs?: MediaBlob[]) => Promise<void>,
): Promise<void> {
  if (!link.wanted) {
    await send({ t: "nohistory" });
    return;
  }
  const base: HistoryProgress = { direction: "out", state: "building", done: 0, total: 0, peer: link.peer };
  await setHistoryProgress(ctx.db, base);
  try {
    const progress = throttled((done, total) => setHistoryProgress(ctx.db, { ...base, state: "uploading", done, total }));
    let messages = 0;
    const uploaded = await uploadHistory(
      ctx,
      blobs,
      link.from,
      link.accounts,
      (done, total, count) => {
        messages = count;
        progress(done, total);
      },
      undefined,
      { media: link.media },
    );
    await send(uploaded.offer, uploaded.mediaBlobs);
    await setHistoryProgress(ctx.db, { ...base, state: "done", done: 1, total: 1, messages, ...(link.media ? { media: uploaded.media } : {}) });
  } catch (error) {
    // the person hears why when it is the photos and files (the new device may ask again: that sends it without them)
    await setHistoryProgress(ctx.db, { ...base, state: "failed", ...(error instanceof MediaRefused ? { reason: error.reason, media: { count: 0, bytes: error.bytes } } : {}) });
    // the new device stops waiting for it, and may ask again
    await send({ t: "nohistory", failed: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * The new device: downloads and imports what the primary's kept offer points at, with progress. Skipping
 * (the signal) stops it at the next piece; what was imported by then stays (each batch is whole). Throws
 * what failed (the caller decides whether it may go on later).
 */
export async function receiveOffer(ctx: EngineContext, blobs: BlobAccess, offer: Pointed, accounts: readonly Address[], signal: AbortSignal): Promise<ImportCounts> {
  const { db } = ctx;
  const base: HistoryProgress = { direction: "in", state: "downloading", done: 0, total: 0, messages: offer.messages };
  await setHistoryProgress(db, base);
  let phase: HistoryProgress["state"] = "downloading";
  const write = throttled((done, total) => setHistoryProgress(db, { ...base, state: phase, done, total }));
  const counts = await downloadHistory(ctx, blobs, offer, accounts, (p, done, total) => {
    phase = p;
    write(done, total);
  }, signal);
  await setHistoryProgress(db, { ...base, state: "done", done: counts.messages, total: counts.messages, messages: counts.messages, ...(counts.media.length > 0 ? { media: { count: counts.media.length, bytes: 0 } } : {}) });
  return counts;
}
