// The transfer runner (runtime: the worker; Node in tests): uploads my queued attachments and downloads
// the ones asked for (or small enough to come by themselves), one at a time in each direction, with
// progress written to the transfers table the UI reads. Everything it needs is in Dexie, so a reload,
// a crash or a new leader picks up where the last one stopped: an upload resumes with the same key and
// blob id from the offset the relay holds.
import { EVENTS, OfflineError, ProtocolError, request } from "../deps";
import type { AttachmentKeyRow, TransferRow } from "../../store/db";
import { advanceState } from "../../store/conversations";
import type { EngineContext } from "../context";
import type { CipherIo } from "./cipherio";
import { DOWNLOAD_PIECE_BYTES, streamAttachment, TransferError, uploadAttachment, type PlainPiece, type TransferTimings, type UploadGrant } from "./transfer";
import { countPieces, deletePieces, mediaBlob, readPiece } from "../../store/media";
import { openMediaFile, removeMediaFiles, sweepMediaFiles, type SyncFile } from "../../store/mediaFiles";
import { pointerOf } from "./content";
import { EngineError } from "../../worker/rpc";

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface TransferOptions {
  /** The relay's origin for blob requests; "" for the page's own. */
  baseUrl: string;
  fetch?: Fetch;
  /** Where the ciphertext is hashed and made into request bodies (default: inline). */
  io?: CipherIo;
  /** An upload finished: its message can go out now. */
  onUploaded(): void;
  /** A download ended for good (here, failed, or refused): history media waiting on it may be reported done. */
  onDownloaded?(): void;
}

/** A download whose file another thread still holds open is tried again after this. */
const BUSY_FILE_RETRY_MS = 1_000;

/** Progress is written at most this often (each write wakes every live query on the transfers table). */
const PROGRESS_EVERY_MS = 250;

export const TAMPERED_TEXT = "This attachment was altered on the relay and was refused.";

class Loop {
  private running: Promise<void> | null = null;
  private again = false;
  constructor(private readonly step: () => Promise<"idle" | "stop">) {}

  kick(): void {
    this.again = true;
    if (this.running) return;
    const run = (async () => {
      while (this.again) {
        this.again = false;
        if ((await this.step()) === "stop") return;
      }
    })();
    this.running = run;
    void run.finally(() => {
      if (this.running === run) this.running = null;
    });
  }

  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }
}

export class TransferRunner {
  private readonly aborts = new Map<string, AbortController>();
  private readonly uploads: Loop;
  private readonly downloads: Loop;
  private stopped = false;
  private swept: Promise<void> | undefined;

  constructor(
    private readonly ctx: EngineContext,
    private readonly opts: TransferOptions,
  ) {
    this.uploads = new Loop(() => this.uploadAll());
    this.downloads = new Loop(() => this.downloadAll());
  }

  /** Looks for work: after login, after a send was queued, after a batch brought attachments. */
  kick(): void {
    if (this.stopped) return;
    this.uploads.kick();
    this.downloads.kick();
  }

  /** Stops a transfer in flight: an upload's message shows "Not sent" (Retry resumes), a download goes back to "Download". */
  cancel(messageId: string): boolean {
    const abort = this.aborts.get(messageId);
    abort?.abort();
    return abort !== undefined;
  }

  /** Asks for an attachment's bytes (a first download, a retry, or again after "Delete media"). */
  async request(conversationId: string, messageId: string): Promise<void> {
    const { db } = this.ctx;
    await db.transaction("rw", [db.transfers, db.media], async () => {
      const t = await db.transfers.get(messageId);
      if (!t || t.conversationId !== conversationId) throw new EngineError("not_found", "no such attachment in this conversation");
      if (t.state === "tampered") throw new EngineError("bad_request", TAMPERED_TEXT);
      if (t.state === "queued" || t.state === "downloading" || t.state === "uploading") return;
      if (t.state === "ready" && (await db.media.get(messageId))) return;
      // my own upload is on the relay too, and comes back like anyone's
      if (t.direction === "out" && t.state === "failed") throw new EngineError("bad_request", "this attachment was not sent");
      await db.transfers.put({ ...t, state: "queued", done: 0, error: undefined });
    });
    this.kick();
  }

