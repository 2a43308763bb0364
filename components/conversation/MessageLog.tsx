"use client";
// The conversation's messages as a virtual log anchored to the bottom: new messages follow when
// the reader is at the end, older ones load above without moving what the reader is looking at.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef } from "react";
import type { MessageRow } from "@/lib/hooks/types";
import { formatDay, withDaySeparators } from "../format";
import { MessageBubble } from "./MessageBubble";

interface Props {
  conversationId: string;
  messages: MessageRow[];
  hasOlder: boolean;
  onLoadOlder: () => void;
  peerName: string;
}

export function MessageLog({ conversationId, messages, hasOlder, onLoadOlder, peerName }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const items = useMemo(() => withDaySeparators(messages, !hasOlder), [messages, hasOlder]);
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (index) => (items[index]?.kind === "day" ? 36 : 56),
    getItemKey: (index) => items[index]?.key ?? index,
    overscan: 12,
    anchorTo: "end",
    followOnAppend: true,
    scrollEndThreshold: 48,
  });

  // opening a conversation starts at its newest message
  const opened = useRef<string | null>(null);
  useEffect(() => {
    if (items.length === 0 || opened.current === conversationId) return;
    opened.current = conversationId;
    virtualizer.scrollToIndex(items.length - 1, { align: "end" });
  }, [conversationId, items.length, virtualizer]);

  // my own message always scrolls into view, even when I had scrolled up to read
  const lastOutgoing = useRef<string | null>(null);
  const newest = messages[messages.length - 1];
  useEffect(() => {
    if (!newest || newest.direction !== "out" || newest.id === lastOutgoing.current) return;
    const first = lastOutgoing.current === null;
    lastOutgoing.current = newest.id;
    if (!first) virtualizer.scrollToIndex(items.length - 1, { align: "end" });
  }, [newest, items.length, virtualizer]);

  return (
    <div
      ref={scrollRef}
      role="log"
      aria-label="Messages"
      aria-live="polite"
      tabIndex={0}
      className="min-h-0 flex-1 overflow-y-auto bg-slate-100 py-2 outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-sky-500 dark:bg-slate-950"
      onScroll={(e) => {
        if (hasOlder && e.currentTarget.scrollTop < 200) onLoadOlder();
      }}
    >
      {hasOlder ? (
        <div className="flex justify-center py-2">
          <button type="button" onClick={onLoadOlder} className="rounded-full bg-white px-3 py-1 text-xs font-medium shadow-sm dark:bg-slate-800">
            Load earlier messages
          </button>
        </div>
      ) : null}
      {messages.length === 0 ? (
        <p className="px-6 py-12 text-center text-sm text-slate-500">No messages yet. Messages are end-to-end encrypted.</p>
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
                  <span aria-hidden="true" className="rounded-full bg-white/80 px-3 py-0.5 text-xs font-medium text-slate-600 shadow-sm dark:bg-slate-800/80 dark:text-slate-300">
                    {formatDay(item.at)}
                  </span>
                </div>
              ) : (
                <MessageBubble message={item.message} peerName={peerName} />
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}
