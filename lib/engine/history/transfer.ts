// Moving the history archive (./archive.ts) from the primary to a newly linked device (runtime: the worker,
// Node in tests). The archive is encrypted and uploaded exactly as an attachment is (../attachments/transfer:
// a fresh key, 64 KiB chunks, key commitment, digest, resumable pieces), and its pointer (blob id, key,
// digest, commitment, size) goes to the new device sealed over the link's provisioning channel. The new
// device downloads it (range requests resume a dropped connection), and nothing is imported before the
// whole ciphertext authenticated and its digest matched. Progress goes to the meta table for both screens.
import { EVENTS, fromB64, request, toB64, type Address } from "../deps";
import type { EngineContext } from "../context";
import { downloadAttachment, uploadAttachment, type AttachmentPointer } from "../attachments/transfer";
import { setHistoryProgress, type HistoryProgress } from "../../store/history";
import { HistoryOffer } from "./offer";
import { buildArchive, importArchive, parseArchive, verifyGroups, type ImportCounts } from "./archive";

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

/** Builds the archive of `accounts`, uploads it under `from`, and returns the offer that points at it. */
export async function uploadHistory(
  ctx: EngineContext,
  blobs: BlobAccess,
  from: Address,
  accounts: readonly Address[],
  onProgress?: (done: number, total: number, messages: number) => void,
  signal?: AbortSignal,
): Promise<Pointed> {
  const { bytes, messages } = await buildArchive(ctx.db, accounts, ctx.now());
  const pointer = await uploadAttachment({
    file: new Blob([bytes as Uint8Array<ArrayBuffer>]),
    grant: (req) => request(ctx.socket(), EVENTS.blobUpload, { from, ...req }),
    baseUrl: blobs.baseUrl,
    fetch: blobs.fetch,
    onProgress: (p) => onProgress?.(p.done, p.total, messages),
    signal,
  });
  return { t: "history", blobId: pointer.blobId, key: toB64(pointer.key), digest: toB64(pointer.digest), commitment: toB64(pointer.commitment), size: pointer.size, messages };
}

/** Downloads the archive an offer points at and imports it once all of it checked out. */
export async function downloadHistory(
  ctx: EngineContext,
  blobs: BlobAccess,
  offer: Pointed,
  accounts: readonly Address[],
  onProgress?: (phase: "downloading" | "importing", done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<ImportCounts> {
  const pointer: AttachmentPointer = { blobId: offer.blobId, key: fromB64(offer.key), digest: fromB64(offer.digest), commitment: fromB64(offer.commitment), size: offer.size };
  // resolves only after the last chunk and the digest of the whole ciphertext: a tampered archive throws here
  const blob = await downloadAttachment({ pointer, baseUrl: blobs.baseUrl, fetch: blobs.fetch, signal, onProgress: (p) => onProgress?.("downloading", p.done, p.total) });
  const archive = parseArchive(new Uint8Array(await blob.arrayBuffer()), accounts);
  // groups are replayed from their signed chains before anything is stored
  const groups = await verifyGroups(ctx, archive);
  return importArchive(ctx.db, archive, ctx.now(), (done, total) => onProgress?.("importing", done, total), signal, groups);
}

/**
 * The primary, once the new device is linked: sends the history (progress under HISTORY_KEY) or, when the
 * person chose not to, says none comes. `send` seals an offer to the new device.
 */
export async function offerHistory(
  ctx: EngineContext,
  blobs: BlobAccess,
  link: { from: Address; accounts: readonly Address[]; peer: string; wanted: boolean },
  send: (offer: HistoryOffer) => Promise<void>,
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
    const offer = await uploadHistory(ctx, blobs, link.from, link.accounts, (done, total, count) => {
      messages = count;
      progress(done, total);
    });
    await send(offer);
    await setHistoryProgress(ctx.db, { ...base, state: "done", done: 1, total: 1, messages });
  } catch (error) {
    await setHistoryProgress(ctx.db, { ...base, state: "failed" });
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
  await setHistoryProgress(db, { ...base, state: "done", done: counts.messages, total: counts.messages, messages: counts.messages });
  return counts;
}
