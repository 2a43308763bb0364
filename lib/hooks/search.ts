"use client";
// Search as you type: every keystroke asks the worker (lib/engine/search.ts: a query is a few ms there, and
// a pause before asking would be time a person waits for nothing); an answer to an older query is never shown.
// The box asks from its input event (searchAhead), before React renders the keystroke: the worker searches
// while the page renders, and the hook takes that answer instead of asking again after the commit.
// While older messages are still being indexed, the same query is asked again every second, so what the
// "more may match soon" note promises comes without another keystroke.
// A query asks first for a screenful of hits (FIRST_PAGE): the worker reads, and the page clones and renders,
// only what is seen at first; scrolling to the end (or "Show more") asks again with a larger limit, and the
// hits shown stay until that answer replaces them.
import { useCallback, useEffect, useState } from "react";
import type { SearchResults } from "../worker/rpc";
import { callEngine } from "./engine";
import { describeError, errorCode } from "./actions";

/** How often a search is asked again while the worker is still indexing older messages. */
const REASK_WHILE_INDEXING_MS = 1_000;

export type SearchState =
  | { status: "idle" }
  | { status: "searching"; query: string; previous: SearchResults | null }
  | { status: "done"; query: string; limit: number; results: SearchResults }
  | { status: "failed"; query: string; error: string };

/** Hits asked for as a query is typed: a screenful of the results pane (a hit is a line of ~36 px). */
export const FIRST_PAGE = 20;
/** Hits added by each "Show more". */
export const MORE_PAGE = 50;
/** The most hits shown (the worker's own cap, MAX_SEARCH_LIMIT in lib/engine/search.ts). */
export const MAX_HITS = 200;

/** The query asked from the input event, waiting for useSearch to take its answer. */
let ahead: { query: string; limit: number; answer: Promise<SearchResults> } | null = null;

/** Asks the worker for `query` now (from the input event); the next useSearch of the same query takes the answer. */
export function searchAhead(query: string, limit = FIRST_PAGE): void {
  const trimmed = query.trim();
  if (!trimmed) {
    ahead = null;
    return;
  }
  const answer = callEngine("search", { query: trimmed, limit });
  // a failure is shown by the hook that takes it; one nobody takes is not an unhandled rejection
  answer.catch(() => undefined);
  ahead = { query: trimmed, limit, answer };
}

/** The answer asked ahead for this query, else a new ask. Taken once: asking again (while indexing) asks anew. */
function ask(query: string, limit: number): Promise<SearchResults> {
  const early = ahead;
  ahead = null;
  return early && early.query === query && early.limit === limit ? early.answer : callEngine("search", { query, limit });
}

export interface Search {
  state: SearchState;
  /** Asks for more hits of the query shown (null: there are no more, or the most are shown). */
  showMore: (() => void) | null;
}

export function useSearch(query: string): Search {
  const [state, setState] = useState<SearchState>({ status: "idle" });
  const [round, setRound] = useState(0);
  const trimmed = query.trim();
  // the limit belongs to its query: a new query starts again at the first page
  const [paged, setPaged] = useState<{ query: string; limit: number }>({ query: "", limit: FIRST_PAGE });
  const limit = paged.query === trimmed ? paged.limit : FIRST_PAGE;
  useEffect(() => {
    if (!trimmed) {
      setState({ status: "idle" });
      return;
    }
    let live = true;
    let reask: ReturnType<typeof setTimeout> | undefined;
    setState((prev) => ({ status: "searching", query: trimmed, previous: prev.status === "done" ? prev.results : prev.status === "searching" ? prev.previous : null }));
    ask(trimmed, limit).then(
      (results) => {
        if (!live) return;
        setState({ status: "done", query: trimmed, limit, results });
        if (results.indexing) reask = setTimeout(() => setRound((r) => r + 1), REASK_WHILE_INDEXING_MS);
      },
      (error: unknown) => {
        if (live) setState({ status: "failed", query: trimmed, error: errorCode(error) === "bad_request" ? "That search is too long." : describeError(error) });
      },
    );
    return () => {
      live = false;
      clearTimeout(reask);
    };
  }, [trimmed, limit, round]);
  // only for the answer to this very ask: between a "Show more" and its effect the hits shown are the smaller
  // page's, and offering more again then would skip a page
  const more = state.status === "done" && state.query === trimmed && state.limit === limit && state.results.more && limit < MAX_HITS;
  const showMore = useCallback(() => setPaged({ query: trimmed, limit: Math.min(MAX_HITS, limit + MORE_PAGE) }), [trimmed, limit]);
  return { state, showMore: more ? showMore : null };
}
