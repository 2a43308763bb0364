// Figures → medians → a table (or one JSON object) with each target beside what was measured.
import type { Blocking } from "./app";
import type { ProfileSummary, TraceSummary } from "./profile";
import type { BacklogFigures } from "./backlog";
import { describeCpu, type CpuUse } from "./cpu";
import type { InboxFigures, InboxSizes } from "./inbox";
import { p95 } from "./search";

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export interface Row {
  key: string;
  label: string;
  value: number;
  unit: "ms" | "/s" | "%" | "MB/s";
  /** The issue's target (an upper bound), when this figure has one. */
  target?: number;
  /** All runs, for figures that were measured several times. */
  runs?: number[];
}

export interface Report {
  mode: "full" | "quick";
  sizes: InboxSizes & { backlog: number };
  rows: Row[];
  context: Record<string, number | string>;
  /** Median time of each step of an inbox load, ms from navigation start, in order. */
  inboxTimeline: Record<string, number>;
  /** The backlog page's steps before the first message was stored, ms from navigation start, in order. */
  backlogTimeline: Record<string, number>;
  /** CPU ms of every process from the backlog page's navigation to all stored (see cpu.ts); null without the backlog. */
  backlogCpu: CpuUse | null;
  /** With --profile: where the main thread's time went (the backlog figures then include the profiler's cost). */
  profiles?: ProfileSummary[];
  /** With --profile: every thread of the page (the worker's decryption included) during the backlog. */
  traces?: TraceSummary[];
}

/** The worse of the two views of the main thread: a long task, or a timer held up by anything. */
function worst(b: Blocking): number {
  return Math.max(b.longestTask, b.longestStall);
}

const round = (n: number) => Math.round(n * 10) / 10;

