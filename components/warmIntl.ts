"use client";
// The first Intl.DateTimeFormat of a renderer loads the locale's ICU data: one block of ~100 ms (more on
// a busy machine) on whichever thread asks first. That data is shared by every thread of the process, so
// a throwaway worker asks first, while the page boots; the main thread's formatters then cost a
// millisecond. The worker builds the same formatters components/format.ts builds (same options).

const WARM_SOURCE = `
const now = Date.now();
const options = [
  { hour: "2-digit", minute: "2-digit" },
  { weekday: "short" },
  { weekday: "long" },
  { day: "numeric", month: "short" },
  { day: "numeric", month: "short", year: "2-digit" },
  { day: "numeric", month: "long" },
  { day: "numeric", month: "long", year: "numeric" },
];
for (const o of options) new Intl.DateTimeFormat(undefined, o).format(now);
postMessage(0);
close();
`;

/** How long the main thread waits for the worker before it warms its formatters anyway. */
const WAIT_MS = 5_000;

let warmed: Promise<void> | null = null;

/** Starts the warm-up worker once; resolves when it is done (or failed, or could not start). */
export function warmIntlOffThread(): Promise<void> {
  if (warmed) return warmed;
  warmed = new Promise<void>((resolve) => {
    if (typeof Worker === "undefined" || typeof Blob === "undefined" || typeof URL.createObjectURL !== "function") {
      resolve();
      return;
    }
    try {
      const url = URL.createObjectURL(new Blob([WARM_SOURCE], { type: "text/javascript" }));
      const worker = new Worker(url, { name: "junction-intl-warmup" });
      const done = () => {
        clearTimeout(timer);
        worker.terminate();
        URL.revokeObjectURL(url);
        resolve();
      };
      worker.onmessage = done;
      worker.onerror = done;
      const timer = setTimeout(done, WAIT_MS);
    } catch {
      resolve();
    }
  });
  return warmed;
}

// started when the app's module is evaluated, before hydration, like the engine's worker
if (typeof window !== "undefined") void warmIntlOffThread();
