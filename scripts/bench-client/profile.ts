// `--profile DIR`: where the main thread's time goes. Chromium's sampling profiler (over CDP) runs
// around one extra, unmeasured inbox load, conversation open and the backlog; the raw .cpuprofile
// files (open them in DevTools' Performance panel) go to DIR and the heaviest functions by self time
// are summarised.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "@playwright/test";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  hot: HotFunction[];
}

function shortUrl(url: string): string {
  const path = url.replace(/^https?:\/\/[^/]+/, "");
  return path.length > 60 ? `…${path.slice(-59)}` : path;
}

export function summarise(profile: CpuProfile, top = 15): { totalMs: number; idleMs: number; hot: HotFunction[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // a sample's time is the delta to the next sample
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? 0) / 1000);
  }
  const grouped = new Map<string, HotFunction>();
  let idleMs = 0;
  let totalMs = 0;
  for (const [id, ms] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    totalMs += ms;
    if (frame.functionName === "(idle)") {
      idleMs += ms;
      continue;
    }
    const name = frame.functionName || "(anonymous)";
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : "";
    const key = `${name}@${where}`;
    const entry = grouped.get(key) ?? { name, where, selfMs: 0 };
    entry.selfMs += ms;
    grouped.set(key, entry);
  }
  const hot = [...grouped.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  return { totalMs, idleMs, hot: hot.map((h) => ({ ...h, selfMs: Math.round(h.selfMs * 10) / 10 })) };
}

/** Profiles the page's main thread while `action` runs; returns the summary and what `action` returned. */
export async function profile<T>(page: Page, dir: string, name: string, action: () => Promise<T>): Promise<[ProfileSummary, T]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
    await cdp.send("Profiler.start");
    const result = await action();
    const { profile } = (await cdp.send("Profiler.stop")) as unknown as { profile: CpuProfile };
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    return [{ file, ...summarise(profile) }, result];
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  id?: string;
  args?: {
    name?: string;
    data?: {
      cpuProfile?: { nodes?: ProfileNode[]; samples?: number[] };
      timeDeltas?: number[];
    };
  };
}

export interface ThreadSummary {
  thread: string;
  busyMs: number;
  hot: HotFunction[];
}

/**
 * Every thread's CPU samples from a Chromium trace (the worker's too, which a page CDP session does
 * not reach), folded into self time per function.
 */
export function summariseTrace(events: TraceEvent[], top = 15): ThreadSummary[] {
  const threadNames = new Map<string, string>();
  for (const e of events) if (e.ph === "M" && e.name === "thread_name" && e.args?.name) threadNames.set(`${e.pid}:${e.tid}`, e.args.name);
  // chunks come from the profiler's own thread; the "Profile" event names the thread sampled
  const profiledThread = new Map<string, string>();
  for (const e of events) if (e.name === "Profile") profiledThread.set(`${e.pid}:${e.id ?? ""}`, `${e.pid}:${e.tid}`);
  const frames = new Map<string, ProfileNode["callFrame"]>();
  const perThread = new Map<string, Map<string, HotFunction>>();
  const busy = new Map<string, number>();
  for (const e of events) {
    if (e.name !== "ProfileChunk" || !e.args?.data?.cpuProfile) continue;
    const profileId = `${e.pid}:${e.id ?? ""}`;
    const thread = profiledThread.get(profileId) ?? `${e.pid}:${e.tid}`;
    for (const node of e.args.data.cpuProfile.nodes ?? []) frames.set(`${profileId}:${node.id}`, node.callFrame);
    const samples = e.args.data.cpuProfile.samples ?? [];
    const deltas = e.args.data.timeDeltas ?? [];
    const table = perThread.get(thread) ?? new Map<string, HotFunction>();
    perThread.set(thread, table);
    for (let i = 0; i < samples.length; i++) {
      const frame = frames.get(`${profileId}:${samples[i]}`);
      const ms = (deltas[i] ?? 0) / 1000;
      if (!frame || frame.functionName === "(idle)" || ms <= 0) continue;
      busy.set(thread, (busy.get(thread) ?? 0) + ms);
      const name = frame.functionName || "(anonymous)";
      const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : "";
      const key = `${name}@${where}`;
      const entry = table.get(key) ?? { name, where, selfMs: 0 };
      entry.selfMs += ms;
      table.set(key, entry);
    }
  }
  return [...perThread.entries()]
    .map(([thread, table]) => ({
      thread: threadNames.get(thread) ?? thread,
      busyMs: Math.round(busy.get(thread) ?? 0),
      hot: [...table.values()]
        .sort((a, b) => b.selfMs - a.selfMs)
        .slice(0, top)
        .map((h) => ({ ...h, selfMs: Math.round(h.selfMs * 10) / 10 })),
    }))
    .filter((t) => t.busyMs > 0)
    .sort((a, b) => b.busyMs - a.busyMs);
}

export interface TraceSummary {
  file: string;
  threads: ThreadSummary[];
}

/** Records a Chromium trace with CPU samples of every thread of the page while `action` runs. */
export async function traceThreads<T>(browser: Browser, page: Page, dir: string, name: string, action: () => Promise<T>): Promise<[TraceSummary, T]> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.trace.json`);
  await browser.startTracing(page, { path: file, categories: ["disabled-by-default-v8.cpu_profiler", "devtools.timeline", "v8"] });
  let result: T;
  try {
    result = await action();
  } finally {
    await browser.stopTracing();
  }
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { traceEvents?: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(parsed) ? parsed : (parsed.traceEvents ?? []);
  return [{ file, threads: summariseTrace(events) }, result];
}