  /** Cancels an attachment's transfer, in flight or waiting. */
  async cancelOne(conversationId: string, messageId: string): Promise<void> {
    const t = await this.ctx.db.transfers.get(messageId);
    if (!t || t.conversationId !== conversationId) throw new EngineError("not_found", "no such attachment in this conversation");
    if (this.cancel(messageId)) return;
    if (t.state === "queued") await this.ctx.db.transfers.update(messageId, { state: "remote" });
    else if (t.state === "uploading") await this.uploadFailed(t, "cancelled");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const a of this.aborts.values()) a.abort();
    await Promise.all([this.uploads.idle(), this.downloads.idle()]);
  }

  private async uploadAll(): Promise<"idle" | "stop"> {
    const rows = await this.ctx.db.transfers.where("state").equals("uploading").toArray();
    for (const t of rows) {
      if (this.stopped) return "stop";
      const outcome = await this.upload(t);
      if (outcome === "offline") return "stop";
    }
    return "idle";
  }

  private async downloadAll(): Promise<"idle" | "stop"> {
    // once per runner, before it opens a file: what a crash or a removal that could not run left behind
    this.swept ??= sweepMediaFiles(this.ctx.db).then(
      (removed) => void (removed && this.ctx.log.info("media files swept", { removed })),
      (error: unknown) => this.ctx.log.warn("media file sweep failed", { name: error instanceof Error ? error.name : "unknown" }),
    );
    await this.swept;
    // "downloading" without a transfer of mine in flight: one a reload or a crash cut off, resumed
    const rows = await this.ctx.db.transfers.where("state").anyOf("queued", "downloading").toArray();
    for (const t of rows) {
      if (this.stopped) return "stop";
      if (this.aborts.has(t.messageId)) continue;
      if ((await this.download(t)) === "offline") return "stop";
      this.opts.onDownloaded?.();
    }
    return "idle";
  }

  /**
   * Where a finished transfer's time went, added to the Diagnostics counters (`attachment_upload_wire_ms`,
   * …; a count, named …Pieces, as it is: `attachment_upload_sealedElsewherePieces`).
   */
  private timed(direction: "upload" | "download", timings: TransferTimings, bytes: number): void {
    const detail: Record<string, number> = { bytes };
    for (const [phase, value] of Object.entries(timings)) {
      const count = phase.endsWith("Pieces");
      this.ctx.counters.bump(`attachment_${direction}_${phase}${count ? "" : "_ms"}`, Math.round(value));
      detail[count ? phase : `${phase}Ms`] = Math.round(value);
    }
    this.ctx.log.info(`attachment ${direction}ed`, detail);
  }

  private progress(messageId: string) {
    let last = 0;
    return (p: { done: number; total: number }) => {
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS && p.done < p.total) return;
      last = now;
      void this.ctx.db.transfers.update(messageId, { done: p.done, total: p.total }).catch(() => undefined);
    };
  }

  private async upload(t: TransferRow): Promise<"done" | "failed" | "offline"> {
    const { db } = this.ctx;
    const id = t.messageId;
    const [keys, media, msg, conv] = await Promise.all([db.attachmentKeys.get(id), db.media.get(id), db.messages.get(id), db.conversations.get(t.conversationId)]);
    const file = media ? await mediaBlob(db, media) : null;
    if (!keys || !file || !msg || !conv) return this.uploadFailed(t, "its file is no longer here");
    const abort = new AbortController();
    this.aborts.set(id, abort);
    const state: AttachmentKeyRow = { ...keys };
    const timings: TransferTimings = {};
    const grant = async (req: { size: number } | { resume: string }): Promise<UploadGrant> => {
      const g = await request(this.ctx.socket(), EVENTS.blobUpload, { from: conv.ourAddress, ...req });
      if (state.blobId !== g.id) {
        // kept before a byte is sent: a reload resumes this blob instead of starting another
        state.blobId = g.id;
        await db.attachmentKeys.update(id, { blobId: g.id });
      }
      return g;
    };
    try {
      const run = (resume: string | undefined) =>
        uploadAttachment({ file, key: keys.key, resume, grant, baseUrl: this.opts.baseUrl, fetch: this.opts.fetch, onProgress: this.progress(id), signal: abort.signal, timings, io: this.opts.io });
      let pointer;
      try {
        pointer = await run(state.blobId);
      } catch (error) {
        // the blob to resume is gone (expired): a new one, from the start (one whole already is finished on, offset = size)
        if (!(state.blobId && error instanceof ProtocolError && error.code === "not_found")) throw error;
        pointer = await run(undefined);
      }
      const done = await db.transaction("rw", [db.attachmentKeys, db.transfers], async () => {
        if (!(await db.transfers.get(id))) return false;
        await db.attachmentKeys.update(id, { blobId: pointer.blobId, digest: pointer.digest, commitment: pointer.commitment });
        await db.transfers.update(id, { state: "uploaded", done: t.total, total: t.total });
        return true;
      });
      this.ctx.counters.bump("attachment_uploaded");
      this.timed("upload", timings, t.total);
      if (done) this.opts.onUploaded();
      return "done";
    } catch (error) {
      // the relay is out of reach (gone mid-upload, restarting): the upload stays queued and resumes from
      // the offset the relay holds at the next kick (after the next login)
      if (error instanceof OfflineError || (error instanceof TransferError && error.code === "network" && !abort.signal.aborted)) return "offline";
      if (abort.signal.aborted) return this.uploadFailed(t, this.stopped ? undefined : "cancelled");
      if (error instanceof ProtocolError) {
        if (error.code === "quota_exceeded") return this.uploadFailed(t, "the relay has no room for more of my attachments now");
        if (error.code === "too_large") return this.uploadFailed(t, "the file is too large");
        // the relay stopped answering on the socket: try again later
        if (error.code === "unavailable" || error.code === "rate_limited") return "offline";
      }
      this.ctx.log.warn("upload failed", { code: error instanceof TransferError ? error.code : error instanceof ProtocolError ? error.code : "unknown" });
      return this.uploadFailed(t, "the upload failed");
    } finally {
      this.aborts.delete(id);
    }
  }

  /** The message shows "Not sent" (its Retry queues it and resumes the upload). Without a reason: stopped, left to resume. */
  private async uploadFailed(t: TransferRow, reason: string | undefined): Promise<"failed"> {
    if (reason === undefined) return "failed";
    const { db } = this.ctx;
    await db.transaction("rw", [db.messages, db.conversations, db.outbox, db.transfers], async () => {
      if (!(await db.transfers.get(t.messageId))) return;
      await db.transfers.update(t.messageId, { state: "failed", error: reason });
      await db.outbox.where("messageId").equals(t.messageId).filter((row) => row.kind === "message" && !row.onlyDevice).delete();
      await advanceState(db, t.messageId, t.conversationId, "failed", this.ctx.now());
      await db.messages.update(t.messageId, { error: reason });
    });
    this.ctx.counters.bump("attachment_upload_failed");
    return "failed";
  }

  private async download(t: TransferRow): Promise<"done" | "offline"> {
    const { db } = this.ctx;
    const id = t.messageId;
    const [keys, msg] = await Promise.all([db.attachmentKeys.get(id), db.messages.get(id)]);
    const pointer = keys && msg?.attachment ? pointerOf(keys, msg.attachment.size) : undefined;
    if (!pointer || !msg?.attachment) {
      await db.transfers.update(id, { state: "failed", error: "this attachment cannot be fetched" });
      return "done";
    }
    // a file of its own where this worker can write one, else pieces in mediaChunks
    let file: SyncFile | null;
    try {
      file = await openMediaFile(db, id);
    } catch (error) {
      const name = error instanceof DOMException ? error.name : "unknown";
      this.ctx.log.warn("media file refused", { name });
      // open elsewhere (a tab that just lost the lead, or a worker a reload ended, not yet let go of it):
      // tried again shortly, by itself
      if (name === "NoModificationAllowedError") {
        setTimeout(() => this.kick(), BUSY_FILE_RETRY_MS);
        return "offline";
      }
      // the device's storage refused it (full, or broken): the message says so, and Download tries again
      await db.transfers.update(id, { state: "failed", error: storageText(error) });
      return "done";
    }
    const abort = new AbortController();
    this.aborts.set(id, abort);
    const store: PieceStore<unknown> = file ? fileStore(file, id, db) : chunkStore(db, id);
    const timings: TransferTimings = {};
    try {
      await db.transfers.update(id, { state: "downloading", error: undefined });
      const kept = await store.kept();
      try {
        await streamAttachment({
          pointer,
          baseUrl: this.opts.baseUrl,
          fetch: this.opts.fetch,
          onProgress: this.progress(id),
          signal: abort.signal,
          timings,
          io: this.opts.io,
          kept,
          piece: store.piece,
          // pieces are kept as they authenticate (those that came meanwhile together); nothing is shown
          // before the media row below
          sink: async (batch) => {
            // deleted (or expired) while it came: stop here
            if (!(await store.keep(batch))) abort.abort();
          },
        });
        file?.flush();
      } finally {
        file?.close();
      }
      const stored = await db.transaction("rw", [db.messages, db.media, db.mediaChunks, db.transfers], async () => {
        // deleted (or expired) while it came: nothing is kept
        if (!(await db.messages.get(id)) || !(await db.transfers.get(id))) {
          await deletePieces(db, [id]);
          return false;
        }
        const where = file ? { file: true as const } : { pieces: store.pieces };
        await db.media.put({ messageId: id, conversationId: msg.conversationId, ...where, mime: msg.attachment!.mime, size: msg.attachment!.size, storedAt: this.ctx.now() });
        // a download begun in pieces before files were kept is done in a file: its pieces go
        if (file) await deletePieces(db, [id]);
        await db.transfers.update(id, { state: "ready", done: t.total, error: undefined });
        return true;
      });
      if (!stored && file) await removeMediaFiles(db, [id]);
      this.ctx.counters.bump("attachment_downloaded");
      this.timed("download", timings, t.total);
      return "done";
    } catch (error) {
      // stopped (a closed tab, a lost leadership): left "downloading", the next runner resumes it
      if (this.stopped) return "offline";
      let change: Partial<TransferRow>;
      let outcome: "done" | "offline" = "done";
      if (abort.signal.aborted) change = { state: "remote", done: 0 };
      else if (error instanceof TransferError && error.code === "tampered") {
        this.ctx.counters.bump("attachment_tampered");
        change = { state: "tampered", error: TAMPERED_TEXT };
      } else if (error instanceof TransferError && error.code === "refused") change = { state: "failed", error: "This attachment is no longer on the relay." };
      else if (error instanceof TransferError && error.code === "network") {
        // the relay is out of reach: it waits (with what came kept) and resumes at the next kick
        change = { state: "queued", error: "Waiting for the relay…" };
        outcome = "offline";
      } else change = { state: "failed", error: error instanceof DOMException ? storageText(error) : "The download failed." };
      this.ctx.log.warn("download failed", { code: error instanceof TransferError ? error.code : "unknown" });
      // what a tampered or refused blob gave is dropped; an interrupted one's pieces are resumed from
      const drop = change.state === "tampered" || change.state === "failed";
      const still = await db
        .transaction("rw", [db.mediaChunks, db.transfers], async () => {
          if (drop) await deletePieces(db, [id]);
          if (!(await db.transfers.get(id))) return false;
          await db.transfers.update(id, change);
          return true;
        })
        .catch(() => true);
      // its file was open when its rows went (they could not take it): it goes now
      if (file && (drop || !still)) await removeMediaFiles(db, [id]);
      return outcome;
    } finally {
      // closed before the media row is written when all went well; here whatever failed before that
      file?.close();
      this.aborts.delete(id);
    }
  }
}

