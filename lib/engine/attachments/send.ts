// Queuing attachments (runtime: any worker; the leader's transfer runner uploads them). Each file is its
// own message, stored at once with its file, its new key and an "uploading" transfer, so it shows (and
// survives a reload) before a byte has gone; the caption goes with the first.
import type { JunctionDB } from "../../store/db";
import { StoreError } from "../../store/conversations";
import { MAX_TEXT_CHARS, queueText } from "../../store/outbox";
import { attachmentKey } from "./keys";
import { EngineError } from "../../worker/rpc";
import { FileName, MAX_ATTACHMENT_BYTES, MAX_WAVEFORM_BARS, MimeType, WAVEFORM_LEVELS, MAX_VOICE_MS } from "../content/kinds/attachment";
import { blobBytes } from "./content";
import { prepareImage } from "./image";

/** Files one send may carry. */
export const MAX_FILES_PER_SEND = 10;

export interface SendAttachmentsParams {
  conversationId: string;
  files: { blob: Blob; name: string }[];
  caption?: string;
  /** A voice note (one file): its length and waveform. */
  voice?: { durationMs: number; waveform: number[] };
}

/** A name safe to show and save: the last path part, no control characters, at most 255 characters. */
export function cleanFileName(name: string): string {
  const base = (name.split(/[/\\]/).pop() ?? "").replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 255);
  return FileName.safeParse(base).success ? base : "file";
}

export async function sendAttachmentsLocal(db: JunctionDB, p: SendAttachmentsParams, now: number): Promise<{ messageIds: string[] }> {
  if (!Array.isArray(p.files) || p.files.length === 0) throw new EngineError("bad_request", "no file to send");
  if (p.files.length > MAX_FILES_PER_SEND) throw new EngineError("bad_request", `at most ${MAX_FILES_PER_SEND} files at once`);
  const caption = typeof p.caption === "string" && p.caption.trim() ? p.caption : undefined;
  if (caption !== undefined && caption.length > MAX_TEXT_CHARS) throw new EngineError("bad_request", `the caption is longer than ${MAX_TEXT_CHARS} characters`);
  for (const f of p.files) {
    if (!(f.blob instanceof Blob)) throw new EngineError("bad_request", "not a file");
    if (f.blob.size > MAX_ATTACHMENT_BYTES) throw new EngineError("bad_request", `${cleanFileName(f.name)} is larger than 100 MB`);
  }
  const voice = p.voice;
  if (voice && (p.files.length !== 1 || !Number.isInteger(voice.durationMs) || voice.durationMs < 0 || voice.durationMs > MAX_VOICE_MS || !Array.isArray(voice.waveform) || voice.waveform.length > MAX_WAVEFORM_BARS || voice.waveform.some((v) => !Number.isInteger(v) || v < 0 || v >= WAVEFORM_LEVELS))) {
    throw new EngineError("bad_request", "not a voice note");
  }
  const ids: string[] = [];
  for (const [i, f] of p.files.entries()) {
    const name = cleanFileName(f.name);
    // parameters ("audio/webm;codecs=opus") are not carried: the type and subtype say how to show it
    const type = f.blob.type.split(";")[0].trim().toLowerCase();
    let mime = MimeType.safeParse(type).success ? type : "application/octet-stream";
    let blob = f.blob;
    let image: { width: number; height: number; thumb: Uint8Array } | undefined;
    const prepared = voice ? null : await prepareImage(f.blob, mime);
    if (prepared) {
      blob = prepared.blob;
      mime = prepared.blob.type || mime;
      image = { width: prepared.width, height: prepared.height, thumb: prepared.thumb };
    }
    try {
      const message = await queueText(db, p.conversationId, i === 0 && caption ? caption : "", now, {
        attachment: {
          blob,
          key: attachmentKey(),
          total: blobBytes(blob.size),
          info: { name, mime, size: blob.size, ...(image ?? {}), ...(voice ? { durationMs: voice.durationMs, waveform: voice.waveform } : {}) },
        },
      });
      ids.push(message.id);
    } catch (error) {
      if (error instanceof StoreError) throw new EngineError("not_found", error.message, { cause: error });
      throw error;
    }
  }
  return { messageIds: ids };
}
