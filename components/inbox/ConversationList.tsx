"use client";
// The inbox as a virtual list: only the rows in view (plus a few) are in the DOM, so five thousand
// conversations scroll like fifty. Rows have a fixed height, which keeps the maths exact.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef } from "react";
import { BRANDS } from "@/lib/brands";
import { personSelection, type PersonGroup } from "@/lib/hooks/people";
import type { ConversationRow as Row, InboxFilter } from "@/lib/hooks/types";
import { ConversationRow } from "./ConversationRow";
import { observeRectAfterLayout, scrollUnlessAlreadyThere, windowRect } from "../observeRectAfterLayout";

const ROW_HEIGHT = 84;

interface Props {
  rows: Row[] | undefined;
  /** All rows the filter matches, including those not loaded yet. */
  total: number;
  names: ReadonlyMap<string, string> | undefined;
  /** "One row per person": rows standing for a person, by the row's conversation id. */
  people?: ReadonlyMap<string, PersonGroup>;
  filter: InboxFilter;
  selectedId: string | null;
}

function emptyText(filter: InboxFilter): string {
  if (filter === "all") return "No conversations yet";
  if (filter === "unread") return "No unread conversations";
  if (filter === "archived") return "No archived conversations";
  if (filter === "groups") return "No groups yet";
  return `No conversations on your ${BRANDS[filter].name} account yet`;
}

export function ConversationList({ rows, total, names, people, filter, selectedId }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const count = rows?.length ?? 0;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
    getItemKey: (index) => rows?.[index]?.id ?? index,
    initialRect: windowRect(),
    observeElementRect: observeRectAfterLayout,
    scrollToFn: scrollUnlessAlreadyThere,
  });

  return (
    <div ref={scrollRef} className="min-h-0 flex-1 overflow-y-auto">
      {rows && count === 0 ? (
        <div className="flex flex-col items-center gap-1 px-6 py-12 text-center">
          <p className="font-medium">{emptyText(filter)}</p>
          {filter === "all" ? <p className="text-sm text-slate-700 dark:text-slate-300">Start one with “New message”.</p> : null}
        </div>
      ) : null}
      <ul role="list" aria-label="Conversations" aria-busy={rows === undefined || undefined} className="relative w-full" style={{ height: virtualizer.getTotalSize() }}>
        {rows
          ? virtualizer.getVirtualItems().map((item) => {
              const row = rows[item.index];
              if (!row) return null;
              return (
                <li
                  key={item.key}
                  aria-setsize={Math.max(total, count)}
                  aria-posinset={item.index + 1}
                  className="absolute left-0 top-0 w-full border-b border-slate-200/70 dark:border-slate-800/70"
                  style={{ height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
                >
                  {(() => {
                    const person = people?.get(row.id);
                    if (!person) return <ConversationRow row={row} name={row.groupName ?? names?.get(row.theirAddress) ?? row.theirAddress} selected={row.id === selectedId} />;
                    const selected = selectedId === personSelection(person.personId) || person.conversations.some((c) => c.id === selectedId);
                    return <ConversationRow row={row} name={person.name} person={person} selected={selected} />;
                  })()}
                </li>
              );
            })
          : null}
      </ul>
    </div>
  );
}
