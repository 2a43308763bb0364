"use client";
// The conversation's messages as a virtual log anchored to the bottom: new messages follow when
// the reader is at the end, older ones load above without moving what the reader is looking at.
// It opens at the first unread message (under a line "N unread messages"), marks incoming messages
// read only once they have been on screen, and offers "Jump to latest" while the reader is scrolled up.
import { useVirtualizer } from "@tanstack/react-virtual";
import { ArrowDown } from "lucide-react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { BrandId } from "@/lib/brands";
import { markRead } from "@/lib/hooks/actions";
import { useDocumentVisible } from "@/lib/hooks/useDocumentVisible";
import type { MessageRow } from "@/lib/hooks/types";
import { formatDay, withDaySeparators, type LogItem } from "../format";
import { MessageBubble } from "./MessageBubble";

/** Messages from one side closer than this in time form one run, with one time at its end. */
const RUN_GAP_MS = 5 * 60_000;
/**
 * The most messages a conversation opens with to reach its first unread one: beyond it the line goes
 * above the oldest loaded unread message (still saying how many are unread), so opening stays fast.
 */
export const UNREAD_WINDOW_CAP = 1_000;
/** Incoming messages seen on screen are marked read in batches, at most this often. */
const READ_BATCH_MS = 400;

type Item = LogItem<MessageRow> | { kind: "unread"; key: string; count: number };

interface Props {
  conversationId: string;
  messages: MessageRow[];
  hasOlder: boolean;
  onLoadOlder: () => void;
  peerName: string;
  ourBrand: BrandId;
  /** Unread messages when the conversation opened (where the "N unread messages" line goes). */
  unreadAtOpen: number;
  /** Unread now (the count on "Jump to latest"). */
  unreadNow: number;
  /** A message to scroll to and highlight once it is in the window; then onJumped. */
  jumpTarget: string | null;
  onJumped: () => void;
}

