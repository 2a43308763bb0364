"use client";
// The history transfer after a link, on either device: a progress bar named "Transferring history" while
// it runs (the new device can skip it), then a line saying how it ended.
import { useState } from "react";
import { askHistory, skipHistory } from "@/lib/hooks/actions";
import { useHistoryProgress } from "@/lib/hooks/data";
import type { HistoryProgress } from "@/lib/hooks/types";
import { formatBytes } from "../format";

const count = new Intl.NumberFormat();

/** How far along, 0–100: on the new device downloading is the first half and importing the second. */
function percent(p: HistoryProgress): number {
  if (p.state === "done") return 100;
  const part = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  if (p.state === "downloading") return Math.round(part * 50);
  if (p.state === "importing") return Math.round(50 + part * 50);
  if (p.state === "uploading") return Math.round(part * 100);
  return 0;
}

function words(p: HistoryProgress): string {
  const n = p.messages !== undefined ? `${count.format(p.messages)} ${p.messages === 1 ? "message" : "messages"}` : "your messages";
  switch (p.state) {
    case "waiting":
      return "Waiting for the history from your other device…";
    case "building":
      return `Preparing the history for ${p.peer ?? "the new device"}…`;
    case "uploading":
      return `Sending the history to ${p.peer ?? "the new device"}…`;
    case "downloading":
      return `Receiving ${n}…`;
    case "importing":
      return `Adding ${count.format(Math.min(p.done, p.total))} of ${n}…`;
    case "done": {
      const files = p.media && p.media.count > 0 ? `${count.format(p.media.count)} ${p.media.count === 1 ? "photo or file" : "photos and files"}` : null;
      // each photo or file shows its own download in its message
      if (p.direction === "in") return `History transferred: ${n}${files ? `, with ${files}` : ""}.`;
      return `History sent to ${p.peer ?? "the new device"}: ${n}${files ? ` and ${files}` : ""}.`;
    }
    default:
      return "";
  }
}

/** The primary's words for a transfer that failed: the relay refused the photos and files, or it failed. */
function failedOutWords(p: HistoryProgress): string {
  const size = p.media ? ` (${formatBytes(p.media.bytes)})` : "";
  if (p.reason === "quota") return `The photos and files${size} do not fit on the relay, so the history was not sent. The new device can ask for it again: it then comes without them.`;
  if (p.reason === "too_many") return `The relay takes no more uploads from this device for now, so the history with its photos and files${size} was not sent. The new device can ask for it again: it then comes without them.`;
  return "The history could not be sent. The device is linked and gets new messages.";
}

/** The new device's words for a transfer that failed: why, and that asking again may help. */
function failedWords(p: HistoryProgress): string {
  if (p.reason === "expired") return "Your history did not come from your other device in time. New messages still arrive.";
  return "Your history could not be transferred. New messages still arrive.";
}

export function HistoryTransfer({ direction }: { direction: "in" | "out" }) {
  const p = useHistoryProgress();
  const [askError, setAskError] = useState<string | null>(null);
  if (!p || p.direction !== direction || p.state === "skipped") return null;
  if (p.state === "failed") {
    const ask = async () => {
      setAskError(null);
      try {
        await askHistory();
      } catch (error) {
        setAskError(error instanceof Error ? error.message : "Could not ask your other device.");
      }
    };
    return (
      <div role="alert" className="flex flex-wrap items-center justify-between gap-3 px-4 py-2 text-sm text-red-700 dark:text-red-300">
        <span>{direction === "in" ? failedWords(p) : failedOutWords(p)}</span>
        {direction === "in" ? (
          <span className="flex gap-2">
            <button type="button" onClick={() => void ask()} className="rounded-lg border border-current px-2 py-1 text-xs font-semibold hover:bg-red-50 dark:hover:bg-red-950">
              Ask again
            </button>
            <button type="button" onClick={() => void skipHistory()} className="rounded-lg border border-current px-2 py-1 text-xs font-semibold hover:bg-red-50 dark:hover:bg-red-950">
              Dismiss
            </button>
          </span>
        ) : null}
        {askError ? <span className="w-full text-xs">{askError}</span> : null}
      </div>
    );
  }
  const value = percent(p);
  return (
    <section aria-label="History transfer" className="flex flex-col gap-1.5 px-4 py-2 text-sm text-slate-700 dark:text-slate-300">
      <div className="flex items-center justify-between gap-3">
        <p aria-live="polite">{words(p)}</p>
        {direction === "in" ? (
          <button
            type="button"
            onClick={() => void skipHistory()}
            className="rounded-lg border border-slate-300 px-2 py-1 text-xs font-semibold hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            {p.state === "done" ? "Dismiss" : "Skip"}
          </button>
        ) : null}
      </div>
      <div
        role="progressbar"
        aria-label="Transferring history"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value}
        aria-valuetext={`${value} %`}
        className="h-1.5 overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700"
      >
        <div className="h-full bg-emerald-600 transition-[width] dark:bg-emerald-400" style={{ width: `${value}%` }} />
      </div>
    </section>
  );
}
