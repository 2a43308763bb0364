// What runs inside the page to take the measurements there, on the page's own clock
// (performance.now(), whose origin is the navigation start), so no Node round trip is counted.
// Installed by addInitScript on every document before the app's scripts run.

export interface LongTask {
  start: number;
  duration: number;
}

export interface PageProbe {
  /** First contentful paint: the app shell on screen. */
  fcp: number | null;
  /** A row of the list "Conversations" is in the DOM and inside the viewport. */
  firstRow: number | null;
  /** The frame after firstRow was presented (one rAF, then a task): when a person can see it. */
  firstRowPainted: number | null;
  /**
   * The same for the app's own list: firstRow may be in the copy of the last inbox the page paints before
   * its scripts run (lib/hooks/firstScreen.ts); this one is the live, interactive row.
   */
  liveRow: number | null;
  liveRowPainted: number | null;
  longTasks: LongTask[];
  /**
   * Every time a 10 ms timer fired more than 16 ms late, the span it was held up: rendering, GC and
   * tasks under the 50 ms long-task threshold show up here too.
   */
  stalls: LongTask[];
  /** First time the page did something (the app's first IndexedDB open, its worker), ms. */
  marks: Record<string, number>;
  /** Set by arm(): waits for the newest message of an opening conversation. */
  open: { text: string; clickedAt: number | null; shownAt: number | null; shownPainted: number | null } | null;
  arm(text: string): void;
}

declare global {
  interface Window {
    __bench?: PageProbe;
  }
}

/** Serialised into the page; keep it free of imports and outer references. */
export function installProbe(): void {
  if (window.__bench) return;
  const probe: PageProbe = {
    fcp: null,
    firstRow: null,
    firstRowPainted: null,
    liveRow: null,
    liveRowPainted: null,
    longTasks: [],
    stalls: [],
    marks: {},
    open: null,
    arm(text: string) {
      probe.open = { text, clickedAt: null, shownAt: null, shownPainted: null };
      armed();
    },
  };
  window.__bench = probe;

  // set below, once the watcher exists
  let armed = () => {};

  const afterPaint = (done: (t: number) => void) => {
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => done(performance.now());
      channel.port2.postMessage(0);
    });
  };

  const inView = (el: Element, box: DOMRect) => {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.bottom > box.top && r.top < box.bottom && r.right > box.left && r.left < box.right;
  };

  const viewport = () => new DOMRect(0, 0, window.innerWidth, window.innerHeight);

  const checkRow = () => {
    if (probe.firstRow !== null && probe.liveRow !== null) return;
    for (const row of Array.from(document.querySelectorAll('[role="list"][aria-label="Conversations"] li a'))) {
      if (!inView(row, viewport())) continue;
      if (probe.firstRow === null) {
        probe.firstRow = performance.now();
        afterPaint((t) => (probe.firstRowPainted = t));
      }
      if (probe.liveRow === null && !row.closest("#junction-first-screen")) {
        probe.liveRow = performance.now();
        afterPaint((t) => (probe.liveRowPainted = t));
      }
    }
  };

  const checkOpen = () => {
    const open = probe.open;
    if (!open || open.clickedAt === null || open.shownAt !== null) return;
    const log = document.querySelector('[role="log"][aria-label="Messages"]');
    if (!log) return;
    const box = log.getBoundingClientRect();
    for (const article of Array.from(log.querySelectorAll('[role="article"], article'))) {
      if (article.textContent?.includes(open.text) && inView(article, box)) {
        open.shownAt = performance.now();
        afterPaint((t) => {
          open.shownPainted = t;
          // where a trace (--profile) ends the open
          performance.mark("bench:open-painted");
        });
        return;
      }
    }
  };

  const check = () => {
    checkRow();
    checkOpen();
  };

  // watching costs the page a little, so it runs only while something is awaited
  const pending = () => probe.firstRow === null || probe.liveRow === null || (probe.open !== null && probe.open.shownAt === null);
  const observer = new MutationObserver(() => {
    check();
    if (!pending()) observer.disconnect();
  });
  let watching = false;
  const watch = () => {
    observer.observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
    if (watching) return;
    watching = true;
    // layout alone (a scroll to the end) changes what is in view without a mutation
    const frame = () => {
      check();
      if (pending()) requestAnimationFrame(frame);
      else {
        observer.disconnect();
        watching = false;
      }
    };
    requestAnimationFrame(frame);
  };
  watch();
  armed = watch;

  document.addEventListener(
    "click",
    () => {
      if (probe.open && probe.open.clickedAt === null) probe.open.clickedAt = performance.now();
    },
    { capture: true },
  );

  const mark = (name: string) => {
    probe.marks[name] ??= performance.now();
  };
  // where the time before the first row goes: the app's first database open, and its worker start.
  // The bench's own reads (its backlog watcher) set __benchQuiet and are not marked.
  const quiet = (o: object) => (o as { __benchQuiet?: boolean }).__benchQuiet === true;
  const open = indexedDB.open.bind(indexedDB);
  indexedDB.open = (name: string, version?: number) => {
    if (quiet(window)) return open(name, version);
    mark("idbOpenCalled");
    const req = open(name, version);
    req.addEventListener("success", () => mark("idbOpened"));
    return req;
  };
  // the app's first read of each table (Dexie: one transaction per read), asked and ended
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, stores: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) {
    const tx = transaction.call(this, stores, mode, options);
    if (quiet(this)) return tx;
    const names = typeof stores === "string" ? [stores] : Array.from(stores);
    const key = names.length > 2 ? "allTables" : names.join("+");
    if (probe.marks[`${key}Read`] === undefined) {
      mark(`${key}Read`);
      tx.addEventListener("complete", () => mark(`${key}ReadDone`));
    }
    return tx;
  } as typeof IDBDatabase.prototype.transaction;
  const NativeWorker = window.Worker;
  window.Worker = class extends NativeWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      mark("workerCreated");
      super(url, options);
    }
  };

  const TICK = 10;
  let lastTick = performance.now();
  setInterval(() => {
    const now = performance.now();
    const late = now - lastTick - TICK;
    if (late > 16) probe.stalls.push({ start: lastTick + TICK, duration: late });
    lastTick = now;
  }, TICK);

  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.name === "first-contentful-paint") probe.fcp = entry.startTime;
  }).observe({ type: "paint", buffered: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) probe.longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: "longtask", buffered: true });
}

/** The init script: tsx keeps function names with a `__name` helper the page does not have. */
export function probeScript(): string {
  return `globalThis.__name ??= (f) => f;\n(${installProbe.toString()})();`;
}
