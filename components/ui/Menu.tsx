"use client";
// A menu button's menu (WAI-ARIA menu pattern): opens with focus on its first item; arrows, Home and
// End move; Enter or Space activates; Escape and Tab close and return focus to the button. It renders
// in a portal at fixed coordinates, so a scrolling or transformed ancestor never clips it (into the
// opener's modal dialog when there is one, which leaves the rest of the page inert).
import { MoreVertical } from "lucide-react";
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from "react";
import { createPortal } from "react-dom";

export interface MenuItem {
  label: string;
  icon?: ReactNode;
  onSelect: () => void;
  /** Red text, for destructive items. */
  danger?: boolean;
}

interface Props {
  /** The button that opened the menu (the menu sits next to it and gives focus back to it). */
  anchor: HTMLElement | null;
  /** Where a right-click or long-press opened it, instead of beside the anchor. */
  at?: { x: number; y: number } | null;
  label: string;
  items: MenuItem[];
  onClose: () => void;
}

export function Menu({ anchor, at, label, items, onClose }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const [position, setPosition] = useState<{ left: number; top: number } | null>(null);
  const itemRefs = useRef<(HTMLButtonElement | null)[]>([]);

  // the latest onClose, without re-placing the menu each time the owner renders a new function
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  // beside the anchor (or where the pointer was), kept inside the window; again when the page scrolls
  const place = useCallback(() => {
    const menu = ref.current;
    if (!menu) return;
    if (anchor && !anchor.isConnected) {
      closeRef.current();
      return;
    }
    const rect = anchor?.getBoundingClientRect();
    const x = at?.x ?? (rect ? rect.left : 0);
    const y = at?.y ?? (rect ? rect.bottom + 4 : 0);
    const width = menu.offsetWidth;
    const height = menu.offsetHeight;
    const left = Math.max(8, Math.min(x, window.innerWidth - width - 8));
    // above the anchor when there is no room below it
    const top = y + height > window.innerHeight - 8 ? Math.max(8, (at?.y ?? rect?.top ?? y) - height - 4) : y;
    setPosition({ left, top });
  }, [anchor, at]);

  useLayoutEffect(place, [place]);

  // focus once placed: an element still hidden cannot take focus
  const placed = position !== null;
  useEffect(() => {
    if (placed) itemRefs.current[0]?.focus();
  }, [placed]);

  useEffect(() => {
    const onPointer = (event: PointerEvent) => {
      if (ref.current && !ref.current.contains(event.target as Node) && !anchor?.contains(event.target as Node)) closeRef.current();
    };
    const onResize = () => closeRef.current();
    // a log that settles or follows new messages scrolls under an open menu: the menu follows its anchor
    const onScroll = () => {
      if (!at) place();
    };
    document.addEventListener("pointerdown", onPointer, true);
    window.addEventListener("scroll", onScroll, true);
    window.addEventListener("resize", onResize);
    return () => {
      document.removeEventListener("pointerdown", onPointer, true);
      window.removeEventListener("scroll", onScroll, true);
      window.removeEventListener("resize", onResize);
    };
  }, [anchor, at, place]);

  function close(refocus = true) {
    onClose();
    if (refocus) anchor?.focus();
  }

  function onKeyDown(event: React.KeyboardEvent) {
    const buttons = itemRefs.current.filter((b): b is HTMLButtonElement => b !== null);
    const index = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const move = (to: number) => buttons[(to + buttons.length) % buttons.length]?.focus();
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        move(index + 1);
        break;
      case "ArrowUp":
        event.preventDefault();
        move(index - 1);
        break;
      case "Home":
        event.preventDefault();
        move(0);
        break;
      case "End":
        event.preventDefault();
        move(buttons.length - 1);
        break;
      case "Escape":
        event.preventDefault();
        event.stopPropagation();
        close();
        break;
      case "Tab":
        close(false);
        break;
    }
  }

  return createPortal(
    <div
      ref={ref}
      role="menu"
      aria-label={label}
      onKeyDown={onKeyDown}
      style={{ left: position?.left ?? 0, top: position?.top ?? 0, visibility: position ? "visible" : "hidden" }}
      className="fixed z-50 min-w-44 rounded-xl border border-slate-200 bg-white py-1 text-sm text-slate-900 shadow-xl dark:border-slate-700 dark:bg-slate-800 dark:text-slate-100"
    >
      {items.map((item, i) => (
        <button
          key={item.label}
          ref={(el) => {
            itemRefs.current[i] = el;
          }}
          type="button"
          role="menuitem"
          tabIndex={-1}
          onClick={() => {
            onClose();
            item.onSelect();
          }}
          className={`flex w-full items-center gap-2.5 px-3 py-2 text-left outline-none hover:bg-slate-100 focus:bg-slate-100 dark:hover:bg-slate-700 dark:focus:bg-slate-700 ${
            item.danger ? "text-red-700 dark:text-red-300" : ""
          }`}
        >
          {item.icon ? (
            <span aria-hidden="true" className="flex h-4 w-4 items-center justify-center">
              {item.icon}
            </span>
          ) : null}
          {item.label}
        </button>
      ))}
    </div>,
    // inside a modal dialog everything outside the dialog is inert: the menu goes into the dialog then
    anchor?.closest("dialog") ?? document.body,
  );
}

/** A "more" button (⋮) that opens `items` as a menu; the button and the menu share the name `label`. */
export function MenuButton({ label, items, className }: { label: string; items: MenuItem[]; className: string }) {
  const button = useRef<HTMLButtonElement>(null);
  const [open, setOpen] = useState(false);
  return (
    <>
      <button ref={button} type="button" aria-label={label} aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)} className={className}>
        <MoreVertical aria-hidden="true" className="h-4 w-4" />
      </button>
      {open ? <Menu anchor={button.current} label={label} items={items} onClose={() => setOpen(false)} /> : null}
    </>
  );
}
