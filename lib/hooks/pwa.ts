"use client";
// The installable-app parts: service worker, install prompt, persistent storage, title and badge.
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import { latestAtMostEvery } from "./throttle";

/** False during server rendering and the hydration pass, true afterwards. */
export function useIsClient(): boolean {
  return useSyncExternalStore(
    () => () => {},
    () => true,
    () => false,
  );
}

/** Registers /sw.js and hands it the URLs this page already loaded, so the first visit is enough to work offline. */
export function useServiceWorker(): void {
  useEffect(() => {
    if (!("serviceWorker" in navigator)) return;
    let cancelled = false;
    const sendLoaded = (worker: ServiceWorker | null | undefined) => {
      if (!worker || cancelled) return;
      const urls = performance
        .getEntriesByType("resource")
        .map((entry) => entry.name)
        .filter((url) => url.startsWith(`${location.origin}/_next/static/`));
      worker.postMessage({ type: "cache-urls", urls });
    };
    navigator.serviceWorker
      .register("/sw.js", { scope: "/" })
      .then(async () => {
        const ready = await navigator.serviceWorker.ready;
        sendLoaded(ready.active);
      })
      .catch(() => {
        // no service worker (private mode, unsupported): the app still works online
      });
    return () => {
      cancelled = true;
    };
  }, []);
}

interface InstallPromptEvent extends Event {
  prompt(): Promise<void>;
  userChoice: Promise<{ outcome: "accepted" | "dismissed" }>;
}

// The browser fires beforeinstallprompt once, possibly before React has mounted anything, so the
// event is caught when this module loads and kept in a tiny store that components subscribe to.
let deferredPrompt: InstallPromptEvent | null = null;
const promptListeners = new Set<() => void>();

function setDeferredPrompt(event: InstallPromptEvent | null): void {
  deferredPrompt = event;
  for (const listener of promptListeners) listener();
}

if (typeof window !== "undefined") {
  window.addEventListener("beforeinstallprompt", (event) => {
    // keep the browser's own mini-infobar away; the app shows its own Install button
    event.preventDefault();
    setDeferredPrompt(event as InstallPromptEvent);
  });
  window.addEventListener("appinstalled", () => setDeferredPrompt(null));
}

function subscribePrompt(listener: () => void): () => void {
  promptListeners.add(listener);
  return () => promptListeners.delete(listener);
}

/** A function to show the browser's install dialog, or null when the browser does not offer one. */
export function useInstallPrompt(): (() => Promise<void>) | null {
  const event = useSyncExternalStore(subscribePrompt, () => deferredPrompt, () => null);
  const install = useCallback(async () => {
    if (!event) return;
    await event.prompt();
    await event.userChoice;
    // a prompt can be shown only once; the browser fires a new event if installation is offered again
    setDeferredPrompt(null);
  }, [event]);
  return event ? install : null;
}

/** Asks once that the browser never evicts keys and history under storage pressure. */
export function usePersistentStorage(enabled: boolean): void {
  useEffect(() => {
    if (!enabled || !navigator.storage?.persist) return;
    void (async () => {
      try {
        if (!(await navigator.storage.persisted())) await navigator.storage.persist();
      } catch {
        // denial is the browser's call; the app keeps working with best-effort storage
      }
    })();
  }, [enabled]);
}

/** How often the title and badge follow the unread count at most while it keeps changing (a backlog). */
export const UNREAD_TITLE_PERIOD_MS = 1_000;

function showUnread(unread: number): void {
  document.title = unread > 0 ? `(${unread}) Junction` : "Junction";
  const nav = navigator as Navigator & { setAppBadge?: (n: number) => Promise<void>; clearAppBadge?: () => Promise<void> };
  const badge = unread > 0 ? nav.setAppBadge?.(unread) : nav.clearAppBadge?.();
  badge?.catch(() => {
    // badges need an installed app; elsewhere the title carries the count
  });
}

/**
 * `(N) Junction` while anything is unread, and the same count on the installed app's badge. A change shows at
 * once, further ones at most once a second and the newest always: a backlog changes the count at every
 * commit, and each title and badge write also costs the browser process a message.
 */
export function useUnreadTitle(unread: number): void {
  const [shown] = useState(() => latestAtMostEvery(UNREAD_TITLE_PERIOD_MS, showUnread));
  useEffect(() => () => shown.cancel(), [shown]);
  useEffect(() => shown.push(unread), [shown, unread]);
}
