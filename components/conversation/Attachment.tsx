"use client";
// An attachment inside its bubble: the thumbnail at once (blurred until the full image is here), the
// image itself, a file's icon, name and size, or a voice note; its transfer's progress with Cancel, and
// "Download" for what is not here. Nothing of a file is shown before the worker has checked its digest
// and key commitment: a tampered one shows only the error.
import { Download, FileText, Save, X } from "lucide-react";
import { useState } from "react";
import { cancelTransfer, describeError, downloadAttachment, markListened } from "@/lib/hooks/actions";
import { useMedia, useSettings, useTransfer } from "@/lib/hooks/data";
import type { MessageRow, TransferRow } from "@/lib/hooks/types";
import { formatBytes } from "../format";
import { ImageViewer } from "./ImageViewer";
import { saveBlob, useObjectUrl } from "./useObjectUrl";
import { VoiceNote } from "./VoiceNote";

const BUTTON =
  "inline-flex items-center gap-1 rounded-full border border-current/40 px-2.5 py-0.5 text-xs font-semibold hover:bg-black/5 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:hover:bg-white/10";

export function AttachmentView({ message, metaClass }: { message: MessageRow; metaClass: string }) {
  const info = message.attachment!;
  const transfer = useTransfer(message.id);
  const media = useMedia(message.id);
  const isImage = info.mime.startsWith("image/");
  const isVoice = info.durationMs !== undefined;
  const mediaUrl = useObjectUrl(isImage ? media?.blob : null);
  const thumbUrl = useObjectUrl(isImage && !media ? info.thumb : null, "image/jpeg");
  const [viewer, setViewer] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { readReceipts } = useSettings();

  if (transfer?.state === "tampered") {
    return (
      <p role="alert" className="max-w-64 rounded-lg bg-red-50 px-2 py-1.5 text-sm font-medium text-red-800 dark:bg-red-950 dark:text-red-200">
        {transfer.error ?? "This attachment was refused."}
      </p>
    );
  }

  async function act(work: () => Promise<void>) {
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(describeError(err));
    }
  }

  const canDownload = !media && transfer != null && (transfer.state === "remote" || transfer.state === "failed" || transfer.state === "uploaded" || transfer.state === "ready");
  const w = info.width ?? 240;
  const h = info.height ?? 180;
  const box = { aspectRatio: `${w} / ${h}`, width: `min(16rem, ${w}px)` };

  return (
    <div className="mb-1 flex flex-col gap-1">
      {isImage ? (
        mediaUrl ? (
          <button type="button" aria-label="Open image" onClick={() => setViewer(true)} className="block overflow-hidden rounded-lg focus-visible:outline-2 focus-visible:outline-sky-600" style={box}>
            <img src={mediaUrl} alt={info.name} data-state="full" className="h-full w-full object-cover" />
          </button>
        ) : thumbUrl ? (
          <div className="overflow-hidden rounded-lg" style={box}>
            <img src={thumbUrl} alt={`Preview of ${info.name}`} data-state="thumbnail" className="h-full w-full scale-110 object-cover blur-md" />
          </div>
        ) : (
          <div className="rounded-lg bg-slate-200 dark:bg-slate-700" style={box} />
        )
      ) : isVoice ? (
        <VoiceNote
          blob={media?.blob ?? null}
          durationMs={info.durationMs ?? 0}
          waveform={info.waveform ?? []}
          metaClass={metaClass}
          listened={message.direction === "out" && message.listenedAt !== undefined && readReceipts}
          onFirstPlay={message.direction === "in" && message.listenedAt === undefined ? () => void markListened(message.conversationId, message.id).catch(() => undefined) : undefined}
        />
      ) : (
        <div className="flex items-center gap-2">
          <FileText aria-hidden="true" className="h-8 w-8 shrink-0" />
          <div className="min-w-0">
            <p dir="auto" className="truncate text-sm font-medium" title={info.name}>
              {info.name}
            </p>
            <p className={`text-xs ${metaClass}`}>{formatBytes(info.size)}</p>
          </div>
          {media ? (
            <button type="button" className={BUTTON} onClick={() => saveBlob(media.blob, info.name)}>
              <Save aria-hidden="true" className="h-3.5 w-3.5" />
              Save
            </button>
          ) : null}
        </div>
      )}
      {transfer ? <TransferLine transfer={transfer} metaClass={metaClass} onError={setError} /> : null}
      {canDownload ? (
        <div className="flex items-center gap-2">
          <button type="button" className={BUTTON} onClick={() => void act(() => downloadAttachment(message.conversationId, message.id))}>
            <Download aria-hidden="true" className="h-3.5 w-3.5" />
            Download
          </button>
          <span className={`text-xs ${metaClass}`}>{formatBytes(info.size)}</span>
        </div>
      ) : null}
      {transfer?.state === "failed" && transfer.direction === "in" && transfer.error ? <p className="text-xs text-red-700 dark:text-red-300">{transfer.error}</p> : null}
      {error ? (
        <p role="alert" className="text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
      {viewer ? <ImageViewer conversationId={message.conversationId} startId={message.id} onClose={() => setViewer(false)} /> : null}
    </div>
  );
}

function TransferLine({ transfer, metaClass, onError }: { transfer: TransferRow; metaClass: string; onError: (e: string) => void }) {
  const moving = transfer.state === "uploading" || transfer.state === "downloading";
  if (transfer.state === "queued") return <p className={`text-xs ${metaClass}`}>Waiting to download…</p>;
  if (!moving) return null;
  const up = transfer.state === "uploading";
  const pct = transfer.total > 0 ? Math.min(100, Math.floor((transfer.done / transfer.total) * 100)) : 0;
  return (
    <div className="flex items-center gap-2">
      <div
        role="progressbar"
        aria-label={up ? "Uploading" : "Downloading"}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={`${pct} %`}
        className="h-1.5 w-32 overflow-hidden rounded-full bg-black/10 dark:bg-white/20"
      >
        {/* no width transition: a width cannot be animated off the main thread, and the bar steps every 250 ms */}
        <div className="h-full bg-sky-600 dark:bg-sky-300" style={{ width: `${pct}%` }} />
      </div>
      <span className={`text-xs tabular-nums ${metaClass}`}>{pct} %</span>
      <button
        type="button"
        aria-label={up ? "Cancel upload" : "Cancel download"}
        onClick={() => void cancelTransfer(transfer.conversationId, transfer.messageId).catch((err: unknown) => onError(describeError(err)))}
        className="rounded-full p-0.5 hover:bg-black/10 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-white/10"
      >
        <X aria-hidden="true" className="h-3.5 w-3.5" />
      </button>
    </div>
  );
}
