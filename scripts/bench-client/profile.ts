// `--profile DIR`: where the main thread's time goes. Chromium's sampling profiler (over CDP) runs
// around one extra, unmeasured inbox load, conversation open and the backlog; the raw .cpuprofile
// files (open them in DevTools' Performance panel) go to DIR and the heaviest functions by self time
// are summarised. Two environment variables shape the backlog's trace: TRACE_LIGHT=1 leaves the CPU sampler
// out (user-timing marks and task durations without its overhead), TRACE_CATS=a,b adds trace categories
// (e.g. IndexedDB, disabled-by-default-v8.gc).
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
  ts?: number;
  dur?: number;
  args?: {
    name?: string;
    data?: {
      cpuProfile?: { nodes?: ProfileNode[]; samples?: number[] };
      timeDeltas?: number[];
      startTime?: number;
    };
  };
}

export interface TaskSummary {
  /** Trace clock, ms. */
  start: number;
  ms: number;
  hot: HotFunction[];
}

export interface ThreadSummary {
  thread: string;
  busyMs: number;
  hot: HotFunction[];
  /**
   * The thread's own time by what the browser was doing (its devtools.timeline events: script, style,
   * layout, paint, GC…), self time of each, heaviest first: where a click's or a keystroke's time went
   * besides the JavaScript the samples show.
   */
  phases: { name: string; selfMs: number; count: number }[];
  /** The longest tasks (50 ms or more) of this thread, each with what its samples were doing. */
  longTasks: TaskSummary[];
}

/**
 * Self time per event name of one thread's complete ("X") events, nested by time: a FunctionCall that
 * forced a Layout counts the layout under Layout only.
 */
export function phasesOf(events: TraceEvent[], top = 12): ThreadSummary["phases"] {
  const spans = events.filter((e) => e.ph === "X" && e.ts !== undefined && (e.dur ?? 0) > 0).sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0) || (b.dur ?? 0) - (a.dur ?? 0));
  const self = new Map<string, { selfMs: number; count: number }>();
  const stack: { end: number; name: string }[] = [];
  const add = (name: string, us: number, counted: boolean) => {
    const entry = self.get(name) ?? { selfMs: 0, count: 0 };
    entry.selfMs += us / 1000;
    if (counted) entry.count += 1;
    self.set(name, entry);
  };
  for (const e of spans) {
    const ts = e.ts ?? 0;
    const dur = e.dur ?? 0;
    while (stack.length > 0 && (stack[stack.length - 1]?.end ?? 0) <= ts) stack.pop();
    const parent = stack[stack.length - 1];
    // a child's time is not its parent's own
    if (parent) add(parent.name, -Math.min(dur, parent.end - ts), false);
    add(e.name, dur, true);
    stack.push({ end: ts + dur, name: e.name });
  }
  return [...self.entries()]
    .map(([name, v]) => ({ name, selfMs: Math.round(v.selfMs * 10) / 10, count: v.count }))
    .filter((p) => p.selfMs > 0)
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top);
}

const TASK_EVENTS = new Set(["RunTask", "FunctionCall", "TimerFire", "EventDispatch", "FireAnimationFrame", "EvaluateScript", "v8.run", "MajorGC"]);

interface Sample {
  ts: number;
  ms: number;
  key: string;
  name: string;
  where: string;
}

function fold(samples: Sample[], top: number): HotFunction[] {
  const table = new Map<string, HotFunction>();
  for (const s of samples) {
    const entry = table.get(s.key) ?? { name: s.name, where: s.where, selfMs: 0 };
    entry.selfMs += s.ms;
    table.set(s.key, entry);
  }
  return [...table.values()]
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top)
    .map((h) => ({ ...h, selfMs: Math.round(h.selfMs * 10) / 10 }));
}

/**
 * Every thread's CPU samples from a Chromium trace (the worker's too, which a page CDP session does
 * not reach), folded into self time per function, and the longest tasks with what filled them.
 */