/** What a person reads when this device's storage refused a download's bytes. */
function storageText(error: unknown): string {
  return error instanceof DOMException && error.name === "QuotaExceededError" ? "There is no room on this device for this file." : "This device could not store this file.";
}

/** Where a download keeps its pieces of plaintext: what it resumes from, and how each piece is kept. */
interface PieceStore<D> {
  kept(): Promise<{ count: number; read(index: number): Promise<Uint8Array> }>;
  piece?(index: number, bytes: Uint8Array<ArrayBuffer>): D;
  /** Keeps a batch; false when the download's transfer is gone (deleted while it came). */
  keep(batch: PlainPiece<D>[]): Promise<boolean>;
  /** How many pieces are kept. */
  readonly pieces: number;
}

/** Pieces as mediaChunks rows (Blobs): written with a check of the transfer, in one transaction. */
function chunkStore(db: EngineContext["db"], id: string): PieceStore<Blob> {
  let pieces = 0;
  return {
    get pieces() {
      return pieces;
    },
    kept: async () => ({ count: await countPieces(db, id), read: (index) => readPiece(db, id, index) }),
    keep: async (batch) => {
      pieces = batch[batch.length - 1].index + 1;
      return db.transaction("rw", [db.mediaChunks, db.transfers], async () => {
        if (!(await db.transfers.get(id))) return false;
        await db.mediaChunks.bulkPut(batch.map((p) => ({ messageId: id, index: p.index, data: p.data })));
        return true;
      });
    },
  };
}

/**
 * Pieces written into the message's file where they belong, the moment each is whole (the worker writes
 * the file itself), then flushed before the transfer is checked: a resume counts the whole pieces the
 * file holds.
 */
function fileStore(file: SyncFile, id: string, db: EngineContext["db"]): PieceStore<number> {
  let pieces = 0;
  return {
    get pieces() {
      return pieces;
    },
    // a piece cut off by a crash is not counted, and is written over where it belongs
    kept: async () => {
      return {
        count: Math.floor(file.getSize() / DOWNLOAD_PIECE_BYTES),
        read: async (index) => {
          const bytes = new Uint8Array(DOWNLOAD_PIECE_BYTES);
          return bytes.subarray(0, file.read(bytes, { at: index * DOWNLOAD_PIECE_BYTES }));
        },
      };
    },
    piece: (index, bytes) => {
      if (file.write(bytes, { at: index * DOWNLOAD_PIECE_BYTES }) !== bytes.length) throw new Error("a piece was written short");
      return bytes.length;
    },
    keep: async (batch) => {
      file.flush();
      pieces = batch[batch.length - 1].index + 1;
      return (await db.transfers.get(id)) !== undefined;
    },
  };
}