export function MessageLog({ conversationId, messages, hasOlder, onLoadOlder, peerName, ourBrand, unreadAtOpen, unreadNow, jumpTarget, onJumped }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const visible = useDocumentVisible();

  // The first unread message is fixed when the conversation opens (the line stays put while reading);
  // it waits until the window holds every unread message, which the view makes sure of.
  const firstUnread = useRef<{ id: string | null; count: number } | null>(null);
  if (firstUnread.current === null && (unreadAtOpen === 0 || messages.length > 0)) {
    let left = unreadAtOpen;
    let id: string | null = null;
    for (let i = messages.length - 1; i >= 0 && left > 0; i--) {
      const m = messages[i]!;
      if (m.direction === "in" && (m.kind ?? "text") !== "timer") {
        id = m.id;
        left -= 1;
      }
    }
    if (left === 0 || !hasOlder) firstUnread.current = { id, count: unreadAtOpen - left };
    else if (messages.length >= UNREAD_WINDOW_CAP) firstUnread.current = { id, count: unreadAtOpen };
  }
  const unreadLine = firstUnread.current;

  const items = useMemo<Item[]>(() => {
    const base = withDaySeparators(messages, !hasOlder);
    if (!unreadLine?.id) return base;
    const at = base.findIndex((item) => item.kind === "message" && item.message.id === unreadLine.id);
    if (at < 0) return base;
    return [...base.slice(0, at), { kind: "unread", key: "unread-line", count: unreadLine.count }, ...base.slice(at)];
  }, [messages, hasOlder, unreadLine]);

  const estimateSize = (index: number) => (items[index]?.kind === "message" ? ESTIMATED_MESSAGE : ESTIMATED_LINE);
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize,
    // The first render is already where the log opens (the unread line, else the end), on the estimates: the
    // rows there are the first ones rendered and measured, instead of the oldest of the window first and
    // then, after a scroll, the ones at the end. The opening scroll below then only corrects the estimate.
    initialRect: { width: 0, height: typeof window === "undefined" ? 0 : window.innerHeight },
    initialOffset: () => openingOffset(items, estimateSize, typeof window === "undefined" ? 0 : window.innerHeight),
    getItemKey: (index) => items[index]?.key ?? index,
    overscan: 12,
    anchorTo: "end",
    followOnAppend: true,
    scrollEndThreshold: 48,
  });

  // opening a conversation starts at its first unread message, or else at its newest
  const opened = useRef<string | null>(null);
  const settled = useRef(false);
  useEffect(() => {
    if (items.length === 0 || unreadLine === null || opened.current === conversationId) return;
    opened.current = conversationId;
    const line = items.findIndex((item) => item.kind === "unread");
    if (line >= 0) virtualizer.scrollToIndex(line, { align: "start" });
    else virtualizer.scrollToIndex(items.length - 1, { align: "end" });
    // scroll events before the log has settled on its opening position are not the reader's
    window.setTimeout(() => (settled.current = true), 500);
  }, [conversationId, items, unreadLine, virtualizer]);

  // my own message always scrolls into view, even when I had scrolled up to read
  const lastOutgoing = useRef<string | null>(null);
  const newest = messages[messages.length - 1];
  useEffect(() => {
    if (!newest || newest.direction !== "out" || newest.id === lastOutgoing.current) return;
    const first = lastOutgoing.current === null;
    lastOutgoing.current = newest.id;
    if (!first) virtualizer.scrollToIndex(items.length - 1, { align: "end" });
  }, [newest, items.length, virtualizer]);

  // A row added to a log too short to scroll: the virtualizer (anchored to the end, following appends) moves
  // its own idea of the scroll offset by the row's size, which the element cannot take and so never reports
  // back, and checks again every frame for its 5 s limit (a frame rendered 60 times a second on the main
  // thread after each message sent or received in a short conversation). A scroll event makes it read the
  // element's real offset.
  useEffect(() => {
    const el = scrollRef.current;
    if (el && el.scrollHeight <= el.clientHeight) el.dispatchEvent(new Event("scroll"));
  }, [items.length]);

  // a quoted message: scroll to it once the window holds it, and highlight it for a moment
  const [highlight, setHighlight] = useState<string | null>(null);
  useEffect(() => {
    if (!jumpTarget) return;
    const index = items.findIndex((item) => item.kind === "message" && item.message.id === jumpTarget);
    if (index < 0) return;
    virtualizer.scrollToIndex(index, { align: "center" });
    setHighlight(jumpTarget);
    onJumped();
  }, [jumpTarget, items, virtualizer, onJumped]);
  useEffect(() => {
    if (!highlight) return;
    const timer = setTimeout(() => setHighlight(null), 2_500);
    return () => clearTimeout(timer);
  }, [highlight]);

  // "Jump to latest" while the reader is away from the end
  const [atEnd, setAtEnd] = useState(true);
  // Reaching the end (by scrolling or "Jump to latest") is reading past what lies between, as every
  // messenger treats it: otherwise a conversation stays unread for messages scrolled over too fast.
  const onScroll = useCallback(
    (el: HTMLDivElement) => {
      const end = el.scrollHeight - el.scrollTop - el.clientHeight < 64;
      setAtEnd(end);
      if (end && settled.current && unreadNow > 0 && document.visibilityState === "visible") {
        const ids = messages.filter((m) => m.direction === "in" && m.readAt == null && m.deletedAt == null).map((m) => m.id);
        if (ids.length > 0) void markReadOf(messages, ids).catch(() => undefined);
      }
      if (hasOlder && el.scrollTop < 200) onLoadOlder();
    },
    [hasOlder, onLoadOlder, unreadNow, messages],
  );
  function jumpToLatest() {
    virtualizer.scrollToIndex(items.length - 1, { align: "end" });
    // a second time after the rows measured themselves, so the very end is reached
    requestAnimationFrame(() => virtualizer.scrollToIndex(items.length - 1, { align: "end" }));
  }

  const rendered = virtualizer.getVirtualItems();
  const renderedRange = rendered.length ? `${rendered[0]!.index}-${rendered[rendered.length - 1]!.index}` : "";
  useReadOnScreen(scrollRef, conversationId, visible && unreadNow > 0, renderedRange, messages);

  return (
    <div className="relative flex min-h-0 flex-1 flex-col">
      <div
        ref={scrollRef}
        role="log"
        aria-label="Messages"
        aria-live="polite"
        tabIndex={0}
        className="min-h-0 flex-1 overflow-y-auto bg-slate-100 py-2 outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-sky-600 dark:bg-slate-950"
        onScroll={(e) => onScroll(e.currentTarget)}
      >
        {hasOlder ? (
          <div className="flex justify-center py-2">
            <button type="button" onClick={onLoadOlder} className="rounded-full bg-white px-3 py-1 text-xs font-medium text-slate-800 shadow-sm dark:bg-slate-800 dark:text-slate-100">
              Load earlier messages
            </button>
          </div>
        ) : null}
        {messages.length === 0 ? (
          <p className="px-6 py-12 text-center text-sm text-slate-700 dark:text-slate-300">No messages yet. Messages are end-to-end encrypted.</p>
        ) : null}
        <div className="relative w-full" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((virtual) => {
            const item = items[virtual.index];
            if (!item) return null;
            return (
              <div
                key={virtual.key}
                data-index={virtual.index}
                ref={virtualizer.measureElement}
                className="absolute left-0 top-0 w-full"
                style={{ transform: `translateY(${virtual.start}px)` }}
              >
                {item.kind === "day" ? (
                  <div role="separator" aria-label={formatDay(item.at)} className="flex justify-center py-2">
                    <span aria-hidden="true" className="rounded-full bg-white/90 px-3 py-0.5 text-xs font-medium text-slate-700 shadow-sm dark:bg-slate-800/90 dark:text-slate-200">
                      {formatDay(item.at)}
                    </span>
                  </div>
                ) : item.kind === "unread" ? (
                  <div className="flex items-center gap-3 px-4 py-2">
                    <span aria-hidden="true" className="h-px flex-1 bg-sky-700/40 dark:bg-sky-300/40" />
                    <p className="rounded-full bg-sky-100 px-3 py-0.5 text-xs font-semibold text-sky-900 dark:bg-sky-950 dark:text-sky-100">
                      {item.count === 1 ? "1 unread message" : `${item.count} unread messages`}
                    </p>
                    <span aria-hidden="true" className="h-px flex-1 bg-sky-700/40 dark:bg-sky-300/40" />
                  </div>
                ) : (
                  <MessageBubble
                    message={item.message}
                    peerName={peerName}
                    ourBrand={ourBrand}
                    first={!sameRun(items[virtual.index - 1], item.message)}
                    last={!sameRun(items[virtual.index + 1], item.message)}
                    highlighted={highlight === item.message.id}
                  />
                )}
              </div>
            );
          })}
        </div>
      </div>
      {!atEnd ? (
        <button
          type="button"
          onClick={jumpToLatest}
          aria-label={unreadNow > 0 ? `Jump to latest, ${unreadNow} new` : "Jump to latest"}
          className="absolute bottom-3 right-4 flex items-center gap-1.5 rounded-full bg-white px-3 py-2 text-sm font-medium text-slate-900 shadow-lg ring-1 ring-slate-200 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-sky-600 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-700 dark:hover:bg-slate-700"
        >
          <ArrowDown aria-hidden="true" className="h-4 w-4" />
          Jump to latest
          {unreadNow > 0 ? (
            <span aria-hidden="true" className="rounded-full bg-emerald-700 px-1.5 text-xs font-semibold text-white">
              {unreadNow}
            </span>
          ) : null}
        </button>
      ) : null}
    </div>
  );
}

