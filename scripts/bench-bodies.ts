// `npm run bench:bodies [-- --rounds N]`: what a DevTools session costs request bodies. A bare page (no app) whose
// worker posts 48 MB to a local sink in 4 MiB requests, as Blob bodies and as ArrayBuffer bodies, in a headless
// Chromium run twice in alternation: on its own (as a person's browser), and driven by Playwright (which turns
// on DevTools' network domain in every page and worker it attaches to, as in every other bench and test).
// Prints each run's milliseconds per 48 MB (three timed passes of each kind after a warm-up pass).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "@playwright/test";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../e2e/env";

interface Result {
  blob: number[];
  buffer: number[];
}

const PAGE = `<!doctype html><script>
const w = new Worker("/w.js");
w.onmessage = (e) => fetch("/result", { method: "POST", body: JSON.stringify(e.data) });
</script>`;

// the worker: 96 pieces of 512 KiB (an upload's sealed pieces), sent 8 to a request
const WORKER = `
const MB = 1 << 20, total = 48 * MB, req = 4 * MB, piece = 512 * 1024;
const pieces = [];
for (let i = 0; i < total / piece; i++) { const p = new Uint8Array(piece); crypto.getRandomValues(p.subarray(0, 65536)); pieces.push(p); }
async function run(kind) {
  const t0 = performance.now();
  for (let off = 0; off < total; off += req) {
    const parts = pieces.slice(off / piece, (off + req) / piece);
    let body;
    if (kind === "blob") body = new Blob(parts);
    else { body = new Uint8Array(req); let o = 0; for (const p of parts) { body.set(p, o); o += p.length; } }
    await (await fetch("/sink", { method: "POST", body })).text();
  }
  return Math.round(performance.now() - t0);
}
(async () => {
  const out = { blob: [], buffer: [] };
  await run("blob"); await run("buffer");
  for (let i = 0; i < 3; i++) { out.blob.push(await run("blob")); out.buffer.push(await run("buffer")); }
  postMessage(out);
})();`;

function parseRounds(argv: string[]): number {
  if (argv.length === 0) return 2;
  if (argv[0] === "--rounds" && Number(argv[1]) > 0) return Number(argv[1]);
  throw new Error("use --rounds N");
}

async function main(): Promise<void> {
  const rounds = parseRounds(process.argv.slice(2));
  let deliver: ((r: Result) => void) | null = null;
  const server = createServer((req, res) => {
    if (req.url === "/" || req.url === "/w.js") {
      res.writeHead(200, { "content-type": req.url === "/" ? "text/html" : "text/javascript" }).end(req.url === "/" ? PAGE : WORKER);
      return;
    }
    let body = "";
    req.on("data", (c: Buffer) => {
      if (req.url === "/result") body += c.toString();
    });
    req.on("end", () => {
      res.end("ok");
      if (req.url === "/result") deliver?.(JSON.parse(body) as Result);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://localhost:${(server.address() as AddressInfo).port}/`;
  const result = () => new Promise<Result>((resolve) => (deliver = resolve));
  const alone = async (): Promise<Result> => {
    const dir = mkdtempSync(join(tmpdir(), "junction-bench-bodies-"));
    const proc = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, "--headless=new", `--user-data-dir=${dir}`, url], { stdio: "ignore" });
    try {
      return await result();
    } finally {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const driven = async (): Promise<Result> => {
    const browser = await chromium.launch({ headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    try {
      const done = result();
      await (await browser.newPage()).goto(url);
      return await done;
    } finally {
      await browser.close();
    }
  };
  const lines = ["ms to post 48 MB in 4 MiB requests from a worker (three passes each)", "run                     Blob bodies        ArrayBuffer bodies"];
  try {
    for (let i = 0; i < rounds; i++) {
      for (const [name, run] of [["Chromium alone", alone], ["driven by Playwright", driven]] as const) {
        const r = await run();
        lines.push(`${name.padEnd(22)}  ${r.blob.join(", ").padEnd(17)}  ${r.buffer.join(", ")}`);
      }
    }
  } finally {
    server.close();
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
