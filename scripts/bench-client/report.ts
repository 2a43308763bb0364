// Figures → medians → a table (or one JSON object) with each target beside what was measured.
import type { BacklogFigures } from "./backlog";
import type { InboxFigures, InboxSizes } from "./inbox";

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
  unit: "ms" | "/s";
  /** The target (an upper bound), when this figure has one. */
  target?: number;
  /** All runs, for figures that were measured several times. */
  runs?: number[];
}

export interface Report {
  mode: "full" | "quick";
  sizes: InboxSizes & { backlog: number };
  rows: Row[];
  context: Record<string, number | string>;
}

const round = (n: number) => Math.round(n * 10) / 10;

export function buildReport(mode: "full" | "quick", sizes: InboxSizes & { backlog: number }, inbox: InboxFigures, backlog: BacklogFigures): Report {
  const loads = inbox.loads;
  const opens = inbox.opens;
  const measured: Row[] = [
    { key: "appShellFcp", label: "app shell (first contentful paint)", value: median(loads.map((r) => r.fcp)), unit: "ms", runs: loads.map((r) => r.fcp) },
    {
      key: "inboxFirstRow",
      label: `first inbox row (${sizes.conversations} conv, ${sizes.messages} msgs)`,
      value: median(loads.map((r) => r.firstRowPainted)),
      unit: "ms",
      target: 300,
      runs: loads.map((r) => r.firstRowPainted),
    },
    { key: "inboxLongestTask", label: "  longest main-thread task until then", value: median(loads.map((r) => r.longestTask)), unit: "ms", runs: loads.map((r) => r.longestTask) },
    {
      key: "openConversation",
      label: `open a conversation of ${sizes.bigMessages} msgs`,
      value: median(opens.map((r) => r.shownPainted)),
      unit: "ms",
      target: 150,
      runs: opens.map((r) => r.shownPainted),
    },
    { key: "openLongestTask", label: "  longest main-thread task meanwhile", value: median(opens.map((r) => r.longestTask)), unit: "ms", runs: opens.map((r) => r.longestTask) },
    { key: "backlogAllStored", label: `backlog of ${backlog.messages} decrypted and stored`, value: backlog.allStored, unit: "ms", target: 3000 },
    { key: "backlogLongestTask", label: "  longest main-thread task meanwhile", value: backlog.longestTask, unit: "ms", target: 50 },
    { key: "backlogFirstStored", label: "  first backlog message stored", value: backlog.firstStored, unit: "ms" },
    { key: "backlogRate", label: "  store rate, first to last", value: backlog.perSecond, unit: "/s" },
  ];
  const rows = measured.map((row) => ({ ...row, value: round(row.value), runs: row.runs?.map(round) }));
  return {
    mode,
    sizes,
    rows,
    context: {
      seedMs: round(inbox.seed.ms),
      seedConversations: inbox.seed.conversations,
      seedMessages: inbox.seed.messages,
      backlogLongTasks: backlog.longTasks,
      backlogLongTaskMs: round(backlog.longTaskMs),
      senderMs: round(backlog.send.ms),
      senderPerSecond: round((backlog.send.messages / backlog.send.ms) * 1000),
      senderRateLimitedReplies: backlog.send.rateLimited,
    },
  };
}

export function toJson(report: Report): string {
  const figures = Object.fromEntries(
    report.rows.map((r) => [r.key, { value: r.value, unit: r.unit, ...(r.target !== undefined ? { target: r.target, met: r.value <= r.target } : {}), ...(r.runs ? { runs: r.runs } : {}) }]),
  );
  return JSON.stringify({ mode: report.mode, sizes: report.sizes, figures, context: report.context }, null, 2);
}

export function toTable(report: Report): string {
  const lines: string[] = [];
  const width = Math.max(...report.rows.map((r) => r.label.length));
  lines.push(`${"".padEnd(width)}  ${"measured".padStart(10)}  ${"target".padStart(8)}`);
  for (const r of report.rows) {
    const value = `${r.value} ${r.unit}`;
    const target = r.target === undefined ? "" : `${r.target} ms`;
    const verdict = r.target === undefined ? "" : r.value <= r.target ? "  ok" : "  MISSED";
    const runs = r.runs && r.runs.length > 1 ? `  (median of ${r.runs.join(", ")})` : "";
    lines.push(`${r.label.padEnd(width)}  ${value.padStart(10)}  ${target.padStart(8)}${verdict}${runs}`);
  }
  lines.push("");
  lines.push(
    `seeding (not a target): ${report.context.seedConversations} conversations, ${report.context.seedMessages} messages in ${report.context.seedMs} ms; ` +
      `sender (Node engine): ${report.context.senderPerSecond} msgs/s, ${report.context.senderRateLimitedReplies} rate-limited replies; ` +
      `backlog long tasks: ${report.context.backlogLongTasks} totalling ${report.context.backlogLongTaskMs} ms`,
  );
  return lines.join("\n");
}
