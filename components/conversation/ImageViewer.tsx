"use client";
// The full-screen image viewer: the conversation's images that are here, arrows (and ← →) to go
// through them, Save, Close (and Escape). A native modal <dialog>, so focus stays in it and returns.
import { ChevronLeft, ChevronRight, Save, X } from "lucide-react";
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useConversationImages, useMedia, useMessage } from "@/lib/hooks/data";
import { saveBlob, useObjectUrl } from "./useObjectUrl";

const ICON_BUTTON = "rounded-full bg-white/10 p-2 text-white hover:bg-white/20 focus-visible:outline-2 focus-visible:outline-sky-400 disabled:opacity-30";

export function ImageViewer({ conversationId, startId, onClose }: { conversationId: string; startId: string; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [current, setCurrent] = useState(startId);
  const ids = useConversationImages(conversationId, true) ?? [current];
  const message = useMessage(current);
  const media = useMedia(current);
  const url = useObjectUrl(media?.blob);
  const at = ids.indexOf(current);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  function go(step: number) {
    const next = ids[at + step];
    if (next) setCurrent(next);
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "ArrowLeft") {
      event.preventDefault();
      go(-1);
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      go(1);
    }
  }

  const name = message?.attachment?.name ?? "image";
  return (
    <dialog
      ref={ref}
      aria-label="Image viewer"
      onClose={onClose}
      onKeyDown={onKeyDown}
      className="m-0 h-dvh max-h-none w-screen max-w-none bg-slate-950/95 p-0 text-white backdrop:bg-black/80"
    >
      <div className="flex h-full flex-col">
        <div className="flex items-center gap-2 p-3">
          <p dir="auto" className="min-w-0 flex-1 truncate text-sm">
            {name}
            {ids.length > 1 && at >= 0 ? <span className="ml-2 text-slate-300">{`${at + 1} of ${ids.length}`}</span> : null}
          </p>
          <button type="button" className={`${ICON_BUTTON} flex items-center gap-1 px-3 text-sm font-semibold`} disabled={!media} onClick={() => media && saveBlob(media.blob, name)}>
            <Save aria-hidden="true" className="h-4 w-4" />
            Save
          </button>
          <button type="button" aria-label="Close" className={ICON_BUTTON} onClick={() => ref.current?.close()}>
            <X aria-hidden="true" className="h-5 w-5" />
          </button>
        </div>
        <div className="flex min-h-0 flex-1 items-center gap-2 px-2 pb-4">
          <button type="button" aria-label="Previous image" className={ICON_BUTTON} disabled={at <= 0} onClick={() => go(-1)}>
            <ChevronLeft aria-hidden="true" className="h-6 w-6" />
          </button>
          <div className="flex h-full min-w-0 flex-1 items-center justify-center">
            {/* a local object URL of bytes the worker checked; nothing for next/image to do */}
            {url ? <img src={url} alt={name} className="max-h-full max-w-full object-contain" /> : null}
          </div>
          <button type="button" aria-label="Next image" className={ICON_BUTTON} disabled={at < 0 || at >= ids.length - 1} onClick={() => go(1)}>
            <ChevronRight aria-hidden="true" className="h-6 w-6" />
          </button>
        </div>
      </div>
    </dialog>
  );
}
