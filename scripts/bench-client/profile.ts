// `--profile DIR`: where the main thread's time goes. Chromium's sampling profiler (over CDP) runs
// around one extra, unmeasured inbox load, conversation open and the backlog; the raw .cpuprofile
// files (open them in DevTools' Performance panel) go to DIR and the heaviest functions by self time
// are summarised.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";

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
