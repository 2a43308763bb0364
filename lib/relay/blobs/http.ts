// The blob endpoints: `/blobs/<id>`.
// - `PATCH` with `Authorization: Bearer <token>` and `Upload-Offset: <n>` appends the body at n (which
//   must be where the stored bytes end: 409 with the right `Upload-Offset` otherwise). A piece that comes
//   early (n past the end, a client with two pieces on the wire) waits, unread, up to EARLY_PIECE_WAIT_MS
//   for the stored bytes to reach n, one such piece per blob at a time; then it goes on, or gets the 409. The body streams
//   into storage as it arrives; a broken request keeps what was stored, and `HEAD` with the token says
//   where to resume (`Upload-Offset`, `Upload-Length`).
// - `GET` (and `HEAD` without a token) serves a complete blob to whoever knows its id, with single
//   byte ranges (`Range: bytes=a-b`, `bytes=a-`, `bytes=-n`), so an interrupted download resumes.
// Everything served is ciphertext; the response says nothing about what it is.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { tokenHash } from "../socket/blobHandlers";
import type { Logger } from "../log";
import type { BlobMeta, BlobStore } from "./types";

export const BLOBS_PATH = "/blobs/";
const ID = /^[A-Za-z0-9_-]{43}$/;
/** How long a PATCH that came before the piece ahead of it waits for that piece to be stored. */
export const EARLY_PIECE_WAIT_MS = 30_000;
/** How often a waiting PATCH looks again (a piece stored by another relay node wakes no one here). */
const EARLY_PIECE_POLL_MS = 50;
/** Blobs with a PATCH waiting for the piece ahead of it, and how to wake it when a piece here is stored. */
const early = new Map<string, () => void>();
/** Blobs a PATCH of this process is appending to (its bytes may already count while it finishes). */
const appending = new Set<string>();

export interface BlobHttpContext {
  blobs: BlobStore;
  now: () => number;
  log: Logger;
  /** Tracks work that shutdown must wait for (an upload being written). */
  track: <T>(work: Promise<T>) => Promise<T>;
}

function end(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("Cache-Control", "no-store");
  res.end();
}

function bearer(req: IncomingMessage): string | null {
  const value = req.headers.authorization;
  const match = value ? /^Bearer ([A-Za-z0-9_-]{43})$/.exec(value) : null;
  return match?.[1] ?? null;
}

function tokenValid(meta: BlobMeta, token: string, now: number): boolean {
  if (meta.tokenHash === null || now > meta.tokenExpiresAt) return false;
  const given = Buffer.from(tokenHash(token));
  const kept = Buffer.from(meta.tokenHash);
  return given.length === kept.length && timingSafeEqual(given, kept);
}

/** One byte range of a `size`-byte blob, or "unsatisfiable", or null for the whole of it. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | "unsatisfiable" | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // several ranges, or another unit: serving the whole is allowed (RFC 9110 §14.2)
  if (!match || (match[1] === "" && match[2] === "")) return null;
  let start: number;
  let last: number;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    last = size - 1;
  } else {
    start = Number(match[1]);
    last = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || start >= size || last < start) return "unsatisfiable";
  return { start, end: last };
}

/** Serves a request under BLOBS_PATH; returns false for any other path. */
export function handleBlobRequest(req: IncomingMessage, res: ServerResponse, ctx: BlobHttpContext): boolean {
  const url = req.url ?? "";
  if (!url.startsWith(BLOBS_PATH)) return false;
  const id = url.slice(BLOBS_PATH.length).split("?")[0] ?? "";
  if (!ID.test(id)) {
    end(res, 404);
    return true;
  }
  const work = serve(req, res, id, ctx).catch((err: unknown) => {
    ctx.log.warn("blob request failed", { err: err instanceof Error ? err.message : String(err) });
    if (!res.headersSent) end(res, 500);
    else res.destroy();
  });
  void ctx.track(work);
  return true;
}