export function buildReport(mode: "full" | "quick", sizes: InboxSizes & { backlog: number }, inbox: InboxFigures | null, backlog: BacklogFigures | null): Report {
  const loads = inbox?.loads ?? [];
  const merged = inbox?.mergedLoads ?? [];
  const opens = inbox?.opens ?? [];
  const inboxRows: Row[] = [
    { key: "appShellFcp", label: "app shell (first contentful paint)", value: median(loads.map((r) => r.fcp)), unit: "ms", runs: loads.map((r) => r.fcp) },
    {
      key: "inboxFirstRow",
      label: `first inbox row (${sizes.conversations} conv, ${sizes.messages} msgs)`,
      value: median(loads.map((r) => r.firstRowPainted)),
      unit: "ms",
      target: 300,
      runs: loads.map((r) => r.firstRowPainted),
    },
    {
      key: "inboxLiveRow",
      label: "  … the app's own row, interactive (after the kept first screen)",
      value: median(loads.map((r) => r.liveRowPainted)),
      unit: "ms",
      runs: loads.map((r) => r.liveRowPainted),
    },
    { key: "inboxLongestTask", label: "  longest main-thread block until then", value: median(loads.map((r) => worst(r.blocking))), unit: "ms", runs: loads.map((r) => worst(r.blocking)) },
    {
      key: "inboxFirstRowMerged",
      label: "  … with One row per person (people joined)",
      value: median(merged.map((r) => r.firstRowPainted)),
      unit: "ms",
      target: 300,
      runs: merged.map((r) => r.firstRowPainted),
    },
    {
      key: "inboxLiveRowMerged",
      label: "  … its own row, interactive",
      value: median(merged.map((r) => r.liveRowPainted)),
      unit: "ms",
      runs: merged.map((r) => r.liveRowPainted),
    },
    {
      key: "openConversation",
      label: `open a conversation of ${sizes.bigMessages} msgs`,
      value: median(opens.map((r) => r.shownPainted)),
      unit: "ms",
      target: 150,
      runs: opens.map((r) => r.shownPainted),
    },
    { key: "openLongestTask", label: "  longest main-thread block meanwhile", value: median(opens.map((r) => worst(r.blocking))), unit: "ms", runs: opens.map((r) => worst(r.blocking)) },
  ];
  const search = inbox?.search;
  const searchRows: Row[] = search
    ? [
        { key: "searchOneWordWorker", label: `search one word ("${search.oneWord.query}"), p95 in the worker`, value: p95(search.oneWord.worker), unit: "ms", target: 50, runs: search.oneWord.worker },
        { key: "searchOneWordPage", label: "  p95 typed → results painted", value: p95(search.oneWord.page), unit: "ms", target: 50, runs: search.oneWord.page },
        { key: "searchPrefixWorker", label: `search a prefix ("${search.prefix.query}"), p95 in the worker`, value: p95(search.prefix.worker), unit: "ms", target: 50, runs: search.prefix.worker },
        { key: "searchPrefixPage", label: "  p95 typed → results painted", value: p95(search.prefix.page), unit: "ms", target: 50, runs: search.prefix.page },
        { key: "searchBackfill", label: `  indexing ${sizes.messages} stored messages in the background`, value: search.backfillMs, unit: "ms" },
        { key: "searchIndexShare", label: "  index size on disk, share of the messages' size", value: search.indexShare * 100, unit: "%" },
      ]
    : [];
  const backlogRows: Row[] = backlog
    ? [
        { key: "backlogAllStored", label: `backlog of ${backlog.messages} decrypted and stored`, value: backlog.allStored, unit: "ms", target: 3000 },
        { key: "backlogLongestTask", label: "  longest main-thread block meanwhile", value: worst(backlog.blocking), unit: "ms", target: 50 },
        { key: "backlogLongestTaskWhileStoring", label: "  … of it after the first one was stored", value: worst(backlog.blockingWhileStoring), unit: "ms" },
        ...(backlog.searchIndexMs !== null
          ? [{ key: "backlogSearchIndexShare", label: "  of it: search index writes in the commits (target ≤ 10 %)", value: (backlog.searchIndexMs / backlog.allStored) * 100, unit: "%" as const }]
          : []),
        { key: "backlogFirstStored", label: "  first backlog message stored", value: backlog.firstStored, unit: "ms" },
        { key: "backlogRate", label: "  store rate, first to last", value: backlog.perSecond, unit: "/s" },
        { key: "backlogCpu", label: "  CPU used meanwhile, all processes", value: backlog.cpu.totalMs, unit: "ms" },
        { key: "backlogCpuFloor", label: "  … over the machine's cores (least wall time)", value: backlog.cpu.floorMs, unit: "ms" },
        // the same build's backlog follows this machine's speed just then: compare runs with it
        { key: "backlogReferenceBefore", label: "  reference: bare XChaCha20-Poly1305 seal, before", value: backlog.reference.before, unit: "MB/s" },
        { key: "backlogReferenceAfter", label: "  … and after the backlog", value: backlog.reference.after, unit: "MB/s" },
      ]
    : [];
  const measured: Row[] = [
    // --backlog-only: no inbox figures at all (not NaN rows); --only: none of a part left out
    ...(inbox ? inboxRows.filter((r) => r.runs === undefined || r.runs.length > 0) : []),
    ...searchRows,
    ...backlogRows,
  ];
  const rows = measured.map((row) => ({ ...row, value: round(row.value), runs: row.runs?.map(round) }));
  const steps = new Set(loads.flatMap((r) => Object.keys(r.timeline)));
  const inboxTimeline = Object.fromEntries(
    [...steps]
      .map((step) => [step, round(median(loads.flatMap((r) => (r.timeline[step] === undefined ? [] : [r.timeline[step]]))))] as const)
      .sort((a, b) => a[1] - b[1]),
  );
  const backlogTimeline = backlog
    ? Object.fromEntries(
        [...Object.entries(backlog.timeline), ["firstStored", backlog.firstStored] as const, ["allStored", backlog.allStored] as const]
          .map(([step, t]) => [step, round(t)] as const)
          .sort((a, b) => a[1] - b[1]),
      )
    : {};
  return {
    mode,
    sizes,
    rows,
    inboxTimeline,
    backlogTimeline,
    backlogCpu: backlog?.cpu ?? null,
    context: {
      ...(inbox ? { seedMs: round(inbox.seed.ms), seedConversations: inbox.seed.conversations, seedMessages: inbox.seed.messages } : {}),
      ...(search ? { searchIndexBytes: search.indexBytes, searchMessageBytes: search.messageBytes, searchOneWordHits: search.oneWord.hits, searchPrefixHits: search.prefix.hits } : {}),
      ...(backlog
        ? {
            backlogLongestLongTask: round(backlog.blocking.longestTask),
            backlogLongestStall: round(backlog.blocking.longestStall),
            backlogLongTasks: backlog.blocking.longTasks,
            backlogLongTaskMs: round(backlog.blocking.longTaskMs),
            ...(backlog.loginSignMs !== null ? { backlogLoginSignMs: backlog.loginSignMs } : {}),
            backlogLongTaskList: backlog.longTasks.map(([start, ms]) => `${start}+${ms}`).join(" "),
            senderMs: round(backlog.send.ms),
            senderPerSecond: round((backlog.send.messages / backlog.send.ms) * 1000),
            senderRateLimitedReplies: backlog.send.rateLimited,
            senderNudges: backlog.send.nudges,
            sender: backlog.send.how,
          }
        : {}),
    },
  };
}

