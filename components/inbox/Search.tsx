"use client";
// Search above the inbox: the box, and while it holds a query, the results in place of the conversation
// list. Results are links grouped by conversation with the match marked; choosing one opens the
// conversation at that message. Keyboard: ↓ from the box goes into the results, ↑/↓ move between them,
// Home/End jump, Escape clears and returns to the box. The first answer holds a screenful of hits; the end of
// the list coming into view (or "Show more messages") asks for more.
import { Search as SearchIcon, X } from "lucide-react";
import { memo, useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from "react";
import { BRANDS, type Address } from "@/lib/brands";
import { conversationHref } from "@/lib/hooks/useSelectedConversation";
import { MAX_HITS, type SearchState } from "@/lib/hooks/search";
import type { SearchConversation } from "@/lib/hooks/types";
import { BrandBadge } from "../ui/BrandBadge";
import { formatRowTime } from "../format";

/** The longest query the worker accepts. */
const MAX_QUERY_CHARS = 500;

export function SearchBox({
  value,
  onChange,
  inputRef,
  resultsRef,
}: {
  value: string;
  onChange: (next: string) => void;
  inputRef: React.RefObject<HTMLInputElement | null>;
  resultsRef: React.RefObject<HTMLDivElement | null>;
}) {
  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "Escape" && value) {
      // taken here: the open conversation does not close on this Escape
      event.preventDefault();
      onChange("");
    } else if (event.key === "ArrowDown") {
      const first = resultsRef.current?.querySelector<HTMLAnchorElement>("a[href]");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  }
  return (
    <div role="search" className="relative shrink-0 px-3 pt-2">
      <SearchIcon aria-hidden="true" className="pointer-events-none absolute top-1/2 left-5.5 mt-1 h-4 w-4 -translate-y-1/2 text-slate-500 dark:text-slate-400" />
      <input
        ref={inputRef}
        type="search"
        aria-label="Search"
        placeholder="Search messages and people"
        value={value}
        maxLength={MAX_QUERY_CHARS}
        autoComplete="off"
        spellCheck={false}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
        className="w-full rounded-full border border-slate-300 bg-slate-50 py-1.5 pr-9 pl-8 text-sm text-slate-900 placeholder:text-slate-500 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-700 dark:bg-slate-800 dark:text-slate-100 dark:placeholder:text-slate-400 [&::-webkit-search-cancel-button]:hidden"
      />
      {value ? (
        <button
          type="button"
          aria-label="Clear search"
          onClick={() => {
            onChange("");
            inputRef.current?.focus();
          }}
          className="absolute top-1/2 right-5 mt-1 -translate-y-1/2 rounded-full p-1 text-slate-600 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-300 dark:hover:bg-slate-700"
        >
          <X aria-hidden="true" className="h-3.5 w-3.5" />
        </button>
      ) : null}
    </div>
  );
}

/** The text with its match ranges in <mark>. */
function Marked({ text, ranges }: { text: string; ranges: [number, number][] }) {
  const parts: ReactNode[] = [];
  let at = 0;
  ranges.forEach(([start, end], i) => {
    if (start < at || end <= start) return;
    if (start > at) parts.push(text.slice(at, start));
    parts.push(
      <mark key={i} className="rounded-sm bg-amber-200 px-px text-inherit dark:bg-amber-600/60">
        {text.slice(start, end)}
      </mark>,
    );
    at = end;
  });
  if (at < text.length) parts.push(text.slice(at));
  return <>{parts}</>;
}

function Brands({ c }: { c: SearchConversation }) {
  return (
    <span className="flex shrink-0 gap-1">
      <BrandBadge brand={c.theirBrand} />
      {c.ourBrand !== c.theirBrand ? <BrandBadge brand={c.ourBrand} label={`my ${BRANDS[c.ourBrand].name}`} /> : null}
    </span>
  );
}

const LINK =
  "block rounded-lg px-3 py-2 text-sm outline-none hover:bg-slate-100 focus-visible:bg-sky-50 focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-sky-600 dark:hover:bg-slate-800 dark:focus-visible:bg-sky-950";

/** How far below the view the end of the list asks for more hits: before it is reached. */
const MORE_MARGIN = "100px";

