"use client";
// Settings → Storage: decrypted media kept on this device, per conversation, and "Delete media" (the
// messages stay; their files can be fetched again while the relay keeps them).
import { Trash2 } from "lucide-react";
import { useId, useState } from "react";
import { deleteMedia, describeError } from "@/lib/hooks/actions";
import { useContactName, useMediaUsage } from "@/lib/hooks/data";
import type { Address } from "@/lib/brands";
import { formatBytes } from "../format";

const BUTTON =
  "flex shrink-0 items-center gap-1 rounded-lg border border-red-700 px-2 py-1 text-xs font-semibold text-red-700 hover:bg-red-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:border-red-300 dark:text-red-300 dark:hover:bg-red-950";

export function StorageSection() {
  const usage = useMediaUsage();
  const headingId = useId();
  const [error, setError] = useState<string | null>(null);
  const total = (usage ?? []).reduce((n, u) => n + u.bytes, 0);

  async function remove(conversationId?: string) {
    setError(null);
    try {
      await deleteMedia(conversationId);
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <section aria-labelledby={headingId} className="flex flex-col gap-2">
      <div className="flex items-center justify-between gap-2">
        <h3 id={headingId} className="font-semibold">
          Storage
        </h3>
        {usage && usage.length > 0 ? (
          <button type="button" className={BUTTON} onClick={() => void remove()}>
            <Trash2 aria-hidden="true" className="h-3.5 w-3.5" />
            Delete media
          </button>
        ) : null}
      </div>
      <p className="text-sm text-slate-700 dark:text-slate-300">
        {usage === undefined ? "Counting…" : usage.length === 0 ? "No photos or files are kept on this device." : `Photos and files on this device: ${formatBytes(total)}`}
      </p>
      {usage && usage.length > 0 ? (
        <ul aria-label="Media per conversation" className="flex flex-col gap-1">
          {usage.map((u) => (
            <UsageRow key={u.conversationId} peer={u.peer} bytes={u.bytes} count={u.count} onDelete={() => void remove(u.conversationId)} />
          ))}
        </ul>
      ) : null}
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
    </section>
  );
}

function UsageRow({ peer, bytes, count, onDelete }: { peer: Address; bytes: number; count: number; onDelete: () => void }) {
  const name = useContactName(peer) ?? peer;
  return (
    <li className="flex items-center justify-between gap-2 rounded-lg bg-slate-50 px-2 py-1 text-sm dark:bg-slate-800">
      <span className="min-w-0 truncate" dir="auto">
        {name}
      </span>
      <span className="shrink-0 text-xs text-slate-700 dark:text-slate-300">
        {formatBytes(bytes)} · {count} {count === 1 ? "file" : "files"}
      </span>
      <button type="button" aria-label={`Delete media of ${name}`} className={BUTTON} onClick={onDelete}>
        <Trash2 aria-hidden="true" className="h-3.5 w-3.5" />
      </button>
    </li>
  );
}