export function toJson(report: Report): string {
  const figures = Object.fromEntries(
    report.rows.map((r) => [r.key, { value: r.value, unit: r.unit, ...(r.target !== undefined ? { target: r.target, ...(report.mode === "full" ? { met: r.value <= r.target } : {}) } : {}), ...(r.runs ? { runs: r.runs } : {}) }]),
  );
  return JSON.stringify(
    { mode: report.mode, sizes: report.sizes, figures, context: report.context, inboxTimeline: report.inboxTimeline, backlogTimeline: report.backlogTimeline, backlogCpu: report.backlogCpu, ...(report.profiles ? { profiles: report.profiles } : {}), ...(report.traces ? { traces: report.traces } : {}) },
    null,
    2,
  );
}

export function toTable(report: Report): string {
  const lines: string[] = [];
  if (report.mode !== "full") lines.push("quick sizes: the targets are for the full sizes and are not judged here\n");
  const width = Math.max(...report.rows.map((r) => r.label.length));
  lines.push(`${"".padEnd(width)}  ${"measured".padStart(10)}  ${"target".padStart(8)}`);
  for (const r of report.rows) {
    const value = `${r.value} ${r.unit}`;
    const target = r.target === undefined ? "" : `${r.target} ms`;
    // the targets are set for the full sizes: a quick run's figures are not judged against them
    const verdict = r.target === undefined || report.mode !== "full" ? "" : r.value <= r.target ? "  ok" : "  MISSED";
    const runs = r.runs && r.runs.length > 1 ? `  (${r.key.startsWith("search") ? "p95" : "median"} of ${r.runs.join(", ")})` : "";
    lines.push(`${r.label.padEnd(width)}  ${value.padStart(10)}  ${target.padStart(8)}${verdict}${runs}`);
  }
  lines.push("");
  const seeded = report.context.seedMs !== undefined;
  if (seeded) lines.push(`inbox load, median ms from navigation start: ${Object.entries(report.inboxTimeline).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  const backlog = report.backlogCpu !== null;
  if (backlog) lines.push(`backlog page, ms from navigation start: ${Object.entries(report.backlogTimeline).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  lines.push(`machine: ${report.context.cores} cores, 1-minute load average ${report.context.loadAverageAtStart} at start, ${report.context.loadAverageAtEnd} at end; profiles ${report.context.profiles ?? "off the record"}`);
  if (seeded && !backlog) lines.push(`seeding (not a target): ${report.context.seedConversations} conversations, ${report.context.seedMessages} messages in ${report.context.seedMs} ms`);
  if (backlog) lines.push(
    (seeded ? `seeding (not a target): ${report.context.seedConversations} conversations, ${report.context.seedMessages} messages in ${report.context.seedMs} ms; ` : "") +
      `sender (Node engine, ${report.context.sender === "direct" ? "session encrypted in bulk" : "through its outbox"}): ${report.context.senderPerSecond} msgs/s, ${report.context.senderRateLimitedReplies} rate-limited replies, ${report.context.senderNudges} stalled outbox nudges; ` +
      `backlog: ${report.context.backlogLongTasks} long tasks totalling ${report.context.backlogLongTaskMs} ms, ` +
      `longest task ${report.context.backlogLongestLongTask} ms, longest timer stall ${report.context.backlogLongestStall} ms`,
  );
  if (report.backlogCpu) lines.push(`backlog CPU: ${describeCpu(report.backlogCpu)}`);
  for (const p of report.profiles ?? []) {
    lines.push("");
    lines.push(`profile ${p.file}: ${Math.round(p.totalMs)} ms sampled, ${Math.round(p.idleMs)} ms idle; heaviest by self time:`);
    for (const h of p.hot) lines.push(`  ${`${h.selfMs} ms`.padStart(9)}  ${h.name}  ${h.where}`);
  }
  for (const t of report.traces ?? []) {
    for (const thread of t.threads.slice(0, 4)) {
      lines.push("");
      lines.push(`trace ${t.file}, thread ${thread.thread}: ${thread.busyMs} ms busy; heaviest by self time:`);
      if (thread.phases.length > 0) lines.push(`  by what the thread did (self ms): ${thread.phases.map((p) => `${p.name} ${p.selfMs} (${p.count}×)`).join(", ")}`);
      for (const h of thread.hot) lines.push(`  ${`${h.selfMs} ms`.padStart(9)}  ${h.name}  ${h.where}`);
      for (const task of thread.longTasks) {
        lines.push(`  a ${task.ms} ms task on this thread, sampled:`);
        for (const h of task.hot) lines.push(`    ${`${h.selfMs} ms`.padStart(9)}  ${h.name}  ${h.where}`);
      }
    }
  }
  return lines.join("\n");
}
