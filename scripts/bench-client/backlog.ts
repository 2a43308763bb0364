// The backlog: while the browser account's page is closed, a Node engine sends it N real encrypted
// messages through the relay. Then the page opens and its worker receives, decrypts and stores them;
// the page measures, on its own clock, when all N are in IndexedDB and how long its main thread was
// ever blocked meanwhile, and a reference of the machine's speed just then (the bare AEAD in a worker of the page).
import type { Browser, Page } from "@playwright/test";
import { blocking, browserOf, createAccount, newProfile, readProbe, type Blocking, type TableChanges } from "./app";
import { cpuBetween, cpuSnapshot, type CpuUse } from "./cpu";
import { traceThreads, type TraceSummary } from "./profile";
import { aeadWorkerSource, bareAead, MB } from "./aead";
import { sendBacklog, sendBacklogDirect, startSender, type SendFigures } from "./sender";

export interface BacklogFigures {
  messages: number;
  send: SendFigures;
  /** Navigation start → all N stored. */
  allStored: number;
  /** Navigation start → the first of them stored (boot, worker, login, first delivery). */
  firstStored: number;
  /** Messages per second between the first and the last stored. */
  perSecond: number;
  /** Navigation start → all stored (the page's own start-up included). */
  blocking: Blocking;
  /** What indexing for search added to the worker's commits meanwhile (its Diagnostics counter), ms; null when not shown. */
  searchIndexMs: number | null;
  /** The worker's login signature (its Diagnostics counter), ms: on the way to the relay's first push; null when not shown. */
  loginSignMs: number | null;
  /** First stored → all stored: what receiving the backlog itself costs the main thread. */
  blockingWhileStoring: Blocking;
  /** Set when --profile was on: a trace with every thread's CPU samples ran during this measurement. */
  trace: TraceSummary | null;
  /** The page's start-up before the first message, ms from navigation start (worker created, first database open…). */
  timeline: Record<string, number>;
  /** CPU time of the browser's processes and the relay from navigation to all stored (see cpu.ts). */
  cpu: CpuUse;
  /** The main thread's long tasks from navigation to all stored, [start, duration] in ms: which one is the longest. */
  longTasks: [number, number][];
  /**
   * How fast this machine's cores ran around the backlog: the bare XChaCha20-Poly1305 seal in a worker of the
   * app's page (REFERENCE_MB), MB/s, just before the sender starts and just after the backlog is stored. The
   * same build's backlog moves with it from run to run (a virtual machine's cores follow their host's load).
   */
  reference: { before: number; after: number };
}

/** Bytes of the reference seal around the backlog (a tenth more to warm it up): about 0.1 s of one core. */
const REFERENCE_MB = 16;

interface CountWatch {
  firstAt: number;
  allAt: number;
  newestText: string | null;
  /** The commits of messages the page was told of: none would mean the watcher fell back to reading every 250 ms. */
  announced: number;
}

const backlogText = (i: number) => `backlog ${i}: the quick brown fox jumps over the lazy dog`;

