// `npm run bench:media [-- --json] [--mb N] [--cpu-profile DIR]`: an attachment's way through the real app in headless
// Chromium against the real server (see docs/BENCHMARKS.md). A file of N MB (default 50) is attached and
// sent (the engine worker pads, encrypts and uploads it in pieces), then its media is deleted and it is
// downloaded again (the worker streams, decrypts and stores it piece by piece). Figures:
//   - MB/s of encrypt + upload (transfer row written → "uploaded") and of download + decrypt ("Download"
//     clicked → media row written, digest checked), on the page's clock
//   - the bare AEAD rates in a worker of the same page, same run: XChaCha20-Poly1305 (the reference the
//     target names) and ChaCha20-Poly1305 (what attachments use), over 64 KiB chunks, measured before the
//     upload, before the download and after it (the median of the three); the ratios
//   - where the worker's time went in each (its Diagnostics counters: computing, or waiting on the file,
//     the relay, the store or the digest)
//   - the engine worker's peak memory (V8 heap used + ArrayBuffer backing stores, sampled every 100 ms
//     over CDP) during each transfer, beside its idle figure and the size of the chunk pipeline; the I/O
//     worker's (attachments' ciphertext work) the same way. The sampler (and a heap snapshot all the more)
//     takes CPU from the transfer it watches: the timed transfers run without it, and the memory is that
//     of a second upload and download of the same file afterwards, the "memory pass" (--sample-timed: the
//     old way, sampled during the timed transfers; --no-memory-pass: none)
// With --cpu-profile, the engine worker's CPU profile of each transfer is written to DIR (upload.cpuprofile,
// download.cpuprofile: open them in Chrome's DevTools; the I/O worker's as upload-io.cpuprofile and
// download-io.cpuprofile) and their heaviest functions by self time go to stderr
// (the profiler slows the worker down: the figures of such a run are not the benchmark's).
// Each transfer's CPU by process and thread (Linux /proc) is reported too. With --heap-snapshot DIR, the engine
// worker's heap snapshots (idle, idle again before the memory pass, during each of its transfers at --heap-at
// ms after its click, default 400, counted without the pauses of the snapshots before, and after each) are
// written to DIR and summarised on stderr (the heaviest node kinds, every node of 64 KiB or more and what holds
// it); --live-every N reads the live memory figure every N samples of 100 ms (default 1: every sample,
// now that the sampled transfers are not the timed ones; 5 before 7 December 2026).
// With --on-disk, the profile is a browser of its own with a user data directory on disk, as an installed app's
// (by default a context of the shared browser, which Chromium keeps off the record: storage in memory).
// With --trace DIR, a Chromium trace of every thread (CPU samples, timeline events) of each timed transfer is
// written to DIR and its busiest threads summarised on stderr (it slows everything down too).
// Progress goes to stderr; the table (or, with --json, one JSON object) to stdout.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, CDPSession, Page } from "@playwright/test";
import { browserOf, closeProfiles, createAccount, launch, newProfile, useProfilesOnDisk } from "./bench-client/app";
import { outgoing, watchTransfer } from "./bench-client/transfers";
import { diagnosticsCounter } from "./bench-client/backlog";
import { startServer, type BenchServer } from "./bench-client/server";
import { cpuBetween, cpuSnapshot, describeCpu, type CpuUse } from "./bench-client/cpu";
import { aeadWorkerSource, bareAead, MB, medianRates, type AeadRates } from "./bench-client/aead";
import { startSender, type Sender } from "./bench-client/sender";
import { traceThreads } from "./bench-client/profile";
import { JunctionPage } from "../e2e/pages/app";
import { SEAL_PIECE_BYTES, DOWNLOAD_PIECE_BYTES } from "../lib/engine/attachments/transfer";


