// `npm run bench:detached [-- --mb N] [--pairs N]`: the attachment transfers of bench:media, each timed twice in
// alternation: with Playwright attached to the browser (as every other bench runs), and with it detached for
// the transfer (as a person's browser runs: no DevTools session). Playwright enables DevTools' network domain
// on every page and worker it attaches to, and with it Chromium keeps a copy of each request's body for the
// inspector: in a bare worker, 48 MB posted as 4 MiB ArrayBuffer bodies took 10 × as long attached, and as
// Blob bodies about 2 × (docs/BENCHMARKS.md, "What DevTools costs an upload"). An upload is all request bodies.
//
// The profile is a Chromium of its own on disk (a user data directory), started here with a DevTools port and
// joined with `connectOverCDP`. A detached transfer is armed in the page (its watcher started, its button's
// click set for 300 ms later), Playwright disconnects, and joins again once the transfer had the time to end;
// the page's own clock measured it. Figures as bench:media's: MB/s of encrypt + upload (transfer row seen →
// "uploaded") and download + decrypt ("Download" clicked → stored and checked), as ratios to the bare
// XChaCha20-Poly1305 seal and open measured in a worker of the same page (the median of a run before, between
// and after the transfers). Progress on stderr, the table on stdout.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "@playwright/test";
import { createAccount, tableChangesScript } from "./bench-client/app";
import { aeadWorkerSource, bareAead, MB, medianRates, type AeadRates } from "./bench-client/aead";
import { startServer, type BenchServer } from "./bench-client/server";
import { startSender, type Sender } from "./bench-client/sender";
import { outgoing, transferWatcher, type TransferSeen, type WatchArgs } from "./bench-client/transfers";
import { JunctionPage } from "../e2e/pages/app";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../e2e/env";

/** How long a detached transfer is given before Playwright joins again (it waits on for the rest). */
const DETACHED_MS = 8_000;

