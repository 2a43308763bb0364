// `npm run bench:bodies [-- --rounds N]`: what it costs a browser to send an upload's bytes, by the way they are
// sent. A bare page (no app) whose worker sends 48 MB to a local sink (this process) in each of three ways, the
// sealed pieces of 512 KiB an upload makes:
//   - blob:      each piece made a Blob (the app's way), 8 of them put together as one 4 MiB POST body;
//   - buffer:    4 MiB POST bodies of the bytes themselves (an ArrayBuffer view);
//   - websocket: each piece one binary message on a WebSocket (the sink unmasks them: the `ws` package, with
//                its JavaScript unmasking unless the optional native `bufferutil` is installed).
// Two requests (or 1 MiB of unsent messages) at most on the way at once, as the app's upload keeps two.
// Headless Chromium runs twice in alternation: on its own (as a person's browser), and driven by Playwright
// (which turns on DevTools' network domain in every page and worker it attaches to, as every other bench and
// test does). Prints each run's milliseconds per 48 MB (three timed passes of each kind after a warm-up
// pass) and, for the runs on its own, the CPU per 48 MB of every Chromium process and of the sink.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "@playwright/test";
import { WebSocketServer } from "ws";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../e2e/env";

const KINDS = ["blob", "buffer", "websocket"] as const;
type Kind = (typeof KINDS)[number];
type Result = Record<Kind, number[]>;

const PAGE = `<!doctype html><script>
const w = new Worker("/w.js");
w.onmessage = (e) => fetch("/result", { method: "POST", body: JSON.stringify(e.data) });
</script>`;

const WORKER = `
const MB = 1 << 20, total = 48 * MB, req = 4 * MB, piece = 512 * 1024;
const pieces = [];
for (let i = 0; i < total / piece; i++) { const p = new Uint8Array(piece); crypto.getRandomValues(p.subarray(0, 65536)); pieces.push(p); }
async function posts(kind) {
  const wire = [];
  for (let off = 0; off < total; off += req) {
    const parts = pieces.slice(off / piece, (off + req) / piece);
    let body;
    if (kind === "blob") body = new Blob(parts.map((p) => new Blob([p])));
    else { body = new Uint8Array(req); let o = 0; for (const p of parts) { body.set(p, o); o += p.length; } }
    wire.push(fetch("/sink", { method: "POST", body }).then((r) => r.text()));
    if (wire.length >= 2) await wire.shift();
  }
  await Promise.all(wire);
}
let socket = null;
async function websocket() {
  if (!socket) {
    socket = new WebSocket(location.origin.replace("http", "ws") + "/sink");
    socket.binaryType = "arraybuffer";
    await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
  }
  const received = new Promise((resolve) => (socket.onmessage = (e) => e.data === "received" && resolve()));
  for (const p of pieces) {
    socket.send(p);
    while (socket.bufferedAmount > 2 * piece) await new Promise((r) => setTimeout(r, 1));
  }
  socket.send("end");
  await received;
}
const run = (kind) => (kind === "websocket" ? websocket() : posts(kind));
const mark = (what) => fetch("/mark?" + what).then((r) => r.text());
(async () => {
  const kinds = ${JSON.stringify(KINDS)};
  const out = Object.fromEntries(kinds.map((k) => [k, []]));
  for (const kind of kinds) await run(kind);
  for (let i = 0; i < 3; i++) {
    for (const kind of kinds) {
      await mark(kind + ":start");
      const t0 = performance.now();
      await run(kind);
      out[kind].push(Math.round(performance.now() - t0));
      await mark(kind + ":end");
    }
  }
  postMessage(out);
})();`;

function parseRounds(argv: string[]): number {
  if (argv.length === 0) return 2;
  if (argv[0] === "--rounds" && Number(argv[1]) > 0) return Number(argv[1]);
  throw new Error("use --rounds N");
}

/** CPU milliseconds (user + system) of `root` and every process under it, from /proc. */
function treeCpuMs(root: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      // the fields after the command's closing parenthesis: state, ppid, … utime (12th), stime (13th)
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      parent.set(pid, Number(f[1]));
      ticks.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      // the process ended meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  let sum = 0;
  for (const [pid, t] of ticks) if (inTree(pid)) sum += t;
  // Linux's clock ticks are 100 a second
  return sum * 10;
}

const sinkCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function main(): Promise<void> {
  const rounds = parseRounds(process.argv.slice(2));
  let deliver: ((r: Result) => void) | null = null;
  /** The Chromium being measured (its whole tree), when it runs on its own. */
  let browserPid: number | null = null;
  const cpu = { browser: new Map<Kind, number>(), sink: new Map<Kind, number>() };
  const started = new Map<Kind, { browser: number; sink: number }>();
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (url === "/" || url === "/w.js") {
      res.writeHead(200, { "content-type": url === "/" ? "text/html" : "text/javascript" }).end(url === "/" ? PAGE : WORKER);
      return;
    }
    if (url.startsWith("/mark?")) {
      const [kind, edge] = url.slice(6).split(":") as [Kind, "start" | "end"];
      const now = { browser: browserPid ? treeCpuMs(browserPid) : 0, sink: sinkCpuMs() };
      if (edge === "start") started.set(kind, now);
      else {
        const from = started.get(kind)!;
        cpu.browser.set(kind, (cpu.browser.get(kind) ?? 0) + now.browser - from.browser);
        cpu.sink.set(kind, (cpu.sink.get(kind) ?? 0) + now.sink - from.sink);
      }
      res.end("ok");
      return;
    }
    let body = "";
    req.on("data", (c: Buffer) => {
      if (url === "/result") body += c.toString();
    });
    req.on("end", () => {
      res.end("ok");
      if (url === "/result") deliver?.(JSON.parse(body) as Result);
    });
  });
  const sockets = new WebSocketServer({ server, path: "/sink", maxPayload: 1024 * 1024 });
  sockets.on("connection", (ws) => {
    ws.on("message", (data, binary) => {
      if (!binary && data.toString() === "end") ws.send("received");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://localhost:${(server.address() as AddressInfo).port}/`;
  const result = () => new Promise<Result>((resolve) => (deliver = resolve));
  const alone = async (): Promise<Result> => {
    const dir = mkdtempSync(join(tmpdir(), "junction-bench-bodies-"));
    const proc = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, "--headless=new", `--user-data-dir=${dir}`, url], { stdio: "ignore" });
    browserPid = proc.pid ?? null;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    try {
      return await result();
    } finally {
      browserPid = null;
      proc.kill("SIGKILL");
      // its children may still write into the profile a moment after it ended
      await exited;
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
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
  let bufferutil = false;
  try {
    // resolved as `ws` resolves it (NODE_PATH included)
    createRequire(import.meta.url)("bufferutil");
    bufferutil = true;
  } catch {
    // the sink unmasks WebSocket messages in JavaScript
  }
  const lines = [
    "ms to send 48 MB from a worker (three passes each)",
    "run                     Blob bodies        ArrayBuffer bodies   WebSocket messages",
  ];
  const cpuLines: string[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      for (const [name, run] of [["Chromium alone", alone], ["driven by Playwright", driven]] as const) {
        for (const map of [cpu.browser, cpu.sink]) map.clear();
        const r = await run();
        lines.push(`${name.padEnd(22)}  ${r.blob.join(", ").padEnd(17)}  ${r.buffer.join(", ").padEnd(19)}  ${r.websocket.join(", ")}`);
        if (run === alone) {
          const per = (map: Map<Kind, number>, kind: Kind) => Math.round((map.get(kind) ?? 0) / 3);
          cpuLines.push(
            `Chromium alone, round ${i + 1}: ` +
              KINDS.map((k) => `${k} ${per(cpu.browser, k)} + ${per(cpu.sink, k)} = ${per(cpu.browser, k) + per(cpu.sink, k)}`).join("; "),
          );
        }
      }
    }
  } finally {
    sockets.close();
    server.close();
  }
  lines.push("", `CPU ms per 48 MB: every Chromium process + the sink (WebSocket unmasking: ${bufferutil ? "bufferutil, native" : "JavaScript, no bufferutil"})`, ...cpuLines);
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
