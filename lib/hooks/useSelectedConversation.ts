"use client";
// The open conversation lives in the URL hash (#c=<id>) so a reload, the back button and a shared
// link all keep it, and selecting one needs no server round trip.
import { useCallback, useSyncExternalStore } from "react";
import { startOpening } from "./opening";
import { selectedPerson } from "./people";

const PREFIX = "#c=";

function read(): string | null {
  const hash = window.location.hash;
  if (!hash.startsWith(PREFIX)) return null;
  try {
    return decodeURIComponent(hash.slice(PREFIX.length)) || null;
  } catch {
    return null;
  }
}

// A conversation chosen (a row's link, Back, a search result) starts reading its row and messages before
// React renders it: this listener is the page's first on "hashchange", ahead of React's.
if (typeof window !== "undefined") {
  window.addEventListener("hashchange", () => {
    const id = read();
    // a person's merged view ("One row per person") reads its own way
    if (id && selectedPerson(id) === null) startOpening(id);
  });
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

export function conversationHref(id: string): string {
  return `${PREFIX}${encodeURIComponent(id)}`;
}

export function useSelectedConversation(): [string | null, (id: string | null) => void] {
  const selected = useSyncExternalStore(subscribe, read, () => null);
  const select = useCallback((id: string | null) => {
    if (id) window.location.hash = conversationHref(id).slice(1);
    else history.pushState(null, "", window.location.pathname + window.location.search);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  }, []);
  return [selected, select];
}
