"use client";
// Search as you type: every keystroke asks the worker (lib/engine/search.ts: a query is a few ms there, and
// a pause before asking would be time a person waits for nothing); an answer to an older query is never shown.
// While older messages are still being indexed, the same query is asked again every second, so what the
// "more may match soon" note promises comes without another keystroke.
import { useEffect, useState } from "react";
import type { SearchResults } from "../worker/rpc";
import { callEngine } from "./engine";
import { describeError, errorCode } from "./actions";

/** How often a search is asked again while the worker is still indexing older messages. */
const REASK_WHILE_INDEXING_MS = 1_000;

export type SearchState =
  | { status: "idle" }
  | { status: "searching"; query: string; previous: SearchResults | null }
  | { status: "done"; query: string; results: SearchResults }
  | { status: "failed"; query: string; error: string };

export function useSearch(query: string, limit = 50): SearchState {
  const [state, setState] = useState<SearchState>({ status: "idle" });
  const [round, setRound] = useState(0);
  const trimmed = query.trim();
  useEffect(() => {
    if (!trimmed) {
      setState({ status: "idle" });
      return;
    }
    let live = true;
    let reask: ReturnType<typeof setTimeout> | undefined;
    setState((prev) => ({ status: "searching", query: trimmed, previous: prev.status === "done" ? prev.results : prev.status === "searching" ? prev.previous : null }));
    callEngine("search", { query: trimmed, limit }).then(
      (results) => {
        if (!live) return;
        setState({ status: "done", query: trimmed, results });
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
  return state;
}
