// `npm run fuzz:relay -- [--frames N] [--connections C] [--seconds S] [--seed X] [--max-rss-mb M]
//   [--mix default|binary] [--kinds a,b,…] [--url URL [--pid PID]] [--one-address] [--json]`
// Sends random and mutated engine.io / socket.io frames from several connections to a real relay
// process (its own, started here, unless --url names a running one), then checks that the relay is
// still healthy and its memory stayed bounded. Exit code 0 on pass, 1 on fail, 2 on bad arguments.
// The frame generators and oracles live in lib/relay/test/fuzzFrames.ts (shared with fuzz.test.ts).
// Progress goes to stderr; the summary (or, with --json, one JSON object) to stdout.
import { type FuzzReport, fuzzOwnRelay, KINDS, type Kind, type Mix, MIXES, type MixName, runFuzz } from "../lib/relay/test/fuzzFrames";

interface Options {
  frames: number;
  connections: number;
  seconds: number;
  seed: string;
  maxRssMb: number;
  mixName: MixName;
  kinds: Kind[] | null;
  url: string | null;
  pid: number | null;
  json: boolean;
  oneAddress: boolean;
}

const USAGE =
  "usage: fuzz-relay [--frames N] [--connections C] [--seconds S] [--seed X] [--max-rss-mb M] [--mix default|binary] [--kinds k1,k2] [--url URL [--pid PID]] [--one-address] [--json]";

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    frames: 20_000,
    connections: 8,
    seconds: 120,
    seed: String(Date.now() % 1_000_000),
    maxRssMb: 400,
    mixName: "default",
    kinds: null,
    url: null,
    pid: null,
    json: false,
    oneAddress: false,
  };
  const value = (i: number, flag: string) => {
    const v = argv[i];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} takes a value`);
    return v;
  };
  const positive = (text: string, flag: string) => {
    const n = Number(text.replace(/_/g, ""));
    if (!(Number.isFinite(n) && n > 0)) throw new Error(`${flag} takes a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") opts.json = true;
    else if (arg === "--one-address") opts.oneAddress = true;
    else if (arg === "--frames") opts.frames = Math.floor(positive(value(++i, arg), arg));
    else if (arg === "--connections") opts.connections = Math.floor(positive(value(++i, arg), arg));
    else if (arg === "--seconds") opts.seconds = positive(value(++i, arg), arg);
    else if (arg === "--max-rss-mb") opts.maxRssMb = positive(value(++i, arg), arg);
    else if (arg === "--seed") opts.seed = value(++i, arg);
    else if (arg === "--url") opts.url = value(++i, arg);
    else if (arg === "--pid") opts.pid = Math.floor(positive(value(++i, arg), arg));
    else if (arg === "--mix") {
      const name = value(++i, arg);
      if (!(name in MIXES)) throw new Error(`--mix is one of ${Object.keys(MIXES).join(", ")}`);
      opts.mixName = name as MixName;
    } else if (arg === "--kinds") {
      const kinds = value(++i, arg).split(",").map((k) => k.trim()).filter(Boolean);
      const unknown = kinds.filter((k) => !(KINDS as readonly string[]).includes(k));
      if (unknown.length || !kinds.length) throw new Error(`--kinds takes a comma-separated list of ${KINDS.join(", ")}`);
      opts.kinds = kinds as Kind[];
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (opts.pid !== null && opts.url === null) throw new Error("--pid goes with --url");
  return opts;
}

/** The named mix, or with --kinds only those kinds (their weights in the mix, or 1 where it has none). */
function mixOf(opts: Options): Mix {
  const base: Mix = MIXES[opts.mixName];
  if (!opts.kinds) return base;
  return Object.fromEntries(opts.kinds.map((k) => [k, base[k] ?? 1]));
}

const n = (x: number) => Math.round(x).toLocaleString("en-US");
const mb = (x: number) => `${x.toFixed(0)} MB`;