function parseArgs(argv: string[]): { mb: number; pairs: number } {
  const opts = { mb: 50, pairs: 3 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--mb") opts.mb = Number(argv[++i]);
    else if (argv[i] === "--pairs") opts.pairs = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}; use --mb N, --pairs N`);
  }
  if (!(opts.mb > 0) || !(opts.pairs > 0)) throw new Error("--mb and --pairs take positive numbers");
  return opts;
}

/** A headless Chromium with a DevTools port and a profile on disk; resolves with its DevTools endpoint. */
async function startChromium(dir: string): Promise<{ proc: ChildProcess; endpoint: string }> {
  const proc = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, "--headless=new", `--user-data-dir=${dir}`, "--remote-debugging-port=0", "--window-size=1280,800", "about:blank"], { stdio: ["ignore", "ignore", "pipe"] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let err = "";
    proc.stderr!.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    proc.once("exit", () => reject(new Error(`chromium exited: ${err.slice(-1000)}`)));
    setTimeout(() => reject(new Error("chromium gave no DevTools endpoint in 30 s")), 30_000).unref();
  });
  return { proc, endpoint };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`bench:detached: ${line}\n`);
  const tag = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const bytes = opts.mb * MB;
  const dir = mkdtempSync(join(tmpdir(), "junction-bench-detached-"));
  let server: BenchServer | null = null;
  let sender: Sender | null = null;
  let chrome: ChildProcess | null = null;
  let browser: Browser | null = null;
  const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
  try {
    const file = join(dir, "bench.bin");
    writeFileSync(file, randomBytes(bytes));
    const source = await aeadWorkerSource();
    server = await startServer(log);
    const origin = server.url;
    const started = await startChromium(join(dir, "profile"));
    chrome = started.proc;
    browser = await chromium.connectOverCDP(started.endpoint);
    const context = browser.contexts()[0];
    // tsx keeps function names with a `__name` helper the page does not have; the watcher's store wake-ups
    await context.addInitScript({ content: "globalThis.__name ??= (f) => f;" });
    await context.addInitScript({ content: tableChangesScript() });
    let page = context.pages()[0] ?? (await context.newPage());
    await createAccount(page, "Messenger", `bench.detached.${tag}`, "Bench Detached", origin);
    await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: 60_000 });
    sender = await startSender(origin, "instagram", `@bench_detached_${tag}`, "Detached Peer");
    await new JunctionPage(page).startChat("Messenger", sender.address);
    const aeadRuns: AeadRates[] = [await bareAead(page, source, bytes)];

    /** Runs one transfer: `button` is clicked and the watcher waits; detached, with Playwright away meanwhile. */
    const timed = async (detached: boolean, button: () => ReturnType<Page["getByRole"]>, args: WatchArgs): Promise<TransferSeen> => {
      await button().evaluate((el) => ((window as unknown as { __benchButton: HTMLElement }).__benchButton = el as HTMLElement));
      await page.evaluate(`window.__benchDone = (${transferWatcher.toString()})(${JSON.stringify(args)}); window.__benchDone.catch(() => {}); 0;`);
      if (!detached) {
        await page.evaluate(() => (window as unknown as { __benchButton: HTMLElement }).__benchButton.click());
        return page.evaluate(() => (window as unknown as { __benchDone: Promise<TransferSeen> }).__benchDone);
      }
      await page.evaluate(() => void setTimeout(() => (window as unknown as { __benchButton: HTMLElement }).__benchButton.click(), 300));
      await browser!.close();
      await new Promise((r) => setTimeout(r, DETACHED_MS));
      browser = await chromium.connectOverCDP(started.endpoint);
      const found = browser.contexts()[0].pages().find((p) => p.url().startsWith(origin));
      if (!found) throw new Error("the app's page is gone");
      page = found;
      const seen = await page.evaluate(() => (window as unknown as { __benchDone: Promise<TransferSeen> }).__benchDone);
      if (seen.doneAt - seen.seenAt > DETACHED_MS - 500) log("a detached transfer ran past the time given: Playwright was back before its end");
      return seen;
    };

    const upload = async (detached: boolean) => {
      const skip = await outgoing(page);
      // by path, over CDP: Playwright streams a file to a browser it joined over CDP through its connection
      const cdp = await page.context().newCDPSession(page);
      const { root } = await cdp.send("DOM.getDocument");
      const { nodeId } = await cdp.send("DOM.querySelector", { nodeId: root.nodeId, selector: 'input[type="file"][aria-label="Attach files"]' });
      await cdp.send("DOM.setFileInputFiles", { nodeId, files: [file] });
      await cdp.detach();
      await page.getByRole("list", { name: "Files to send" }).getByText("bench.bin").waitFor();
      await page.getByRole("button", { name: "Send" }).and(page.locator(":enabled")).waitFor();
      return timed(detached, () => page.getByRole("button", { name: "Send" }), { state: "uploaded", skip, messageId: null, poll: false });
    };
    const download = async (detached: boolean, messageId: string) => {
      const app = new JunctionPage(page);
      const settings = await app.openSettings();
      await settings.getByRole("button", { name: "Delete media", exact: true }).click();
      await settings.getByText("No photos or files are kept on this device.").waitFor();
      await page.keyboard.press("Escape");
      return timed(detached, () => page.locator(`[data-message-id="${messageId}"]`).getByRole("button", { name: "Download" }), { state: "ready", skip: [], messageId, poll: false });
    };

    const rows: { mode: string; up: number; down: number }[] = [];
    const rate = (seen: TransferSeen) => bytes / MB / ((seen.doneAt - seen.seenAt) / 1000);
    for (let pair = 0; pair < opts.pairs; pair++) {
      // the order alternates from pair to pair: attached first, then detached first
      const order = pair % 2 === 0 ? [false, true] : [true, false];
      for (const detached of order) {
        const mode = detached ? "detached" : "attached";
        log(`pair ${pair + 1}, ${mode}: upload…`);
        const up = await upload(detached);
        log(`pair ${pair + 1}, ${mode}: download…`);
        const down = await download(detached, up.messageId);
        rows.push({ mode, up: rate(up), down: rate(down) });
      }
      aeadRuns.push(await bareAead(page, source, bytes));
    }
    const aead = medianRates(aeadRuns);
    const pct = (v: number, of: number) => `${Math.round((100 * v) / of)} %`;
    const out = [`encrypt + upload and download + decrypt of ${opts.mb} MB, Playwright attached or detached (profile on disk)`];
    for (const r of rows) out.push(`  ${r.mode.padEnd(9)} upload ${r.up.toFixed(1)} MB/s (${pct(r.up, aead.xchacha.seal)})   download ${r.down.toFixed(1)} MB/s (${pct(r.down, aead.xchacha.open)})`);
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    for (const mode of ["attached", "detached"]) {
      const mine = rows.filter((r) => r.mode === mode);
      out.push(`${mode.padEnd(9)} median: upload ${pct(median(mine.map((r) => r.up)), aead.xchacha.seal)} of the bare seal, download ${pct(median(mine.map((r) => r.down)), aead.xchacha.open)} of the bare open`);
    }
    out.push(`bare XChaCha20-Poly1305 (seal / open): ${aead.xchacha.seal.toFixed(1)} / ${aead.xchacha.open.toFixed(1)} MB/s (median of ${aeadRuns.length} runs, Playwright attached)`);
    out.push(`load average at start ${loadAtStart}`);
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    await sender?.stop().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    chrome?.kill("SIGKILL");
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