interface Options {
  json: boolean;
  mb: number;
  cpuProfile: string | null;
  heapSnapshot: string | null;
  /** A live figure (after collections) every this many 100 ms samples. */
  liveEvery: number;
  /** With heapSnapshot: ms after each transfer's click at which its mid-transfer snapshots are taken. */
  heapAt: number[];
  /**
   * The old way (`--sample-timed`): the workers' memory sampled over CDP during the timed transfers
   * themselves, with no memory pass. By default the timed transfers run without the sampler, and a
   * second upload and download of the same file (the memory pass) are sampled.
   */
  sampleTimed: boolean;
  /** The memory pass (off: `--no-memory-pass`). */
  memoryPass: boolean;
  /** The transfers table polled every 20 ms by the page during a transfer (`--poll-watch`, the old way). */
  pollWatch: boolean;
  /**
   * bench:client's page probe installed (`--probe`, the old way): its 10 ms timer and its check every frame
   * (it waits for inbox rows bench:media never looks for) ran on the page's main thread all along.
   */
  probe: boolean;
  /** With traceDir: a Chromium trace of every thread (CPU samples) of each transfer, summarised. */
  traceDir: string | null;
  /** The profile on disk (`--on-disk`), as an installed app keeps it, instead of off the record (app.ts). */
  onDisk: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { json: false, mb: 50, cpuProfile: null, heapSnapshot: null, liveEvery: 1, heapAt: [400], sampleTimed: false, memoryPass: true, pollWatch: false, probe: false, traceDir: null, onDisk: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") opts.json = true;
    else if (arg === "--mb") opts.mb = Number(argv[++i]);
    else if (arg === "--cpu-profile" && argv[i + 1]) opts.cpuProfile = argv[++i];
    else if (arg === "--heap-snapshot" && argv[i + 1]) opts.heapSnapshot = argv[++i];
    else if (arg === "--live-every") opts.liveEvery = Number(argv[++i]);
    else if (arg === "--heap-at") opts.heapAt = argv[++i].split(",").map(Number);
    else if (arg === "--sample-timed") opts.sampleTimed = true;
    else if (arg === "--no-memory-pass") opts.memoryPass = false;
    else if (arg === "--poll-watch") opts.pollWatch = true;
    else if (arg === "--probe") opts.probe = true;
    else if (arg === "--trace" && argv[i + 1]) opts.traceDir = argv[++i];
    else if (arg === "--on-disk") opts.onDisk = true;
    else throw new Error(`unknown argument ${arg}; use --json, --mb N, --cpu-profile DIR, --trace DIR, --heap-snapshot DIR [--heap-at MS,MS…], --live-every N, --sample-timed, --no-memory-pass, --poll-watch, --probe, --on-disk`);
  }
  if (!(Number.isInteger(opts.mb) && opts.mb > 0 && opts.mb <= 100)) throw new Error("--mb takes an integer from 1 to 100");
  return opts;
}

/**
 * Samples the engine worker's memory over CDP (the worker is a target of its own): every 100 ms as it
 * is (garbage not yet collected included: V8 collects ArrayBuffers lazily, up to tens of MB late), and
 * every 500 ms after a forced collection, what the pipeline really holds.
 */
class WorkerMemory {
  private id = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticks = 0;
  peak = 0;
  peakLive = 0;

  private constructor(
    private readonly cdp: CDPSession,
    private readonly sessionId: string,
  ) {}