export function summariseTrace(events: TraceEvent[], top = 15): ThreadSummary[] {
  const threadNames = new Map<string, string>();
  for (const e of events) if (e.ph === "M" && e.name === "thread_name" && e.args?.name) threadNames.set(`${e.pid}:${e.tid}`, e.args.name);
  // chunks come from the profiler's own thread; the "Profile" event names the thread sampled and
  // the clock the first sample counts from
  const profiles = new Map<string, { thread: string; clock: number }>();
  for (const e of events) {
    if (e.name === "Profile") profiles.set(`${e.pid}:${e.id ?? ""}`, { thread: `${e.pid}:${e.tid}`, clock: e.args?.data?.startTime ?? 0 });
  }
  // samples taken while a thread's profiler was starting are the profiler's, not the page's
  const profilerStart = new Map<string, number>();
  for (const e of events) {
    if (e.name === "CpuProfiler::StartProfiling" && e.ph === "X") profilerStart.set(`${e.pid}:${e.tid}`, (e.ts ?? 0) + (e.dur ?? 0));
  }
  const frames = new Map<string, ProfileNode["callFrame"]>();
  const perThread = new Map<string, Sample[]>();
  for (const e of events) {
    if (e.name !== "ProfileChunk" || !e.args?.data?.cpuProfile) continue;
    const profileId = `${e.pid}:${e.id ?? ""}`;
    const profile = profiles.get(profileId) ?? { thread: `${e.pid}:${e.tid}`, clock: 0 };
    profiles.set(profileId, profile);
    for (const node of e.args.data.cpuProfile.nodes ?? []) frames.set(`${profileId}:${node.id}`, node.callFrame);
    const ids = e.args.data.cpuProfile.samples ?? [];
    const deltas = e.args.data.timeDeltas ?? [];
    const list = perThread.get(profile.thread) ?? [];
    perThread.set(profile.thread, list);
    for (let i = 0; i < ids.length; i++) {
      const delta = deltas[i] ?? 0;
      profile.clock += delta;
      const frame = frames.get(`${profileId}:${ids[i]}`);
      if (!frame || frame.functionName === "(idle)" || delta <= 0 || profile.clock <= (profilerStart.get(profile.thread) ?? 0)) continue;
      const name = frame.functionName || "(anonymous)";
      const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : "";
      list.push({ ts: profile.clock, ms: delta / 1000, key: `${name}@${where}`, name, where });
    }
  }
  // a task is "RunTask" (toplevel category); without it, the outermost devtools.timeline events
  const tasks = new Map<string, { ts: number; dur: number }[]>();
  for (const e of events) {
    if (!TASK_EVENTS.has(e.name) || e.ph !== "X" || (e.dur ?? 0) < 50_000) continue;
    const key = `${e.pid}:${e.tid}`;
    tasks.set(key, [...(tasks.get(key) ?? []), { ts: e.ts ?? 0, dur: e.dur ?? 0 }]);
  }
  for (const [key, list] of tasks) {
    const outermost: { ts: number; dur: number }[] = [];
    for (const t of list.sort((a, b) => b.dur - a.dur)) {
      if (!outermost.some((o) => t.ts < o.ts + o.dur && o.ts < t.ts + t.dur)) outermost.push(t);
    }
    tasks.set(key, outermost);
  }
  return [...perThread.entries()]
    .map(([thread, samples]) => ({
      thread: threadNames.get(thread) ?? thread,
      busyMs: Math.round(samples.reduce((sum, s) => sum + s.ms, 0)),
      hot: fold(samples, top),
      // the profiler's own start (a long first "sample") is not the page's work
      phases: phasesOf(events.filter((e) => `${e.pid}:${e.tid}` === thread && e.name !== "CpuProfiler::StartProfiling")),
      longTasks: (tasks.get(thread) ?? [])
        .sort((a, b) => b.dur - a.dur)
        .slice(0, 3)
        .map((t) => ({
          start: Math.round(t.ts / 1000),
          ms: Math.round(t.dur / 100) / 10,
          hot: fold(samples.filter((s) => s.ts >= t.ts && s.ts <= t.ts + t.dur), 8),
        })),
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
  await browser.startTracing(page, { path: file, categories: [...(process.env.TRACE_LIGHT ? [] : ["disabled-by-default-v8.cpu_profiler"]), "devtools.timeline", "toplevel", "v8", "blink.user_timing", ...(process.env.TRACE_CATS ? process.env.TRACE_CATS.split(",") : [])] });
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
