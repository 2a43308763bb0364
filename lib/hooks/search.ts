"use client";
// Search as you type: the worker searches its index (lib/engine/search.ts); a query typed while another
// runs waits a moment and replaces it, and an answer to an older query is never shown.
import { useEffect, useState } from "react";
import type { SearchResults } from "../worker/rpc";
import { callEngine } from "./engine";
import { describeError, errorCode } from "./actions";

/** Typing pauses this long before the worker is asked. */
const SETTLE_MS = 60;

export type SearchState =
  | { status: "idle" }
  | { status: "searching"; query: string; previous: SearchResults | null }
  | { status: "done"; query: string; results: SearchResults }
  | { status: "failed"; query: string; error: string };

export function useSearch(query: string, limit = 50): SearchState {
  const [state, setState] = useState<SearchState>({ status: "idle" });
  const trimmed = query.trim();
  useEffect(() => {
    if (!trimmed) {
      setState({ status: "idle" });
      return;
    }
    let live = true;
    setState((prev) => ({ status: "searching", query: trimmed, previous: prev.status === "done" ? prev.results : prev.status === "searching" ? prev.previous : null }));
    const timer = setTimeout(() => {
      callEngine("search", { query: trimmed, limit }).then(
        (results) => {
          if (live) setState({ status: "done", query: trimmed, results });
        },
        (error: unknown) => {
          if (live) setState({ status: "failed", query: trimmed, error: errorCode(error) === "bad_request" ? "That search is too long." : describeError(error) });
        },
      );
    }, SETTLE_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [trimmed, limit]);
  return state;
}
