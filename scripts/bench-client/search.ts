// Search on the large account the inbox bench seeded (200,000 messages): the worker's background indexing
// of that history, the index's size on disk beside the messages', and a one-word and a prefix query, each
// timed in the worker and from the keystroke to the results painted.
import type { Page } from "@playwright/test";
import { settle } from "./app";
import { traceThreads, type TraceSummary } from "./profile";

export interface SearchFigures {
  /** Background indexing of the seeded history after a start (ms). */
  backfillMs: number;
  /** Storage the index added, as a share of what the seeded messages took (navigator.storage.estimate). */
  indexShare: number;
  indexBytes: number;
  messageBytes: number;
  oneWord: QueryRuns;
  prefix: QueryRuns;
}

export interface QueryRuns {
  query: string;
  /** The worker's time per run (ms). */
  worker: number[];
  /** Query typed → results painted (ms). */
  page: number[];
  /** Messages found (the last run). */
  hits: number;
}

/** Words the seed writes (seed.ts): "photos" in a few % of messages, "birth…" likewise. */
const ONE_WORD = "photos";
const PREFIX = "birt";

async function usage(page: Page): Promise<number> {
  return page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
}

async function metaKey(page: Page, key: string, value: string | null): Promise<boolean> {
  return page.evaluate(
    async ({ key, value }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open("junction");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      try {
        const tx = db.transaction("meta", value === null ? "readonly" : "readwrite");
        const store = tx.objectStore("meta");
        const present = await new Promise<boolean>((resolve, reject) => {
          const req = value === null ? store.count(key) : store.put({ key, value });
          req.onsuccess = () => resolve(value === null ? (req.result as number) > 0 : true);
          req.onerror = () => reject(req.error);
        });
        return present;
      } finally {
        db.close();
      }
    },
    { key, value },
  );
}

/** Types `query` into the Search box in the page and waits for its results to be painted. */
async function timedQuery(page: Page, query: string): Promise<{ worker: number; page: number; hits: number }> {
  return page.evaluate(async (query) => {
    const input = document.querySelector<HTMLInputElement>('input[type="search"][aria-label="Search"]');
    if (!input) throw new Error("no Search box");
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set;
    const type = (value: string) => {
      setValue?.call(input, value);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    };
    const shown = () => document.querySelector<HTMLElement>(`[data-query="${CSS.escape(query)}"]`);
    const started = performance.now();
    type(query);
    await new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`no results for ${query}`)), 30_000);
      const check = () => {
        if (shown()) {
          clearTimeout(timeout);
          observer.disconnect();
          resolve();
        }
      };
      const observer = new MutationObserver(check);
      observer.observe(document.body, { subtree: true, childList: true, attributes: true });
      check();
    });
    // the frame that shows them
    await new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    const ended = performance.now();
    // where a trace (--profile) ends the query
    performance.mark("bench:search-painted");
    const box = shown();
    const worker = Number(box?.dataset.tookMs ?? Number.NaN);
    const hits = box?.querySelectorAll("mark").length ?? 0;
    type("");
    return { worker, page: ended - started, hits };
  }, query);
}

/** `messageBytes`: what the seeded history took in storage (seed.ts). */
export async function benchSearch(
  page: Page,
  runs: number,
  messageBytes: number,
  log: (line: string) => void,
  traceTo?: { dir: string; traces: TraceSummary[] },
): Promise<SearchFigures> {
  // the seed wrote raw rows, as an earlier version's database holds them: the next start indexes them
  const before = await usage(page);
  await metaKey(page, "searchBackfill", "");
  const started = Date.now();
  await page.reload();
  await page.getByRole("searchbox", { name: "Search" }).waitFor();
  while (await metaKey(page, "searchBackfill", null)) await page.waitForTimeout(250);
  const backfillMs = Date.now() - started;
  log(`search: history indexed in ${backfillMs} ms`);
  await settle(page, 3_000);
  const after = await usage(page);

  const measure = async (query: string): Promise<QueryRuns> => {
    const out: QueryRuns = { query, worker: [], page: [], hits: 0 };
    // one unmeasured run warms the worker's code paths
    await timedQuery(page, query);
    for (let i = 0; i < runs; i++) {
      await page.waitForTimeout(150);
      const r = await timedQuery(page, query);
      out.worker.push(r.worker);
      out.page.push(r.page);
      out.hits = r.hits;
    }
    log(`search "${query}": worker p95 ${Math.round(p95(out.worker))} ms, page p95 ${Math.round(p95(out.page))} ms`);
    return out;
  };
  const oneWord = await measure(ONE_WORD);
  const prefix = await measure(PREFIX);
  const browser = page.context().browser();
  if (traceTo && browser) {
    // an extra, unmeasured query: the tracer's own cost stays out of the figures above
    log("tracing one search…");
    await page.waitForTimeout(150);
    traceTo.traces.push((await traceThreads(browser, page, traceTo.dir, "search", () => timedQuery(page, ONE_WORD)))[0]);
  }
  const indexBytes = Math.max(0, after - before);
  return { backfillMs, indexBytes, messageBytes, indexShare: messageBytes > 0 ? indexBytes / messageBytes : Number.NaN, oneWord, prefix };
}

export function p95(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? Number.NaN;
}
