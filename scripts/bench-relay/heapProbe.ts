// `node --import tsx scripts/bench-relay/heapProbe.ts [N]` (default 2,000): what an idle logged-in socket
// holds in the relay's heap. Seeds N devices, starts a relay (PROBE_ECHO=1: the bare socket.io echo
// server, sockets without login) that writes a heap snapshot on SIGUSR2, snapshots it before and after
// N idle sockets, and prints the heap growth per socket by object type. The snapshots stay in
// $TMPDIR/junction-heap-probe for heapDominators.ts. RSS here is not the bench's figure: taking a
// snapshot grows the process.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync, readdirSync, statSync, mkdirSync, rmSync } from "node:fs";
import { io } from "socket.io-client";
import { openSqliteStore } from "../../lib/relay/storage/sqlite";
import { TestDevice } from "../../lib/relay/test/device";
import { TEST_RELAY_LIMITS } from "../../lib/relay/test/limits";
import { startRelay, tempDataDir } from "../../lib/relay/test/relayProcess";
import { loopbackAddress } from "./protocol";

const N = Number(process.argv[2] ?? 2000);
const DIR = join(tmpdir(), "junction-heap-probe");
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });

async function snap(pid: number, label: string): Promise<string> {
  const before = new Set(readdirSync(DIR));
  process.kill(pid, "SIGUSR2");
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const f = readdirSync(DIR).find((x) => !before.has(x) && x.endsWith(".heapsnapshot"));
    if (f) {
      let size = -1;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        const s = statSync(`${DIR}/${f}`).size;
        if (s === size && s > 0) break;
        size = s;
      }
      console.log(label, f, size);
      return `${DIR}/${f}`;
    }
  }
}

function rss(pid: number) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

interface Agg { count: number; size: number }
function aggregate(file: string): Map<string, Agg> {
  const s = JSON.parse(readFileSync(file, "utf8"));
  const f = s.snapshot.meta.node_fields as string[];
  const types = s.snapshot.meta.node_types[0] as string[];
  const nf = f.length;
  const it = f.indexOf("type"), iname = f.indexOf("name"), isz = f.indexOf("self_size");
  const m = new Map<string, Agg>();
  const nodes = s.nodes as number[];
  for (let i = 0; i < nodes.length; i += nf) {
    const t = types[nodes[i + it]!]!;
    let name = s.strings[nodes[i + iname]!] as string;
    if (t === "string" || t === "concatenated string" || t === "sliced string") name = "";
    if (t === "code" ) name = "";
    if (t === "number") name = "";
    const key = `${t}:${name.slice(0, 60)}`;
    const a = m.get(key) ?? { count: 0, size: 0 };
    a.count++;
    a.size += nodes[i + isz]!;
    m.set(key, a);
  }
  return m;
}

async function startEcho(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`, "--import", "tsx", "scripts/bench-relay/echo.ts"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
  });
}

async function main() {
  const dataDir = tempDataDir();
  const store = await openSqliteStore(dataDir);
  const tag = randomBytes(4).toString("hex");
  const devices: TestDevice[] = [];
  for (let i = 0; i < N; i += 250) {
    await Promise.all(Array.from({ length: Math.min(250, N - i) }, async (_, j) => {
      const d = new TestDevice("");
      const keys = d.keys(0, 0);
      const outcome = await store.registerAccount({ address: `messenger:idle${tag}.${i + j}` as never, brand: "messenger", identityKey: d.identityKey, deviceId: d.deviceId, authKey: d.authKey, signedPrekey: keys.signedPrekey, kemPrekey: keys.kemPrekey, oneTimePrekeys: [], now: Date.now() }, "new_device", 8);
      if (outcome !== "ok") throw new Error(outcome);
      devices.push(d);
    }));
  }
  await store.close();
  const echo = process.env.PROBE_ECHO === "1";
  const r = echo ? await startEcho(DIR) : await startRelay({ dataDir, env: { LOG_LEVEL: "warn", RELAY_LIMITS: JSON.stringify(TEST_RELAY_LIMITS), NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${DIR}` } });
  const url = r.url.replace("//localhost:", "//127.0.0.1:");
  const pid = r.child.pid!;
  await new Promise((d) => setTimeout(d, 2000));
  const rss0 = rss(pid);
  const s0 = await snap(pid, "before");
  let n = 0;
  const queue = [...devices];
  await Promise.all(Array.from({ length: 32 }, async () => {
    for (let d = queue.shift(); d; d = queue.shift()) {
      const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, localAddress: loopbackAddress(n++) } as never);
      await new Promise<void>((res, rej) => { socket.once("connect", () => res()); socket.once("connect_error", rej); });
      if (echo) continue;
      const dev = new TestDevice(url, d as never);
      dev.socket = socket as never;
      const res = await dev.login();
      if (!res.ok) throw new Error("login");
    }
  }));
  await new Promise((d) => setTimeout(d, 5000));
  const rss1 = rss(pid);
  const s1 = await snap(pid, "after");
  const rss2 = rss(pid);
  console.log(`RSS ${(rss0/2**20).toFixed(1)} -> ${(rss1/2**20).toFixed(1)} MiB: ${((rss1-rss0)/N/1024).toFixed(2)} KB/socket (after snapshot ${(rss2/2**20).toFixed(1)})`);
  const a = aggregate(s0), b = aggregate(s1);
  const rows: [string, number, number][] = [];
  let total = 0;
  for (const [k, v] of b) {
    const o = a.get(k) ?? { count: 0, size: 0 };
    const dsz = v.size - o.size;
    total += dsz;
    rows.push([k, (v.count - o.count) / N, dsz / N]);
  }
  for (const [k, o] of a) if (!b.has(k)) total -= o.size;
  rows.sort((x, y) => y[2] - x[2]);
  console.log(`heap self size delta per socket: ${(total / N).toFixed(0)} B`);
  for (const [k, c, s] of rows.slice(0, 70)) console.log(`${s.toFixed(0).padStart(7)} B  ${c.toFixed(2).padStart(6)}×  ${k}`);
  process.exit(0);
}
main();
