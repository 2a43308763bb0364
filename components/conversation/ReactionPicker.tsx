"use client";
// The reaction picker beside a message: six quick emoji, and "More reactions" for a grid and a field
// that takes any emoji. Choosing my current reaction again takes it back.
import { Plus } from "lucide-react";
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { createPortal } from "react-dom";
import { react } from "@/lib/hooks/actions";
import { isSingleEmoji, MORE_REACTIONS, QUICK_REACTIONS } from "./text";

interface Props {
  anchor: HTMLElement | null;
  conversationId: string;
  messageId: string;
  /** My reaction to this message now, if any. */
  current: string | null;
  onClose: () => void;
  onError: (error: unknown) => void;
}

export function ReactionPicker({ anchor, conversationId, messageId, current, onClose, onError }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const [position, setPosition] = useState<{ left: number; top: number } | null>(null);
  const [more, setMore] = useState(false);
  const [typed, setTyped] = useState("");
  const [invalid, setInvalid] = useState(false);

  useLayoutEffect(() => {
    const box = ref.current;
    if (!box) return;
    const rect = anchor?.getBoundingClientRect() ?? new DOMRect(window.innerWidth / 2, window.innerHeight / 2, 0, 0);
    const left = Math.max(8, Math.min(rect.left - box.offsetWidth / 2, window.innerWidth - box.offsetWidth - 8));
    const below = rect.bottom + 6;
    const top = below + box.offsetHeight > window.innerHeight - 8 ? Math.max(8, rect.top - box.offsetHeight - 6) : below;
    setPosition({ left, top });
  }, [anchor, more]);

  // focus once placed: an element still hidden cannot take focus
  const placed = position !== null;
  useEffect(() => {
    if (placed) ref.current?.querySelector<HTMLButtonElement>("button")?.focus();
  }, [placed]);

  useEffect(() => {
    const onPointer = (event: PointerEvent) => {
      if (!ref.current?.contains(event.target as Node)) onClose();
    };
    document.addEventListener("pointerdown", onPointer, true);
    return () => document.removeEventListener("pointerdown", onPointer, true);
  }, [onClose]);

  function choose(emoji: string) {
    onClose();
    anchor?.focus();
    react(conversationId, messageId, emoji === current ? null : emoji).catch(onError);
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      onClose();
      anchor?.focus();
      return;
    }
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const buttons = [...(ref.current?.querySelectorAll<HTMLButtonElement>("[data-emoji]") ?? [])];
    const index = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (index < 0) return;
    event.preventDefault();
    buttons[(index + (event.key === "ArrowRight" ? 1 : -1) + buttons.length) % buttons.length]?.focus();
  }

  function submitTyped(event: FormEvent) {
    event.preventDefault();
    if (!isSingleEmoji(typed)) {
      setInvalid(true);
      return;
    }
    choose(typed.trim());
  }

  const emojiButton = (emoji: string) => (
    <button
      key={emoji}
      type="button"
      data-emoji
      aria-label={emoji}
      aria-pressed={emoji === current}
      onClick={() => choose(emoji)}
      className="flex h-9 w-9 items-center justify-center rounded-full text-xl hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 aria-pressed:bg-sky-100 dark:hover:bg-slate-700 dark:aria-pressed:bg-sky-900"
    >
      {emoji}
    </button>
  );

  return createPortal(
    <div
      ref={ref}
      role="dialog"
      aria-label="React"
      onKeyDown={onKeyDown}
      style={{ left: position?.left ?? 0, top: position?.top ?? 0, visibility: position ? "visible" : "hidden" }}
      className="fixed z-50 w-max max-w-[calc(100vw-1rem)] rounded-2xl border border-slate-200 bg-white p-1.5 text-slate-900 shadow-xl dark:border-slate-700 dark:bg-slate-800 dark:text-slate-100"
    >
      <div className="flex items-center gap-0.5">
        {QUICK_REACTIONS.map(emojiButton)}
        <button
          type="button"
          aria-label="More reactions"
          aria-expanded={more}
          onClick={() => setMore(!more)}
          className="flex h-9 w-9 items-center justify-center rounded-full text-slate-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-200 dark:hover:bg-slate-700"
        >
          <Plus aria-hidden="true" className="h-5 w-5" />
        </button>
      </div>
      {more ? (
        <div className="mt-1 border-t border-slate-200 pt-1 dark:border-slate-700">
          <div className="grid grid-cols-6 gap-0.5">{MORE_REACTIONS.map(emojiButton)}</div>
          <form onSubmit={submitTyped} className="mt-1 flex items-center gap-1 px-1 pb-1">
            <label className="sr-only" htmlFor={`any-emoji-${messageId}`}>
              Any emoji
            </label>
            <input
              id={`any-emoji-${messageId}`}
              value={typed}
              onChange={(e) => {
                setTyped(e.target.value);
                setInvalid(false);
              }}
              aria-invalid={invalid || undefined}
              placeholder="Any emoji"
              className="w-28 rounded-lg border border-slate-300 bg-white px-2 py-1 text-base dark:border-slate-600 dark:bg-slate-900"
            />
            <button type="submit" className="rounded-lg bg-sky-700 px-2 py-1 text-sm font-semibold text-white hover:bg-sky-800">
              Add
            </button>
          </form>
          {invalid ? (
            <p role="alert" className="px-1 pb-1 text-xs text-red-700 dark:text-red-300">
              Type one emoji.
            </p>
          ) : null}
        </div>
      ) : null}
    </div>,
    document.body,
  );
}
