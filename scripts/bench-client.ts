// `npm run bench:client [-- --json] [--quick] [--runs N] [--backlog N] [--backlog-only] [--only PARTS] [--engine-sender] [--profile DIR] [--on-disk]`: the client's figures on a large
// account, in headless Chromium against the real server (see docs/BENCHMARKS.md).
//   - app shell and first inbox row with 5,000 conversations and 200,000 messages stored
//   - opening a conversation of 10,000 messages
//   - search over those 200,000 messages: indexing them in the background, a one-word and a prefix query
//     (p95 in the worker and typed → painted), and the index's size beside the messages'
//   - the worker decrypting and storing a backlog of 10,000 queued messages, and the longest
//     main-thread task meanwhile
// Progress goes to stderr; the table (or, with --json, one JSON object) to stdout.
// --on-disk: every profile a browser of its own with a user data directory on disk, as an installed app's (by
// default a context of one shared browser, which Chromium keeps off the record: IndexedDB in memory).
// Environment: TRACE_LIGHT=1 and TRACE_CATS=a,b shape the --profile trace (bench-client/profile.ts);
// RELAY_CPU_PROF=DIR writes the relay's own V8 CPU profile to DIR, and the backlog prints its window on the
// same monotonic clock, to cut the profile to it.
import { availableParallelism, loadavg } from "node:os";
import type { Browser } from "@playwright/test";
import { closeProfiles, launch, useProfilesOnDisk } from "./bench-client/app";
import { benchBacklog } from "./bench-client/backlog";
import { benchInbox, PARTS, type InboxSizes, type Part } from "./bench-client/inbox";
import { buildReport, toJson, toTable } from "./bench-client/report";
import { startServer, type BenchServer } from "./bench-client/server";

interface Options {
  json: boolean;
  quick: boolean;
  runs: number | null;
  profile: string | null;
  backlog: number | null;
  /** Only the backlog (no seeding, no inbox loads): for iterating on the receive path. */
  backlogOnly: boolean;
  /** Send the backlog through the Node engine's outbox, message by message (minutes), instead of in bulk. */
  engineSender: boolean;
  /** The parts measured (--only): all by default. */
  parts: Set<Part>;
  /** Profiles on disk (--on-disk), not off the record. */
  onDisk: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { json: false, quick: false, runs: null, profile: null, backlog: null, backlogOnly: false, engineSender: false, parts: new Set(PARTS), onDisk: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") opts.json = true;
    else if (arg === "--quick") opts.quick = true;
    else if (arg === "--runs") opts.runs = Number(argv[++i]);
    else if (arg === "--profile") opts.profile = argv[++i] ?? null;
    else if (arg === "--backlog") opts.backlog = Number(argv[++i]);
    else if (arg === "--backlog-only") opts.backlogOnly = true;
    else if (arg === "--engine-sender") opts.engineSender = true;
    else if (arg === "--on-disk") opts.onDisk = true;
    else if (arg === "--only") {
      const wanted = (argv[++i] ?? "").split(",").filter(Boolean);
      const unknown = wanted.filter((p) => !(PARTS as readonly string[]).includes(p));
      if (wanted.length === 0 || unknown.length > 0) throw new Error(`--only takes a comma-separated list of ${PARTS.join(", ")}${unknown.length ? ` (not ${unknown.join(", ")})` : ""}`);
      opts.parts = new Set(wanted as Part[]);
    } else throw new Error(`unknown argument ${arg}; use --json, --quick, --runs N, --backlog N, --backlog-only, --only PARTS, --engine-sender, --profile DIR, --on-disk`);
  }
  if (opts.backlogOnly) opts.parts = new Set(["backlog"]);
  if (opts.profile === null && argv.includes("--profile")) throw new Error("--profile takes a directory");
  for (const [flag, value] of [["--runs", opts.runs], ["--backlog", opts.backlog]] as const) {
    if (value !== null && !(Number.isInteger(value) && value > 0)) throw new Error(`${flag} takes a positive integer`);
  }
  return opts;
}

const FULL: InboxSizes & { backlog: number } = { conversations: 5_000, messages: 200_000, bigMessages: 10_000, runs: 5, backlog: 10_000 };
const QUICK: InboxSizes & { backlog: number } = { conversations: 500, messages: 10_000, bigMessages: 2_000, runs: 2, backlog: 300 };

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const sizes = { ...(opts.quick ? QUICK : FULL) };
  if (opts.runs !== null) sizes.runs = opts.runs;
  if (opts.backlog !== null) sizes.backlog = opts.backlog;
  const log = (line: string) => process.stderr.write(`bench:client: ${line}\n`);
  // handles must be new on every run: the relay's directory is first come, first served
  const tag = `${Date.now().toString(36)}${process.pid.toString(36)}`;

  let server: BenchServer | null = null;
  let browser: Browser | null = null;
  const cleanup = async () => {
    await closeProfiles();
    await browser?.close().catch(() => undefined);
    await server?.stop();
  };
  // Ctrl-C must not leave a server or a browser behind
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void cleanup().finally(() => process.exit(130));
    });
  }
  const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
  try {
    server = await startServer(log);
    log(`server at ${server.url}`);
    browser = await launch();
    useProfilesOnDisk(opts.onDisk);
    const inbox = await benchInbox(browser, server.url, sizes, tag, log, opts.profile, opts.parts);
    const backlog = opts.parts.has("backlog")
      ? await benchBacklog(browser, server.url, sizes.backlog, tag, log, opts.profile, opts.engineSender ? "engine" : "direct", server.pid)
      : null;
    const report = buildReport(opts.quick ? "quick" : "full", sizes, inbox, backlog);
    // a shared machine's other work shows in every figure: say how busy it was
    report.context.loadAverageAtStart = loadAtStart;
    report.context.loadAverageAtEnd = Math.round(loadavg()[0] * 100) / 100;
    report.context.cores = availableParallelism();
    report.context.profiles = opts.onDisk ? "on disk" : "off the record";
    if (opts.profile) {
      if (inbox) report.profiles = inbox.profiles;
      report.traces = [...(inbox?.traces ?? []), ...(backlog?.trace ? [backlog.trace] : [])];
    }
    process.stdout.write(`${opts.json ? toJson(report) : toTable(report)}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:client failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