async function serve(req: IncomingMessage, res: ServerResponse, id: string, ctx: BlobHttpContext): Promise<void> {
  const method = req.method ?? "GET";
  const token = bearer(req);
  if (method === "PATCH") return upload(req, res, id, token, ctx);
  if (method === "HEAD" && token !== null) {
    const meta = await ctx.blobs.get(id);
    if (!meta) return end(res, 404);
    if (!tokenValid(meta, token, ctx.now())) return end(res, 401);
    return end(res, 200, { "Upload-Offset": meta.received, "Upload-Length": meta.size });
  }
  if (method !== "GET" && method !== "HEAD") return end(res, 405, { Allow: "GET, HEAD, PATCH" });
  const meta = await ctx.blobs.get(id);
  if (!meta || meta.received !== meta.size || meta.expiresAt <= ctx.now()) return end(res, 404);
  const range = parseRange(req.headers.range, meta.size);
  if (range === "unsatisfiable") return end(res, 416, { "Content-Range": `bytes */${meta.size}` });
  const { start, end: last } = range ?? { start: 0, end: meta.size - 1 };
  res.statusCode = range ? 206 : 200;
  res.setHeader("Content-Type", "application/octet-stream");
  res.setHeader("Content-Length", last - start + 1);
  res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("Cache-Control", "no-store");
  if (range) res.setHeader("Content-Range", `bytes ${start}-${last}/${meta.size}`);
  if (method === "HEAD") {
    res.end();
    return;
  }
  await pipeline(Readable.from(ctx.blobs.read(id, start, last)), res);
}

async function upload(req: IncomingMessage, res: ServerResponse, id: string, token: string | null, ctx: BlobHttpContext): Promise<void> {
  const refuse = (status: number, headers: Record<string, string | number> = {}) => {
    // the body is not read: close rather than keep a connection whose request is half unread
    res.setHeader("Connection", "close");
    end(res, status, headers);
  };
  if (token === null) return refuse(401);
  const offsetHeader = req.headers["upload-offset"];
  const offset = typeof offsetHeader === "string" && /^\d{1,12}$/.test(offsetHeader) ? Number(offsetHeader) : NaN;
  if (!Number.isSafeInteger(offset)) return refuse(400);
  const meta = await ctx.blobs.get(id);
  if (!meta) return refuse(404);
  if (!tokenValid(meta, token, ctx.now())) return refuse(401);
  const length = req.headers["content-length"];
  if (length !== undefined && Number(length) > meta.size - offset) return refuse(413, { "Upload-Offset": meta.received });
  const ahead = offset > meta.received || (offset === meta.received && appending.has(id));
  const now = ahead && offset <= meta.size ? await pieceAhead(req, id, offset, ctx) : meta;
  if (now === "gone") return;
  if (!now) return refuse(404);
  if (offset !== now.received) return refuse(409, { "Upload-Offset": now.received });
  let outcome;
  appending.add(id);
  try {
    outcome = await ctx.blobs.append(id, offset, req);
  } catch {
    // the client went away mid-body: what arrived is kept, HEAD tells where to resume
    if (!res.headersSent) refuse(400);
    return;
  } finally {
    appending.delete(id);
    early.get(id)?.();
  }
  if (outcome.ok) return end(res, 204, { "Upload-Offset": outcome.received, "Upload-Length": meta.size });
  if (outcome.reason === "not_found") return refuse(404);
  if (outcome.reason === "too_large") return refuse(413, { "Upload-Offset": outcome.received });
  return refuse(409, { "Upload-Offset": outcome.received });
}

/**
 * Waits (one PATCH per blob at a time) for the stored bytes of blob `id` to reach `offset`: the blob as it
 * is then (its bytes end at `offset` once the piece ahead is stored), null if it is no more, "gone" if the
 * client went away meanwhile.
 */
async function pieceAhead(req: IncomingMessage, id: string, offset: number, ctx: BlobHttpContext): Promise<BlobMeta | null | "gone"> {
  let meta = await ctx.blobs.get(id);
  if (early.has(id)) return meta;
  const until = Date.now() + EARLY_PIECE_WAIT_MS;
  let wake = () => {};
  early.set(id, () => wake());
  try {
    while (meta && (meta.received < offset || appending.has(id)) && Date.now() < until) {
      if (req.destroyed) return "gone";
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, EARLY_PIECE_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      meta = await ctx.blobs.get(id);
    }
    return meta;
  } finally {
    early.delete(id);
  }
}