/** Estimated heights (px) until a row is measured: a one-line message, and a day or unread line. */
const ESTIMATED_MESSAGE = 56;
const ESTIMATED_LINE = 36;

/**
 * Where the log opens, on estimated heights: the unread line at the top of a view of `viewport` px, or else
 * the end of the log at its bottom.
 */
export function openingOffset(items: readonly { kind: string }[], estimate: (index: number) => number, viewport: number): number {
  let offset = 0;
  for (let i = 0; i < items.length; i++) {
    if (items[i]?.kind === "unread") return offset;
    offset += estimate(i);
  }
  return Math.max(0, offset - viewport);
}

/** Whether `message` continues the run of the message item next to it. */
function sameRun(other: Item | undefined, message: MessageRow): boolean {
  if (!other || other.kind !== "message") return false;
  const m = other.message;
  if ((m.kind ?? "text") === "timer" || (message.kind ?? "text") === "timer") return false;
  return m.direction === message.direction && Math.abs(m.sentAt - message.sentAt) < RUN_GAP_MS;
}

/**
 * Marks incoming messages read once they have been on screen in a visible page: an
 * IntersectionObserver over the rendered unread bubbles, flushed in batches.
 */
function useReadOnScreen(
  scrollRef: React.RefObject<HTMLDivElement | null>,
  conversationId: string,
  active: boolean,
  renderedRange: string,
  messages: MessageRow[],
): void {
  const unreadIds = useMemo(() => new Set(messages.filter((m) => m.direction === "in" && m.readAt == null && m.deletedAt == null).map((m) => m.id)), [messages]);
  const pending = useRef(new Set<string>());
  const sent = useRef(new Set<string>());
  const timer = useRef<number | null>(null);

  useEffect(() => {
    const root = scrollRef.current;
    if (!root || !active || unreadIds.size === 0) return;
    const flush = () => {
      timer.current = null;
      const ids = [...pending.current];
      pending.current.clear();
      if (ids.length === 0) return;
      for (const id of ids) sent.current.add(id);
      markReadOf(messages, ids).catch(() => {
        for (const id of ids) sent.current.delete(id);
      });
    };
    const observer = new IntersectionObserver(
      (entries) => {
        if (document.visibilityState !== "visible") return;
        for (const entry of entries) {
          const id = (entry.target as HTMLElement).dataset.messageId;
          if (!entry.isIntersecting || !id || !unreadIds.has(id) || sent.current.has(id)) continue;
          // most of the bubble in view (or, for one taller than the view, most of the view)
          const shown = entry.intersectionRect.height;
          if (shown < entry.boundingClientRect.height * 0.5 && shown < (entry.rootBounds?.height ?? Infinity) * 0.5) continue;
          pending.current.add(id);
        }
        if (pending.current.size > 0 && timer.current === null) timer.current = window.setTimeout(flush, READ_BATCH_MS);
      },
      { root, threshold: [0, 0.25, 0.5, 0.75, 1] },
    );
    for (const el of root.querySelectorAll<HTMLElement>("article[data-message-id]")) {
      if (unreadIds.has(el.dataset.messageId ?? "")) observer.observe(el);
    }
    return () => {
      observer.disconnect();
      if (timer.current !== null) {
        window.clearTimeout(timer.current);
        flush();
      }
    };
  }, [scrollRef, conversationId, active, unreadIds, renderedRange, messages]);
}

/**
 * Marks these messages read, each in its own conversation: a person's merged timeline holds several
 * (a single conversation's log is the case of one).
 */
async function markReadOf(messages: readonly MessageRow[], ids: readonly string[]): Promise<void> {
  const wanted = new Set(ids);
  const byConversation = new Map<string, string[]>();
  for (const m of messages) if (wanted.has(m.id)) byConversation.set(m.conversationId, [...(byConversation.get(m.conversationId) ?? []), m.id]);
  await Promise.all([...byConversation].map(([conversationId, list]) => markRead(conversationId, list)));
}
