// Inbox load and conversation open on a large account: 5,000 conversations, 200,000 messages.
import type { Browser, Page } from "@playwright/test";
import { blocking, createAccount, newProfile, readProbe, settle, type Blocking } from "./app";
import { profile, traceThreads, type ProfileSummary, type TraceSummary } from "./profile";
import { seedInPage, type SeedPlan, type SeedResult } from "./seed";
import { benchSearch, type SearchFigures } from "./search";

/** What `--only` can pick: the inbox loads, the merged-view loads, the conversation open, search, the backlog. */
export const PARTS = ["inbox", "merged", "open", "search", "backlog"] as const;
export type Part = (typeof PARTS)[number];

export interface InboxSizes {
  conversations: number;
  messages: number;
  bigMessages: number;
  runs: number;
}

export interface InboxRun {
  /** First contentful paint (the app shell), ms from navigation start. */
  fcp: number;
  /** First inbox row in the DOM and in view. */
  firstRow: number;
  /** The frame after it: what a person sees. */
  firstRowPainted: number;
  /** Navigation start → the app's own (interactive) first row painted; firstRowPainted may be the kept copy's. */
  liveRowPainted: number;
  /** Navigation start → first row painted. */
  blocking: Blocking;
  /** When the steps before the first row happened (document, scripts, database open, worker). */
  timeline: Record<string, number>;
}

export interface OpenRun {
  /** Click on the row → newest message in the DOM and in view of the log. */
  shown: number;
  shownPainted: number;
  blocking: Blocking;
}

export interface InboxFigures {
  seed: SeedResult;
  loads: InboxRun[];
  /** The same loads with "One row per person" on and PEOPLE people of two addresses joined. */
  mergedLoads: InboxRun[];
  opens: OpenRun[];
  profiles: ProfileSummary[];
  /** With --profile: traces of every thread (the conversation open, a search). */
  traces: TraceSummary[];
  /** Null when --only left search out. */
  search: SearchFigures | null;
}

const BIG_PEER = "Big Conversation";
/** People joined for the merged-view loads, two seeded addresses each. */
const PEOPLE = 250;

/**
 * Joins pairs of seeded peers into people (raw IndexedDB, as the seed writes) and turns "One row per
 * person" on. Returns how many rows the merged inbox has.
 */
async function joinPeople(page: Page, people: number): Promise<number> {
  return page.evaluate(async (people) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open("junction");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const read = db.transaction(["conversations"], "readonly");
    const rows = await new Promise<{ theirAddress: string }[]>((resolve, reject) => {
      const req = read.objectStore("conversations").getAll();
      req.onsuccess = () => resolve(req.result as { theirAddress: string }[]);
      req.onerror = () => reject(req.error);
    });
    const addresses = [...new Set(rows.map((r) => r.theirAddress))];
    const tx = db.transaction(["addressBook", "people", "meta"], "readwrite");
    const now = Date.now();
    for (let p = 0; p < people; p++) {
      const personId = `bench-person-${p}`;
      tx.objectStore("people").put({ id: personId, createdAt: now });
      for (const address of addresses.slice(2 * p, 2 * p + 2)) tx.objectStore("addressBook").put({ address, personId, updatedAt: now });
    }
    tx.objectStore("meta").put({ key: "settings", value: { readReceipts: true, theme: "system", onePerPerson: true } });
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    return rows.length - people;
  }, people);
}

/** The list knows every seeded conversation (aria-setsize), so a load never ends on a wrong inbox. */
async function waitForFullList(page: Page, conversations: number): Promise<void> {
  await page.locator(`[role="list"][aria-label="Conversations"] li[aria-setsize="${conversations}"]`).first().waitFor();
  // the full query runs a couple of frames after the first screenful; let it land before moving on
  await settle(page, 300);
}

async function loadInbox(page: Page, conversations: number, profileTo?: { dir: string; profiles: ProfileSummary[] }): Promise<InboxRun> {
  const load = async () => {
    await page.goto("/");
    await page.waitForFunction(() => window.__bench?.firstRowPainted != null && window.__bench?.liveRowPainted != null);
  };
  if (profileTo) profileTo.profiles.push((await profile(page, profileTo.dir, "inbox-load", load))[0]);
  else await load();
  const probe = await readProbe(page);
  await waitForFullList(page, conversations);
  if (probe.fcp === null || probe.firstRow === null || probe.firstRowPainted === null || probe.liveRowPainted === null) throw new Error("inbox probe incomplete");
  return {
    fcp: probe.fcp,
    firstRow: probe.firstRow,
    firstRowPainted: probe.firstRowPainted,
    liveRowPainted: probe.liveRowPainted,
    blocking: blocking(probe, 0, probe.firstRowPainted),
    timeline: { ...probe.marks, fcp: probe.fcp, firstRow: probe.firstRow, firstRowPainted: probe.firstRowPainted },
  };
}