function summary(r: FuzzReport, opts: Options): string {
  const lines: string[] = [];
  const pad = (s: string, w: number) => s.padEnd(w);
  lines.push(`relay fuzz: seed ${r.seed}, ${r.connections} connections, mix ${opts.kinds ? opts.kinds.join(",") : opts.mixName}, ${r.url}`);
  lines.push(
    `frames sent   ${n(r.framesSent)} in ${(r.durationMs / 1000).toFixed(1)} s (${n(r.framesPerSecond)}/s), ${(r.bytesSent / 1024 / 1024).toFixed(1)} MiB handed to the sockets; ` +
      `${n(r.connectionsOpened)} connections opened, ${n(r.closedByRelay)} closed by the relay, ${n(r.connectFailures)} failed to open`,
  );
  const why = Object.entries(r.connectFailureReasons).map(([reason, count]) => `${reason} ×${n(count)}`).join(", ");
  if (why) lines.push(`failed opens  ${why}`);
  lines.push("per kind                units     frames  closed by relay");
  const kinds = [...new Set([...Object.keys(r.unitsByKind), ...Object.keys(r.framesByKind)])].sort();
  for (const k of kinds) {
    lines.push(`  ${pad(k, 18)} ${n(r.unitsByKind[k] ?? 0).padStart(8)} ${n(r.framesByKind[k] ?? 0).padStart(10)} ${n(r.closesByKind[k] ?? 0).padStart(16)}`);
  }
  const acks = Object.entries(r.acks).sort((a, b) => b[1] - a[1]);
  lines.push(`acks by code  ${acks.map(([code, count]) => `${code} ${n(count)}`).join(", ") || "none"}${r.strayAcks ? `; ${n(r.strayAcks)} for ids never sent by this lane` : ""}`);
  lines.push(
    `legitimate    ${n(r.legit.sent)} sends, ${n(r.legit.answeredOk)} requests answered ok; envelopes stored ${n(r.legit.stored)}, delivered ${n(r.legit.delivered)}, missing ${n(r.legit.missing)}`,
  );
  if (r.rss) {
    const grew = r.rss.afterMb - r.rss.beforeMb;
    lines.push(
      `relay RSS     before ${mb(r.rss.beforeMb)}, after ${mb(r.rss.afterMb)} (${grew >= 0 ? "+" : ""}${grew.toFixed(0)}), peak ${mb(Math.max(r.rss.hwmMb, r.rss.peakSampledMb))} ` +
        `(VmHWM ${mb(r.rss.hwmMb)}, sampled ${mb(r.rss.peakSampledMb)}); bound ${opts.maxRssMb} MB`,
    );
  } else lines.push(`relay RSS     not measured${opts.url ? " (pass --pid with --url)" : ""}`);
  lines.push(`/healthz      during the run ${n(r.probes.count)} probes, slowest ${n(r.probes.maxMs)} ms, ${r.probes.overTwoSeconds} over 2 s (fuzzer's own longest stall ${n(r.fuzzerMaxLagMs)} ms); at the end ${r.health.healthz.ok ? `ok in ${n(r.health.healthz.ms)} ms` : `FAILED (${r.health.healthz.error})`}`);
  lines.push(`round trip    ${r.health.roundTrip.ok ? `a fresh device signed up, sent itself a message and got it in ${n(r.health.roundTrip.ms)} ms` : `FAILED (${r.health.roundTrip.error})`}`);
  if (!r.findings.length) lines.push("findings      none");
  for (const f of r.findings) {
    lines.push(`${f.severity === "fail" ? "FINDING" : "note   "}       ${f.type}: ${f.detail} (×${n(f.count)}${f.kind ? `, kind ${f.kind}` : ""}${f.lane !== null ? `, lane ${f.lane}` : ""})`);
    if (f.example) lines.push(`                e.g. ${f.example.replace(/\n/g, "\\n").slice(0, 300)}`);
  }
  lines.push(r.pass ? "PASS" : `FAIL: ${r.failures.join("; ")}`);
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const log = (line: string) => process.stderr.write(`fuzz:relay: ${line}\n`);
  const common = { frames: opts.frames, connections: opts.connections, seconds: opts.seconds, seed: opts.seed, mix: mixOf(opts), maxRssMb: opts.maxRssMb, oneAddress: opts.oneAddress, log };
  log(`seed ${opts.seed} (rerun with --seed ${opts.seed}); up to ${n(opts.frames)} frames or ${opts.seconds} s`);
  const report = opts.url ? await runFuzz({ ...common, url: opts.url, pid: opts.pid ?? undefined }) : await fuzzOwnRelay(common);
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : summary(report, opts));
  return report.pass ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fuzz:relay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
