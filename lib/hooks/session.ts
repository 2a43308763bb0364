"use client";
// Logging out of this device: while it runs and after it, nothing may read the database (a live query
// would open, and so re-create, the database that was just deleted).
import { useSyncExternalStore } from "react";
import { logOutAndWipe } from "./actions";

export type SessionState = "active" | "loggingOut" | "loggedOut" | "failed";

let state: SessionState = "active";
const listeners = new Set<() => void>();

function set(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useSessionState(): SessionState {
  return useSyncExternalStore(subscribe, () => state, () => "active");
}

/** Unmounts everything that reads the database, then logs out and wipes the origin's storage. */
export async function logOut(): Promise<void> {
  set("loggingOut");
  // one frame for React to unmount the live queries before the database goes
  await new Promise((resolve) => setTimeout(resolve, 50));
  try {
    await logOutAndWipe();
    set("loggedOut");
  } catch {
    set("failed");
  }
}

/** Back to a fresh app: the first-run screen on a page that has never held an account. */
export function startAgain(): void {
  window.location.replace("/");
}