/** Reads the page's IndexedDB (on the page's clock) at each commit of messages until `count` of the conversation are stored. */
async function watchStored(page: Page, conversationId: string, count: number): Promise<CountWatch> {
  return (await page.evaluate(
    async ({ conversationId, count, lastText }) => {
      // the store exists already (created with the account); opening it needs no upgrade. The probe does
      // not count this connection as the app's (__benchQuiet).
      const flag = (o: object, on: boolean) => ((o as { __benchQuiet?: boolean }).__benchQuiet = on);
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        flag(window, true);
        let req: IDBOpenDBRequest;
        try {
          req = indexedDB.open("junction");
        } finally {
          flag(window, false);
        }
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      flag(db, true);
      // Counting the conversation's rows walks all of them, and a walk at every commit of a backlog of 10,000
      // is work of its own for the browser's storage threads. So each read is of the newest row only (a
      // cursor of one); the full count runs once the last message sent is the newest stored.
      const range = IDBKeyRange.bound([conversationId, -Infinity], [conversationId, Infinity]);
      const byTime = () => db.transaction("messages", "readonly").objectStore("messages").index("[conversationId+sentAt]");
      const newest = () =>
        new Promise<string | null>((resolve, reject) => {
          const req = byTime().openCursor(range, "prev");
          req.onsuccess = () => resolve(req.result ? ((req.result.value as { text?: string }).text ?? "") : null);
          req.onerror = () => reject(req.error);
        });
      const countNow = () =>
        new Promise<number>((resolve, reject) => {
          const req = byTime().count(range);
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      // read when the engine's worker announces a commit of messages (app.ts, installTableChanges), and every
      // 250 ms besides: a read every 20 ms was a readonly transaction on the table the worker was writing, 50 a
      // second, and the page's work for it, load the app itself does not have
      const changes = (window as unknown as { __benchChanges(table: string): TableChanges }).__benchChanges("messages");
      let firstAt = -1;
      for (;;) {
        const text = await newest();
        const t = performance.now();
        if (text !== null && firstAt < 0) firstAt = t;
        if (text === lastText && (await countNow()) >= count) {
          changes.close();
          db.close();
          return { firstAt, allAt: t, newestText: text, announced: changes.seen };
        }
        await changes.next(250);
      }
    },
    { conversationId, count, lastText: backlogText(count - 1) },
  )) as CountWatch;
}

export async function benchBacklog(
  browser: Browser,
  baseURL: string,
  count: number,
  tag: string,
  log: (line: string) => void,
  profileDir: string | null,
  /** direct: the engine sets up the session, the backlog is encrypted and handed to the relay in bulk; engine: every message through the engine's outbox. */
  how: "direct" | "engine" = "direct",
  /** The relay's process, so its CPU is told apart from the browser's. */
  relayPid: number | null = null,
): Promise<BacklogFigures> {
  const context = await newProfile(browser, baseURL);
  try {
    const first = await context.newPage();
    const address = await createAccount(first, "Messenger", `bench.backlog.${tag}`, "Bench Backlog");
    // online means logged in with prekeys uploaded: the sender can start a session
    await first.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: 60_000 });
    await first.waitForTimeout(1_000);
    const aead = await aeadWorkerSource();
    const before = (await bareAead(first, aead, REFERENCE_MB * MB)).xchacha.seal;
    await first.close();

    const sender = await startSender(baseURL, "instagram", `@bench_sender_${tag}`, "Backlog Sender");
    let send: SendFigures;
    try {
      log(`sending ${count} encrypted messages from a Node engine${how === "direct" ? " (its session, in bulk)" : ""}…`);
      send = how === "direct" ? await sendBacklogDirect(sender, address, count, backlogText) : await sendBacklog(sender, address, count, backlogText, Math.min(250, count));
      log(`sent in ${Math.round(send.ms)} ms (${Math.round((count / send.ms) * 1000)}/s, ${send.rateLimited} rate-limited replies, ${send.nudges} stalled outbox nudges)`);
    } finally {
      // offline from here: the receipts coming back wait in the relay instead of taking CPU
      await sender.stop();
    }
    const conversationId = `${address}|${sender.address}`;

    const page = await context.newPage();
    let cpu: CpuUse | undefined;
    const receive = async () => {
      const before = cpuSnapshot(relayPid);
      const startedUs = process.hrtime.bigint() / 1000n;
      await page.goto("/", { waitUntil: "commit" });
      const watched = await watchStored(page, conversationId, count);
      cpu = cpuBetween(before, cpuSnapshot(relayPid));
      // the window to cut a relay profile (RELAY_CPU_PROF) to: the same monotonic clock as its samples
      if (process.env.RELAY_CPU_PROF) log(`backlog window, monotonic µs: ${startedUs}–${process.hrtime.bigint() / 1000n}`);
      return watched;
    };
    let trace: TraceSummary | null = null;
    let watch: CountWatch;
    if (profileDir) [trace, watch] = await traceThreads(browserOf(context, browser), page, profileDir, "backlog", receive);
    else watch = await receive();
    if (watch.newestText !== backlogText(count - 1)) throw new Error(`the newest stored message is not the last one sent: ${watch.newestText}`);
    if (watch.announced === 0) throw new Error("the page was told of no commit of messages: the watcher only read every 250 ms, and its times are late");
    if (!cpu) throw new Error("the backlog ended without its CPU figures");
    const probe = await readProbe(page);
    const searchIndexMs = await diagnosticsCounter(page, "search_index_ms");
    const loginSignMs = await diagnosticsCounter(page, "login_sign_ms");
    const after = (await bareAead(page, aead, REFERENCE_MB * MB)).xchacha.seal;
    await page.close();
    return {
      messages: count,
      send,
      allStored: watch.allAt,
      firstStored: watch.firstAt,
      perSecond: (count / Math.max(1, watch.allAt - watch.firstAt)) * 1000,
      blocking: blocking(probe, 0, watch.allAt),
      searchIndexMs,
      loginSignMs,
      blockingWhileStoring: blocking(probe, watch.firstAt, watch.allAt),
      trace,
      timeline: Object.fromEntries(Object.entries(probe.marks).filter(([, t]) => t <= watch.firstAt)),
      cpu,
      longTasks: probe.longTasks.filter((t) => t.start < watch.allAt).map((t) => [Math.round(t.start), Math.round(t.duration)]),
      reference: { before, after },
    };
  } finally {
    await context.close();
  }
}

/** One counter of the Diagnostics dialog (the engine worker's counters), read as a person would. */
export async function diagnosticsCounter(page: Page, name: string): Promise<number | null> {
  await page.getByRole("button", { name: "Diagnostics" }).click();
  const dialog = page.getByRole("dialog", { name: "Diagnostics" });
  const row = dialog.getByRole("row").filter({ has: page.getByRole("rowheader", { name, exact: true }) });
  try {
    await row.waitFor({ timeout: 10_000 });
  } catch {
    return null;
  }
  const value = Number((await row.getByRole("cell").textContent())?.trim());
  await page.keyboard.press("Escape");
  return Number.isFinite(value) ? value : null;
}