  static async attach(browser: Browser, title = "junction-engine", attempts = 100): Promise<WorkerMemory> {
    const cdp = await browser.newBrowserCDPSession();
    for (let tries = 0; ; tries++) {
      const { targetInfos } = await cdp.send("Target.getTargets");
      const worker = targetInfos.find((t) => t.type === "worker" && t.title === title);
      if (worker) {
        const { sessionId } = await cdp.send("Target.attachToTarget", { targetId: worker.targetId, flatten: false });
        return new WorkerMemory(cdp, sessionId);
      }
      if (tries > attempts) throw new Error(`the worker ${title} was not found`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  ask<T>(method: string, params?: Record<string, unknown>): Promise<T> {
    const my = ++this.id;
    return new Promise<T>((resolve) => {
      const on = (e: { sessionId: string; message: string }) => {
        if (e.sessionId !== this.sessionId) return;
        const m = JSON.parse(e.message) as { id?: number; result?: T };
        if (m.id !== my || !m.result) return;
        this.cdp.off("Target.receivedMessageFromTarget", on);
        resolve(m.result);
      };
      this.cdp.on("Target.receivedMessageFromTarget", on);
      // a browser closed meanwhile (the bench failed elsewhere) is that failure's to report
      this.cdp.send("Target.sendMessageToTarget", { sessionId: this.sessionId, message: JSON.stringify({ id: my, method, params }) }).catch(() => undefined);
    });
  }

  /** A heap snapshot of the worker (after a forced collection), as its JSON text. */
  async snapshot(): Promise<string> {
    const chunks: string[] = [];
    const on = (e: { sessionId: string; message: string }) => {
      if (e.sessionId !== this.sessionId) return;
      const m = JSON.parse(e.message) as { method?: string; params?: { chunk: string } };
      if (m.method === "HeapProfiler.addHeapSnapshotChunk" && m.params) chunks.push(m.params.chunk);
    };
    this.cdp.on("Target.receivedMessageFromTarget", on);
    await this.ask("HeapProfiler.enable");
    await this.ask("HeapProfiler.collectGarbage");
    await this.ask("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    this.cdp.off("Target.receivedMessageFromTarget", on);
    return chunks.join("");
  }

  /** V8 heap used + ArrayBuffer backing stores, bytes (after a forced collection with `live`). */
  async now(live = false): Promise<number> {
    if (live) await this.ask("HeapProfiler.collectGarbage");
    const result = await this.ask<{ usedSize: number; backingStorageSize?: number }>("Runtime.getHeapUsage");
    return result.usedSize + (result.backingStorageSize ?? 0);
  }

  start(liveEvery = 5): void {
    this.peak = 0;
    this.peakLive = 0;
    const tick = async () => {
      this.peak = Math.max(this.peak, await this.now());
      if (++this.ticks % liveEvery === 0) this.peakLive = Math.max(this.peakLive, await this.now(true));
      if (this.timer) this.timer = setTimeout(() => void tick(), 100);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  async stop(): Promise<{ peak: number; live: number }> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.peak = Math.max(this.peak, await this.now());
    return { peak: this.peak, live: this.peakLive };
  }
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** A worker's CPU profile around `work`, written to `dir/name.cpuprofile`; its heaviest functions to `log`. */
async function profiled<T>(memory: WorkerMemory, dir: string | null, name: string, log: (line: string) => void, work: () => Promise<T>): Promise<T> {
  if (!dir) return work();
  await memory.ask("Profiler.enable");
  await memory.ask("Profiler.setSamplingInterval", { interval: 200 });
  await memory.ask("Profiler.start");
  const out = await work();
  const { profile } = await memory.ask<{ profile: CpuProfile }>("Profiler.stop");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  const self = new Map<string, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    self.set(key, (self.get(key) ?? 0) + us);
  });
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  log(`${name}: worker CPU profile, ${Math.round(total / 1000)} ms sampled; heaviest by self time:`);
  for (const [key, us] of top) log(`  ${String(Math.round(us / 1000)).padStart(6)} ms  ${key}`);
  return out;
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * Writes the worker's heap snapshot to `dir/name.heapsnapshot` and logs what is big in it: bytes by node
 * type and name, and every node of 64 KiB or more with what holds it (its retainers' names and edges).
 */
async function heapSnapshot(memory: WorkerMemory, dir: string | null, name: string, log: (line: string) => void): Promise<void> {
  if (!dir) return;
  const text = await memory.snapshot();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.heapsnapshot`), text);
  const h = JSON.parse(text) as HeapSnapshot;
  const nf = h.snapshot.meta.node_fields;
  const ef = h.snapshot.meta.edge_fields;
  const [nTypes] = h.snapshot.meta.node_types;
  const [eTypes] = h.snapshot.meta.edge_types;
  const N = nf.length;
  const E = ef.length;
  const [iType, iName, iSize, iEdges] = ["type", "name", "self_size", "edge_count"].map((f) => nf.indexOf(f));
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) => ef.indexOf(f));
  const label = (n: number) => `${nTypes[h.nodes[n + iType]]}:${h.strings[h.nodes[n + iName]].slice(0, 60)}`;
  const byKind = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  const big = new Set<number>();
  for (let n = 0; n < h.nodes.length; n += N) {
    const size = h.nodes[n + iSize];
    total += size;
    const key = label(n);
    const k = byKind.get(key) ?? { bytes: 0, count: 0 };
    k.bytes += size;
    k.count++;
    byKind.set(key, k);
    if (size >= 64 * 1024) big.add(n);
  }
  const holders = new Map<number, string[]>();
  for (let n = 0, e = 0; n < h.nodes.length; n += N) {
    for (let i = 0; i < h.nodes[n + iEdges]; i++, e += E) {
      const to = h.edges[e + eTo];
      if (!big.has(to)) continue;
      const type = eTypes[h.edges[e + eType]];
      const edge = type === "element" || type === "hidden" ? `[${h.edges[e + eName]}]` : h.strings[h.edges[e + eName]];
      const list = holders.get(to) ?? [];
      if (list.length < 4) list.push(`${label(n)}.${edge}`);
      holders.set(to, list);
    }
  }
  log(`${name}: heap snapshot, ${(total / 1024 / 1024).toFixed(2)} MiB of nodes; the heaviest kinds:`);
  for (const [key, k] of [...byKind].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 12)) log(`  ${(k.bytes / 1024).toFixed(0).padStart(7)} KiB  ${k.count}× ${key}`);
  for (const n of [...big].sort((a, b) => h.nodes[b + iSize] - h.nodes[a + iSize]).slice(0, 20)) {
    log(`  ${(h.nodes[n + iSize] / 1024).toFixed(0).padStart(7)} KiB  ${label(n)} ← ${(holders.get(n) ?? []).join(" | ")}`);
  }
}


const PHASES = { upload: ["read", "encrypt", "wire", "digest", "io", "sealedElsewherePieces"], download: ["network", "decrypt", "store", "digest", "io"] } as const;

/** The worker's phase times of its one transfer in `direction` (ms), from its Diagnostics counters. */
async function phases(page: Page, direction: keyof typeof PHASES): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const phase of PHASES[direction]) out[phase] = await diagnosticsCounter(page, `attachment_${direction}_${phase}${phase.endsWith("Pieces") ? "" : "_ms"}`);
  return out;
}

interface Figures {
  fileMB: number;
  phases: { upload: Record<string, number | null>; download: Record<string, number | null> };
  upload: { ms: number; mbPerS: number; ratio: number; peakBytes: number; peakLiveBytes: number; sendToUploadedMs: number };
  download: { ms: number; mbPerS: number; ratio: number; peakBytes: number; peakLiveBytes: number };
  /** The median of aeadRuns (the ratios' reference). */
  aead: AeadRates;
  aeadRuns: AeadRates[];
  idleBytes: number;
  /** The engine worker's live bytes (after GC) once each transfer ended: what it kept. */
  afterBytes: { upload: number; download: number };
  /** The I/O worker's memory: idle (after GC), and its peaks during each transfer. */
  io: { idleBytes: number; upload: { peak: number; live: number } | null; download: { peak: number; live: number } | null };
  pipelineBytes: { upload: number; download: number };
  /** CPU ms of every process during each transfer, by role and by thread (Linux /proc). */
  cpu: { upload: CpuUse; download: CpuUse };
  loadAtStart: number;
  /** The old way (--sample-timed): the memory sampled during the timed transfers themselves. */
  memorySampledDuringTimed: boolean;
  /** Where the profile keeps its storage (`--on-disk`). */
  profile: "on disk" | "off the record";
  /**
   * The second upload and download of the same file, whose memory the figures above are (unless
   * memorySampledDuringTimed): the engine worker's live bytes before it, and its own times, CPU and phases.
   */
  memoryPass: { idleBytes: number; upload: { ms: number; cpu: CpuUse; phases: Record<string, number | null> }; download: { ms: number; cpu: CpuUse; phases: Record<string, number | null> } } | null;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`bench:media: ${line}\n`);
  const tag = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const bytes = opts.mb * MB;
  const dir = mkdtempSync(join(tmpdir(), "junction-bench-media-"));
  let server: BenchServer | null = null;
  let browser: Browser | null = null;
  let sender: Sender | null = null;
  const cleanup = async () => {
    await sender?.stop().catch(() => undefined);
    await closeProfiles();
    await browser?.close().catch(() => undefined);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void cleanup().finally(() => process.exit(130));
    });
  }
  const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
  try {
    const file = join(dir, "bench.bin");
    writeFileSync(file, randomBytes(bytes));
    const source = await aeadWorkerSource();
    server = await startServer(log);
    log(`server at ${server.url}`);
    browser = await launch();
    useProfilesOnDisk(opts.onDisk);
    const context = await newProfile(browser, server.url, { probe: opts.probe });
    // the browser the profile runs in: the shared one, or its own on disk
    const profileBrowser = browserOf(context, browser);
    const page = await context.newPage();
    await createAccount(page, "Messenger", `bench.media.${tag}`, "Bench Media");
    await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: 60_000 });
    sender = await startSender(server.url, "instagram", `@bench_media_${tag}`, "Media Peer");
    const app = new JunctionPage(page);
    /** With --trace: `work` inside a Chromium trace of every thread, whose busiest threads go to stderr. */
    const traced = async <T>(dir: string | null, name: string, work: () => Promise<T>): Promise<T> => {
      if (!dir) return work();
      const [summary, out] = await traceThreads(profileBrowser, page, dir, name, work);
      for (const t of summary.threads.slice(0, 6)) {
        log(`${name}: ${t.thread} busy ${t.busyMs} ms; by phase: ${t.phases.map((p) => `${p.name} ${p.selfMs} ms ×${p.count}`).join(", ")}`);
        for (const h of t.hot.slice(0, 12)) log(`  ${String(h.selfMs).padStart(7)} ms  ${h.name} ${h.where}`);
      }
      return out;
    };
    await app.startChat("Messenger", sender.address);

    const memory = await WorkerMemory.attach(profileBrowser);
    const idleBytes = await memory.now(true);
    await heapSnapshot(memory, opts.heapSnapshot, "idle", log);
    // the I/O worker (attachments' ciphertext: hashing, request bodies) is measured the same way
    // (a build from before it has none: its figures are then absent)
    const ioMemory = await WorkerMemory.attach(profileBrowser, "junction-io", 20).catch(() => null);
    const ioIdleBytes = (await ioMemory?.now(true)) ?? 0;

    log(`bare AEAD over ${opts.mb} MB in a worker of the page…`);
    const aeadRuns = [await bareAead(page, source, bytes)];
    // with --cpu-profile, the I/O worker's profile too ("upload-io", "download-io")
    const ioProfiled = <T>(dir: string | null, name: string, work: () => Promise<T>): Promise<T> => (ioMemory ? profiled(ioMemory, dir, `${name}-io`, log, work) : work());

    /**
     * One transfer: `click` starts it and `watch` waits for its end. Timed (`sampled` false): nothing of
     * the bench's runs meanwhile but the watch, and --cpu-profile / --trace if asked. Sampled: the workers'
     * memory is read over CDP as it goes (every 100 ms, after a forced collection every `liveEvery`) and
     * the heap snapshots of --heap-snapshot are taken (`name`-MSms).
     */
    const transfer = async <W>(name: string, sampled: boolean, click: () => Promise<void>, watch: () => Promise<W>) => {
      if (sampled) {
        memory.start(opts.liveEvery);
        ioMemory?.start();
      }
      const cpuBefore = cpuSnapshot(server!.pid);
      const profileDir = sampled ? null : opts.cpuProfile;
      const watched = await traced(sampled ? null : opts.traceDir, name, () =>
        profiled(memory, profileDir, name, log, () =>
          ioProfiled(profileDir, name, async () => {
            const done = watch();
            await click();
            // `at` counts the time the worker ran: a snapshot pauses it, and the next one waits the rest after it
            const clicked = Date.now();
            let since = clicked;
            let prev = 0;
            for (const at of sampled && opts.heapSnapshot ? opts.heapAt : []) {
              await new Promise((r) => setTimeout(r, Math.max(0, since + at - prev - Date.now())));
              const before = Date.now() - clicked;
              await heapSnapshot(memory, opts.heapSnapshot, `${name}-${at}ms`, log);
              since = Date.now();
              log(`  (taken ${before}–${since - clicked} ms after the click)`);
              prev = at;
            }
            return done;
          }),
        ),
      );
      const cpu = cpuBetween(cpuBefore, cpuSnapshot(server!.pid));
      const peak = sampled ? await memory.stop() : null;
      const ioPeak = sampled ? ((await ioMemory?.stop()) ?? null) : null;
      return { watched, cpu, peak, ioPeak };
    };

    /** The file attached and sent (a new message each time), until the relay holds all of it. */
    const upload = async (sampled: boolean) => {
      const skip = await outgoing(page);
      await page.getByLabel("Attach files").setInputFiles(file);
      const clickedAt = await page.evaluate(() => performance.now());
      const out = await transfer(sampled ? "upload-sampled" : "upload", sampled, () => page.getByRole("button", { name: "Send" }).click(), () => watchTransfer(page, "uploaded", { skip }, opts.pollWatch));
      return { ...out, clickedAt, phases: await phases(page, "upload") };
    };

    /** Every media of the device deleted, then the file of `messageId` downloaded again, until it is stored and checked. */
    const download = async (sampled: boolean, messageId: string) => {
      // a dialog the page opened meanwhile (seen with older builds under load) is named, then closed
      for (const open of await page.locator("dialog[open]").all()) {
        log(`a dialog was open: ${((await open.textContent()) ?? "").slice(0, 200)}`);
        await page.keyboard.press("Escape");
      }
      const settings = await app.openSettings();
      await settings.getByRole("button", { name: "Delete media", exact: true }).click();
      await settings.getByText("No photos or files are kept on this device.").waitFor();
      await page.keyboard.press("Escape");
      const bubble = page.locator(`[data-message-id="${messageId}"]`);
      const out = await transfer(sampled ? "download-sampled" : "download", sampled, () => bubble.getByRole("button", { name: "Download" }).click(), () => watchTransfer(page, "ready", { messageId }, opts.pollWatch));
      return { ...out, phases: await phases(page, "download") };
    };

    // the Diagnostics counters add up every transfer: each pass's phases are its own difference
    const minus = (after: Record<string, number | null>, before: Record<string, number | null> | null) =>
      Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v === null ? null : v - (before?.[k] ?? 0)]));

    log(`attaching and sending ${opts.mb} MB${opts.sampleTimed ? " (memory sampled meanwhile)" : ""}…`);
    const up = await upload(opts.sampleTimed);
    const afterUpBytes = await memory.now(true);
    log("bare AEAD again…");
    aeadRuns.push(await bareAead(page, source, bytes));

    log("deleting the media and downloading it again…");
    const down = await download(opts.sampleTimed, up.watched.messageId);
    const afterDownBytes = await memory.now(true);
    log("bare AEAD once more…");
    aeadRuns.push(await bareAead(page, source, bytes));
    const aead = medianRates(aeadRuns);

    // the memory pass: the same file sent again and downloaded again, the memory sampled as it goes
    let memUp: Awaited<ReturnType<typeof upload>> | null = null;
    let memDown: Awaited<ReturnType<typeof download>> | null = null;
    let idleAgainBytes: number | null = null;
    if (opts.memoryPass && !opts.sampleTimed) {
      // the timed figures stand without it: a memory pass that fails is reported, not thrown
      try {
        idleAgainBytes = await memory.now(true);
        await heapSnapshot(memory, opts.heapSnapshot, "idle-again", log);
        log("the memory pass: sending the file again, its memory sampled…");
        memUp = await upload(true);
        await heapSnapshot(memory, opts.heapSnapshot, "after-upload", log);
        log("… and downloading it again");
        memDown = await download(true, up.watched.messageId);
        await heapSnapshot(memory, opts.heapSnapshot, "after-download", log);
      } catch (error) {
        log(`the memory pass failed: ${error instanceof Error ? error.message : String(error)}`);
        memUp = memDown = null;
      }
    }
    const upMem = opts.sampleTimed ? up : memUp;
    const downMem = opts.sampleTimed ? down : memDown;

    const uploadMs = up.watched.doneAt - up.watched.seenAt;
    const downloadMs = down.watched.doneAt - down.watched.seenAt;
    const upRate = opts.mb / (uploadMs / 1000);
    const downRate = opts.mb / (downloadMs / 1000);
    const figures: Figures = {
      fileMB: opts.mb,
      phases: { upload: up.phases, download: minus(down.phases, null) },
      upload: { ms: uploadMs, mbPerS: upRate, ratio: upRate / aead.xchacha.seal, peakBytes: upMem?.peak?.peak ?? 0, peakLiveBytes: upMem?.peak?.live ?? 0, sendToUploadedMs: up.watched.doneAt - up.clickedAt },
      download: { ms: downloadMs, mbPerS: downRate, ratio: downRate / aead.xchacha.open, peakBytes: downMem?.peak?.peak ?? 0, peakLiveBytes: downMem?.peak?.live ?? 0 },
      aead,
      aeadRuns,
      idleBytes,
      afterBytes: { upload: afterUpBytes, download: afterDownBytes },
      io: { idleBytes: ioIdleBytes, upload: upMem?.ioPeak ?? null, download: downMem?.ioPeak ?? null },
      pipelineBytes: { upload: SEAL_PIECE_BYTES, download: DOWNLOAD_PIECE_BYTES },
      cpu: { upload: up.cpu, download: down.cpu },
      loadAtStart,
      memorySampledDuringTimed: opts.sampleTimed,
      profile: opts.onDisk ? "on disk" : "off the record",
      memoryPass:
        memUp && memDown && idleAgainBytes !== null
          ? {
              idleBytes: idleAgainBytes,
              upload: { ms: memUp.watched.doneAt - memUp.watched.seenAt, cpu: memUp.cpu, phases: minus(memUp.phases, up.phases) },
              download: { ms: memDown.watched.doneAt - memDown.watched.seenAt, cpu: memDown.cpu, phases: minus(memDown.phases, down.phases) },
            }
          : null,
    };
    process.stdout.write(opts.json ? `${JSON.stringify(figures)}\n` : table(figures));
  } finally {
    await cleanup();
  }
}

function table(f: Figures): string {
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  const rate = (r: number) => `${r.toFixed(1)} MB/s`;
  const pct = (r: number) => `${Math.round(r * 100)} %`;
  const split = (p: Record<string, number | null>) =>
    Object.entries(p)
      .filter(([phase]) => !phase.endsWith("Pieces"))
      .map(([phase, ms]) => `${phase} ${ms === null ? "?" : Math.round(ms)}`)
      .join(", ") +
    " ms" +
    (p.sealedElsewherePieces ? `; ${p.sealedElsewherePieces} pieces sealed by the I/O worker` : "");
  const m = f.memoryPass;
  const where = f.memorySampledDuringTimed ? " (sampled during the timed transfer)" : m ? " (memory pass)" : " (not sampled)";
  const overIdle = (b: number) => `${mib(b - f.idleBytes)} over idle${m ? `, ${mib(b - m.idleBytes)} over idle before the memory pass` : ""}`;
  const rows: [string, string][] = [
    ["profile", f.profile === "on disk" ? "on disk (its own browser and user data directory: --on-disk)" : "off the record (a context of the shared browser: storage in memory)"],
    [
      "method",
      f.memorySampledDuringTimed
        ? "memory sampled over CDP during the timed transfers (--sample-timed)"
        : `the timed transfers unsampled${m ? `; memory from a second upload and download of the same file (${Math.round(m.upload.ms)} / ${Math.round(m.download.ms)} ms, sampled)` : ""}`,
    ],
    [`encrypt + upload ${f.fileMB} MB`, `${rate(f.upload.mbPerS)} (${Math.round(f.upload.ms)} ms; ${pct(f.upload.ratio)} of bare XChaCha20-Poly1305 seal)`],
    ["  worker's time (Diagnostics)", split(f.phases.upload)],
    ["  Send clicked → uploaded", `${Math.round(f.upload.sendToUploadedMs)} ms (includes storing the file)`],
    [`  worker peak memory${where}`, `${mib(f.upload.peakBytes)} as sampled; ${mib(f.upload.peakLiveBytes)} live after GC (${overIdle(f.upload.peakLiveBytes)}; pipeline ${mib(f.pipelineBytes.upload)})`],
    ["  CPU, every process", describeCpu(f.cpu.upload)],
    [`download + decrypt ${f.fileMB} MB`, `${rate(f.download.mbPerS)} (${Math.round(f.download.ms)} ms; ${pct(f.download.ratio)} of bare XChaCha20-Poly1305 open)`],
    ["  worker's time (Diagnostics)", split(f.phases.download)],
    [`  worker peak memory${where}`, `${mib(f.download.peakBytes)} as sampled; ${mib(f.download.peakLiveBytes)} live after GC (${overIdle(f.download.peakLiveBytes)}; pipeline ${mib(f.pipelineBytes.download)})`],
    ["  CPU, every process", describeCpu(f.cpu.download)],
    ["I/O worker peak memory, live after GC", f.io.upload && f.io.download ? `upload ${mib(f.io.upload.live)}, download ${mib(f.io.download.live)} (idle ${mib(f.io.idleBytes)})` : "no I/O worker"],
    ["bare XChaCha20-Poly1305 (seal / open)", `${rate(f.aead.xchacha.seal)} / ${rate(f.aead.xchacha.open)} (median of ${f.aeadRuns.map((r) => `${r.xchacha.seal.toFixed(1)}/${r.xchacha.open.toFixed(1)}`).join(", ")})`],
    ["bare ChaCha20-Poly1305 (seal / open)", `${rate(f.aead.chacha.seal)} / ${rate(f.aead.chacha.open)}`],
    ["engine worker idle memory (after GC)", `${mib(f.idleBytes)}; after the (timed) upload ${mib(f.afterBytes.upload)}, after the download ${mib(f.afterBytes.download)}${m ? `; before the memory pass ${mib(m.idleBytes)}` : ""}`],
    ["load average at start", String(f.loadAtStart)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")}\n`;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:media: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
