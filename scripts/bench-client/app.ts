// Driving the real app in Chromium the way a person does: by role and accessible name.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import type { LongTask, PageProbe } from "./probe";
import { probeScript } from "./probe";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../e2e/env";

export async function launch(): Promise<Browser> {
  return chromium.launch({ headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * Profiles on disk (`--on-disk`): each profile a browser of its own with a user data directory, as an
 * installed app or a person's browser keeps it. By default a profile is a context of the shared browser,
 * which Chromium makes off the record: its IndexedDB, Blob storage and origin-private file system live in
 * memory, in the browser process (the origin-private file system's writes then go through it, where on disk
 * a worker writes the file itself).
 */
const onDisk: { enabled: boolean; open: { context: BrowserContext; dir: string }[] } = { enabled: false, open: [] };

export function useProfilesOnDisk(enabled: boolean): void {
  onDisk.enabled = enabled;
}

/** Closes the profiles on disk and deletes their directories. */
export async function closeProfiles(): Promise<void> {
  for (const { context, dir } of onDisk.open.splice(0)) {
    await context.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The browser a profile runs in: its own for a profile on disk, else the shared one (for CDP sessions). */
export function browserOf(context: BrowserContext, shared: Browser): Browser {
  return context.browser() ?? shared;
}

/**
 * A person's browser profile: its own IndexedDB, kept across the pages opened in it. With `probe` (the
 * default), the page probe (./probe.ts) is installed in every page: it has a 10 ms timer running all along,
 * and a check every frame until the inbox's rows are seen, which a bench that needs neither leaves out.
 */
export async function newProfile(browser: Browser, baseURL: string, { probe = true }: { probe?: boolean } = {}): Promise<BrowserContext> {
  // wide enough that the inbox and the conversation are side by side, as on a laptop
  const viewport = { width: 1280, height: 800 };
  let context: BrowserContext;
  if (onDisk.enabled) {
    const dir = mkdtempSync(join(tmpdir(), "junction-bench-profile-"));
    context = await chromium.launchPersistentContext(dir, { headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, baseURL, viewport });
    onDisk.open.push({ context, dir });
  } else context = await browser.newContext({ baseURL, viewport });
  // tsx keeps function names with a `__name` helper the page does not have (in the probe's script too)
  await context.addInitScript({ content: probe ? probeScript() : "globalThis.__name ??= (f) => f;" });
  await context.addInitScript({ content: tableChangesScript() });
  context.setDefaultTimeout(120_000);
  return context;
}

/** First run: the account form, then the inbox. Returns the new account's address. `origin` where the context has no base URL. */
export async function createAccount(page: Page, brand: "Messenger" | "Instagram" | "WhatsApp", handle: string, displayName: string, origin = ""): Promise<string> {
  await page.goto(`${origin}/`);
  await page.getByRole("radiogroup", { name: "Brand" }).getByRole("radio", { name: brand }).check();
  await page.getByRole("textbox", { name: "Handle" }).fill(handle);
  await page.getByRole("textbox", { name: "Display name" }).fill(displayName);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("button", { name: "New message" })).toBeVisible({ timeout: 60_000 });
  const addresses = await page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open("junction");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      return await new Promise<string[]>((resolve, reject) => {
        const req = db.transaction("accounts", "readonly").objectStore("accounts").getAllKeys();
        req.onsuccess = () => resolve(req.result.map(String));
        req.onerror = () => reject(req.error);
      });
    } finally {
      db.close();
    }
  });
  const address = addresses[0];
  if (addresses.length !== 1 || !address) throw new Error(`expected one account, found ${addresses.length}`);
  return address;
}

export type ProbeReading = Omit<PageProbe, "arm">;

export async function readProbe(page: Page): Promise<ProbeReading> {
  return page.evaluate(() => {
    const probe = window.__bench;
    if (!probe) throw new Error("the bench probe is not installed");
    const { fcp, firstRow, firstRowPainted, liveRow, liveRowPainted, longTasks, stalls, marks, open } = probe;
    // the navigation and script timings of the platform, beside the probe's own marks
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
    const scripts = performance.getEntriesByType("resource").filter((e) => (e as PerformanceResourceTiming).initiatorType === "script");
    const timeline: Record<string, number> = { ...marks };
    if (nav) {
      timeline.documentResponseEnd = nav.responseEnd;
      timeline.domContentLoaded = nav.domContentLoadedEventEnd;
    }
    if (scripts.length > 0) timeline.scriptsLoaded = Math.max(...scripts.map((e) => e.startTime + e.duration));
    return { fcp, firstRow, firstRowPainted, liveRow, liveRowPainted, longTasks: [...longTasks], stalls: [...stalls], marks: timeline, open: open ? { ...open } : null };
  });
}

export interface Blocking {
  /** Longest task the Long Tasks API reported (0: none reached 50 ms). */
  longestTask: number;
  /** Longest span a 10 ms timer was held up (0: never more than 16 ms). */
  longestStall: number;
  longTasks: number;
  longTaskMs: number;
}

/** How much the main thread was blocked between `from` and `to` (page clock). */
export function blocking(probe: ProbeReading, from: number, to: number): Blocking {
  const overlaps = (t: LongTask) => t.start + t.duration > from && t.start < to;
  const tasks = probe.longTasks.filter(overlaps);
  return {
    longestTask: Math.max(0, ...tasks.map((t) => t.duration)),
    longestStall: Math.max(0, ...probe.stalls.filter(overlaps).map((t) => t.duration)),
    longTasks: tasks.length,
    longTaskMs: tasks.reduce((sum, t) => sum + t.duration, 0),
  };
}

/** Lets the page settle (workers started, full queries done) before the next measurement. */
export async function settle(page: Page, ms = 1_000): Promise<void> {
  await page.waitForTimeout(ms);
  await page.evaluate(() => new Promise<void>((resolve) => requestIdleCallback(() => resolve(), { timeout: 5_000 })));
}

/** The script that installs `__benchChanges` in a page (installTableChanges), for a context's init scripts. */
export function tableChangesScript(): string {
  return `(${installTableChanges.toString()})();`;
}

/** What `__benchChanges(table)` gives a bench's watcher in the page (installTableChanges). */
export interface TableChanges {
  /** Resolves at the next commit that changed the table (one that came since the last call counts), or after `fallbackMs`. */
  next(fallbackMs: number): Promise<void>;
  /** The commits of the table announced so far: none means the watcher only ever woke on its fallback. */
  readonly seen: number;
  close(): void;
}

/**
 * Installed in every page: `__benchChanges(table)` wakes a bench's watcher when a commit changed `table` of the
 * app's database. Dexie announces every commit, the engine worker's too, on its BroadcastChannel
 * ("x-storagemutated-1": the parts of each table it changed), so a watcher reads the store when there is
 * something to see instead of polling it, which is load the app itself does not have. An announcement that
 * comes while the watcher is reading is kept for its next wait.
 */
function installTableChanges(): void {
  (globalThis as unknown as { __benchChanges: (table: string) => TableChanges }).__benchChanges = (table) => {
    const channel = new BroadcastChannel("x-storagemutated-1");
    const prefix = `idb://junction/${table}/`;
    let pending = false;
    let seen = 0;
    let wake: (() => void) | null = null;
    channel.onmessage = (event: MessageEvent<Record<string, unknown> | null>) => {
      if (!event.data || !Object.keys(event.data).some((part) => part.startsWith(prefix))) return;
      seen += 1;
      pending = true;
      wake?.();
    };
    return {
      get seen() {
        return seen;
      },
      next(fallbackMs) {
        if (pending) {
          pending = false;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            wake = null;
            pending = false;
            resolve();
          };
          const timer = setTimeout(done, fallbackMs);
          wake = done;
        });
      },
      close() {
        channel.close();
      },
    };
  };
}