export const SearchResultsList = memo(function SearchResultsList({
  state,
  showMore,
  onOpen,
  onWriteTo,
  inputRef,
  resultsRef,
}: {
  state: SearchState;
  /** Asks for more hits (null: no more). */
  showMore: (() => void) | null;
  onOpen: (conversationId: string, messageId: string | null) => void;
  /** A contact without a conversation was chosen: start one with them. */
  onWriteTo: (address: Address) => void;
  inputRef: React.RefObject<HTMLInputElement | null>;
  resultsRef: React.RefObject<HTMLDivElement | null>;
}) {
  const headingId = useId();
  const results = state.status === "done" ? state.results : state.status === "searching" ? state.previous : null;
  const listRef = useRef<HTMLUListElement>(null);
  const moreRef = useRef<HTMLButtonElement>(null);

  // more as the end of the list nears the view (also at once when the first hits do not fill it)
  useEffect(() => {
    const button = moreRef.current;
    if (!showMore || !button || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          observer.disconnect();
          showMore();
        }
      },
      { root: resultsRef.current, rootMargin: `0px 0px ${MORE_MARGIN} 0px` },
    );
    observer.observe(button);
    return () => observer.disconnect();
  }, [showMore, resultsRef]);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const links = [...(listRef.current?.querySelectorAll<HTMLAnchorElement>("a[href]") ?? [])];
    const at = links.indexOf(document.activeElement as HTMLAnchorElement);
    let next: HTMLAnchorElement | undefined;
    if (event.key === "ArrowDown") next = links[at + 1];
    else if (event.key === "ArrowUp") {
      if (at <= 0) {
        event.preventDefault();
        inputRef.current?.focus();
        return;
      }
      next = links[at - 1];
    } else if (event.key === "Home") next = links[0];
    else if (event.key === "End") next = links[links.length - 1];
    else if (event.key === "Escape") {
      event.preventDefault();
      inputRef.current?.focus();
      inputRef.current?.select();
      return;
    } else return;
    event.preventDefault();
    next?.focus();
  }

  const open = (conversationId: string, messageId: string | null) => (event: React.MouseEvent) => {
    // a plain click opens it here; a modified click keeps the browser's own meaning
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    onOpen(conversationId, messageId);
  };

  const hitCount = results ? results.groups.reduce((n, g) => n + g.hits.length, 0) : 0;
  const empty = results !== null && results.names.length === 0 && results.contacts.length === 0 && hitCount === 0;
  const summary = !results
    ? "Searching…"
    : empty
      ? "No results"
      : [
          results.names.length ? `${results.names.length} ${results.names.length === 1 ? "conversation" : "conversations"}` : "",
          results.contacts.length ? `${results.contacts.length} ${results.contacts.length === 1 ? "contact" : "contacts"}` : "",
          hitCount ? `${hitCount}${results.more ? "+" : ""} ${hitCount === 1 && !results.more ? "message" : "messages"}` : "",
        ]
          .filter(Boolean)
          .join(", ");

  return (
    <div
      ref={resultsRef}
      onKeyDown={onKeyDown}
      className="min-h-0 flex-1 overflow-y-auto px-2 pb-4"
      aria-busy={state.status === "searching" || undefined}
      // for bench:client: which query is shown, and the worker's time for it
      data-query={state.status === "done" ? state.query : undefined}
      data-took-ms={state.status === "done" ? state.results.tookMs : undefined}
    >
      <p role="status" className={empty ? "px-6 py-12 text-center font-medium" : "px-3 py-2 text-xs text-slate-600 dark:text-slate-400"}>
        {state.status === "failed" ? "" : summary}
      </p>
      {state.status === "failed" ? (
        <p role="alert" className="px-3 py-2 text-sm text-red-700 dark:text-red-300">
          {state.error}
        </p>
      ) : null}
      {results?.indexing ? <p className="px-3 pb-2 text-xs text-slate-600 dark:text-slate-400">Older messages are still being indexed; more may match soon.</p> : null}
      <ul ref={listRef} aria-label="Search results" className="flex flex-col gap-3">
        {results && results.names.length > 0 ? (
          <li>
            <h3 id={`${headingId}-names`} className="px-3 pb-1 text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400">
              Conversations
            </h3>
            <ul aria-labelledby={`${headingId}-names`}>
              {results.names.map((n) => (
                <li key={n.conversationId}>
                  <a href={conversationHref(n.conversationId)} onClick={open(n.conversationId, null)} className={`${LINK} flex items-center gap-2`}>
                    <span className="min-w-0 flex-1 truncate font-medium">
                      <Marked text={n.title} ranges={n.ranges} />
                    </span>
                    <Brands c={n} />
                  </a>
                </li>
              ))}
            </ul>
          </li>
        ) : null}
        {results && results.contacts.length > 0 ? (
          <li>
            <h3 id={`${headingId}-contacts`} className="px-3 pb-1 text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-400">
              Contacts
            </h3>
            <ul aria-labelledby={`${headingId}-contacts`}>
              {results.contacts.map((c) => (
                <li key={c.address}>
                  <a
                    href={`#write-to=${encodeURIComponent(c.address)}`}
                    onClick={(event) => {
                      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
                      event.preventDefault();
                      onWriteTo(c.address);
                    }}
                    aria-label={`Write to ${c.title}`}
                    className={`${LINK} flex items-center gap-2`}
                  >
                    <span className="min-w-0 flex-1 truncate font-medium">
                      <Marked text={c.title} ranges={c.ranges} />
                    </span>
                    <BrandBadge brand={c.brand} />
                  </a>
                </li>
              ))}
            </ul>
          </li>
        ) : null}
        {results?.groups.map((g, gi) => (
          <li key={g.conversationId}>
            <h3 id={`${headingId}-g${gi}`} className="flex items-center gap-2 px-3 pb-1 text-sm font-semibold text-slate-900 dark:text-slate-100">
              <span className="min-w-0 flex-1 truncate">{g.title}</span>
              <Brands c={g} />
            </h3>
            <ul aria-labelledby={`${headingId}-g${gi}`}>
              {g.hits.map((h) => (
                <li key={h.messageId}>
                  <a href={conversationHref(g.conversationId)} onClick={open(g.conversationId, h.messageId)} className={`${LINK} flex items-baseline gap-2`}>
                    <span className="min-w-0 flex-1 text-slate-800 dark:text-slate-200">
                      {h.direction === "out" ? <span className="text-slate-600 dark:text-slate-400">You: </span> : null}
                      <Marked text={h.snippet} ranges={h.ranges} />
                    </span>
                    <span className="shrink-0 text-xs text-slate-600 dark:text-slate-400">{formatRowTime(h.sentAt)}</span>
                  </a>
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
      {results?.more && hitCount < MAX_HITS ? (
        // stays while the next page is asked for (a click then does nothing), so it does not jump away from a
        // pointer or a keyboard's focus
        <button
          ref={moreRef}
          type="button"
          aria-disabled={showMore === null || undefined}
          onClick={() => showMore?.()}
          className="mx-3 mt-3 rounded-full px-3 py-1.5 text-sm font-medium text-sky-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-sky-300 dark:hover:bg-slate-800"
        >
          Show more messages
        </button>
      ) : null}
    </div>
  );
});