async function openBig(page: Page, conversations: number, newestText: string, traceTo?: { dir: string; traces: TraceSummary[] }): Promise<OpenRun> {
  await loadInbox(page, conversations);
  await settle(page);
  await page.evaluate((text) => window.__bench?.arm(text), newestText);
  const row = page.getByRole("list", { name: "Conversations" }).getByRole("link", { name: BIG_PEER, exact: true });
  const open = async () => {
    await row.click();
    await page.waitForFunction(() => window.__bench?.open?.shownPainted != null);
  };
  // a trace, not only a CPU profile: style, layout and paint are half of such a click
  const browser = page.context().browser();
  if (traceTo && browser) traceTo.traces.push((await traceThreads(browser, page, traceTo.dir, "conversation-open", open))[0]);
  else await open();
  const probe = await readProbe(page);
  const shown = probe.open;
  if (!shown || shown.clickedAt === null || shown.shownAt === null || shown.shownPainted === null) throw new Error("open probe incomplete");
  return {
    shown: shown.shownAt - shown.clickedAt,
    shownPainted: shown.shownPainted - shown.clickedAt,
    blocking: blocking(probe, shown.clickedAt, shown.shownPainted),
  };
}

export async function benchInbox(
  browser: Browser,
  baseURL: string,
  sizes: InboxSizes,
  tag: string,
  log: (line: string) => void,
  profileDir: string | null,
  parts: ReadonlySet<Part> = new Set(PARTS),
): Promise<InboxFigures | null> {
  // everything here but the backlog needs the seeded account
  if (!PARTS.some((p) => p !== "backlog" && parts.has(p))) return null;
  const context = await newProfile(browser, baseURL);
  try {
    const page = await context.newPage();
    const address = await createAccount(page, "Messenger", `bench.inbox.${tag}`, "Bench Inbox");
    await settle(page);
    const plan: SeedPlan = {
      ourAddress: address,
      ourBrand: address.split(":")[0] ?? "messenger",
      conversations: sizes.conversations,
      messages: sizes.messages,
      bigMessages: sizes.bigMessages,
      bigPeerName: BIG_PEER,
      now: Date.now(),
    };
    log(`seeding ${plan.conversations} conversations and ${plan.messages} messages…`);
    const seed = await page.evaluate(seedInPage, plan);
    if (seed.messages !== plan.messages || seed.conversations !== plan.conversations) throw new Error("seed wrote the wrong number of rows");
    log(`seeded in ${Math.round(seed.ms)} ms`);

    // unmeasured loads warm what a returning person has warm (the service worker's cache, the disk
    // cache), and a pause lets the database settle after 200,000 fresh writes (LevelDB compaction)
    await settle(page, 3_000);
    for (let i = 0; i < 2; i++) await loadInbox(page, sizes.conversations);
    await settle(page);
    const loads: InboxRun[] = [];
    for (let i = 0; i < (parts.has("inbox") ? sizes.runs : 0); i++) {
      loads.push(await loadInbox(page, sizes.conversations));
      log(`inbox load ${i + 1}/${sizes.runs}: first row painted at ${Math.round(loads[loads.length - 1]?.firstRowPainted ?? 0)} ms, live at ${Math.round(loads[loads.length - 1]?.liveRowPainted ?? 0)} ms`);
      await settle(page, 500);
    }
    const opens: OpenRun[] = [];
    for (let i = 0; i < (parts.has("open") ? sizes.runs : 0); i++) {
      opens.push(await openBig(page, sizes.conversations, seed.bigNewestText));
      log(`open ${i + 1}/${sizes.runs}: newest message painted after ${Math.round(opens[opens.length - 1]?.shownPainted ?? 0)} ms`);
    }
    // last of the loads, as it changes the account: "One row per person" with people joined
    const people = Math.min(PEOPLE, Math.floor(sizes.conversations / 4));
    const mergedRows = parts.has("merged") ? await joinPeople(page, people) : 0;
    if (parts.has("merged")) {
      await loadInbox(page, mergedRows);
      await settle(page);
    }
    const mergedLoads: InboxRun[] = [];
    for (let i = 0; i < (parts.has("merged") ? sizes.runs : 0); i++) {
      mergedLoads.push(await loadInbox(page, mergedRows));
      log(`merged inbox load ${i + 1}/${sizes.runs} (${people} people joined): first row painted at ${Math.round(mergedLoads[mergedLoads.length - 1]?.firstRowPainted ?? 0)} ms, live at ${Math.round(mergedLoads[mergedLoads.length - 1]?.liveRowPainted ?? 0)} ms`);
      await settle(page, 500);
    }
    const profiles: ProfileSummary[] = [];
    const traces: TraceSummary[] = [];
    if (profileDir && (parts.has("inbox") || parts.has("open"))) {
      // extra runs: the profiler's own cost stays out of the figures above
      log("profiling one inbox load and one conversation open…");
      if (parts.has("inbox")) await loadInbox(page, sizes.conversations, { dir: profileDir, profiles });
      if (parts.has("open")) await openBig(page, sizes.conversations, seed.bigNewestText, { dir: profileDir, traces });
    }
    // last: indexing the seeded history in the background must not weigh on the figures above
    const search = parts.has("search") ? await benchSearch(page, Math.max(10, sizes.runs * 4), seed.bytes, log, profileDir ? { dir: profileDir, traces } : undefined) : null;
    return { seed, loads, mergedLoads, opens, profiles, traces, search };
  } finally {
    await context.close();
  }
}
