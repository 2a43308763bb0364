// `npm run bench:group [-- --json] [--members N] [--messages N] [--online]`: one message to a group of 1,024 members
// (one device each) through a real relay, against the same message sent 1:1 to each of them, in the same
// process (see docs/BENCHMARKS.md, "Group fan-out").
//   - group: the content encrypted ONCE with my sender key and the same body addressed to every member
//     device, uploaded in mailbox:send batches of 100 (lib/engine/groups/service.ts does the same steps);
//   - 1:1: the content encrypted with each member's pairwise session (sessions existing and answered, each
//     read, advanced and written back as the engine does), one body per device, in the same batches.
// Per message: the sender's CPU to build the upload, the relay's time to accept the whole fan-out (every
// batch stored) and its CPU meanwhile, envelopes/s, and the bytes on the wire both ways. With --online every
// member device is logged in (each from an address of its own, as behind a proxy) and acks what it gets, and
// the time until the last member device has the message is the push figure.
// Progress goes to stderr; the table (or, with --json, one JSON object) to stdout.
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { io, type Socket } from "socket.io-client";
import {
  createSenderKey,
  decrypt,
  deserializeSession,
  encrypt,
  groupEncrypt,
  initiateSession,
  serializeSenderKey,
  serializeSession,
  type SenderKeyRecord,
} from "../lib/crypto/index";
import { bundleOf, makeDevice, type Device } from "../lib/crypto/testing/parties";
import { envelopeId } from "../lib/engine/envelopes";
import { GROUP_FRAME, GROUP_FRAME_HEAD } from "../lib/engine/groups/state";
import { EVENTS } from "../lib/protocol/events";
import { toB64 } from "../lib/protocol/bytes";
import { MAX_ENVELOPES_PER_SEND } from "../lib/protocol/limits";
import { openSqliteStore } from "../lib/relay/storage/sqlite";
import { call, TestDevice } from "../lib/relay/test/device";
import { TEST_RELAY_LIMITS } from "../lib/relay/test/limits";
import { startRelay, tempDataDir } from "../lib/relay/test/relayProcess";

interface Options {
  json: boolean;
  members: number;
  messages: number;
  online: boolean;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { json: false, members: 1_024, messages: 7, online: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const int = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 2) throw new Error(`${arg} takes an integer of at least 2`);
      return n;
    };
    if (arg === "--json") opts.json = true;
    else if (arg === "--members") opts.members = int();
    else if (arg === "--messages") opts.messages = int();
    else if (arg === "--online") opts.online = true;
    else throw new Error(`unknown argument ${arg}; use --json, --members N, --messages N, --online`);
  }
  return opts;
}

/** Real limits but registration and login (one loopback host seeds every member) and the per-pair allowance. */
const BENCH_LIMITS = {
  ...TEST_RELAY_LIMITS,
  sendPerPair: { burst: 1_000_000, perSecond: 1_000 },
  sendBytesPerPair: { burst: 1_000_000_000, perSecond: 1_000_000 },
};
const TEXT_BYTES = 200;

const log = (line: string) => process.stderr.write(`bench:group: ${line}\n`);

type Envelope = { id: string; to: string; toDevice: string; body: string };

interface Member {
  address: string;
  deviceId: string;
  /** My pairwise session with its device, as stored. */
  session: Uint8Array;
}

/** The members, seeded straight into the relay's database (a registration each, no socket). */
async function seed(dataDir: string, n: number, tag: string): Promise<{ sender: TestDevice; senderAddress: string; devices: TestDevice[] }> {
  const store = await openSqliteStore(dataDir);
  const register = async (address: string, d: TestDevice) => {
    const keys = d.keys(0, 0);
    const outcome = await store.registerAccount(
      { address: address as never, brand: "messenger", identityKey: d.identityKey, deviceId: d.deviceId, authKey: d.authKey, signedPrekey: keys.signedPrekey, kemPrekey: keys.kemPrekey, oneTimePrekeys: [], now: Date.now() },
      "new_device",
      8,
    );
    if (outcome !== "ok") throw new Error(`seeding: ${outcome}`);
  };
  const sender = new TestDevice("");
  const senderAddress = `messenger:ana.${tag}`;
  await register(senderAddress, sender);
  const devices: TestDevice[] = [];
  for (let i = 0; i < n; i++) {
    const d = new TestDevice("");
    await register(`messenger:member${i}.${tag}`, d);
    devices.push(d);
  }
  await store.close();
  return { sender, senderAddress, devices };
}

/**
 * Every member device logged in, each from an address of its own (X-Forwarded-For, the relay trusting one
 * proxy: one host's 1,023 sockets would pass the per-address cap), acking what it gets as a client does.
 * `arrived(envelopeId)` is called for each envelope pushed.
 */
async function bringOnline(url: string, seeded: TestDevice[], arrived: (envelopeId: string) => void): Promise<TestDevice[]> {
  const online: TestDevice[] = [];
  const CONCURRENT = 32;
  for (let i = 0; i < seeded.length; i += CONCURRENT) {
    const wave = seeded.slice(i, i + CONCURRENT).map(async (d, j) => {
      const n = i + j;
      const member = new TestDevice(url, d);
      const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: { "x-forwarded-for": `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` } });
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("connect_error", reject);
      });
      member.socket = socket as never;
      socket.on(EVENTS.deliver, (payload: { envelopes: { to: string; id: string }[] }) => {
        for (const e of payload.envelopes) arrived(e.id);
        // an ack still out when the bench disconnects is of no interest
        call(socket as never, EVENTS.ack, { envelopes: payload.envelopes.map((e) => ({ to: e.to, id: e.id })) }).catch(() => undefined);
      });
      const login = await member.login();
      if (!login.ok) throw new Error(`member login refused: ${login.error.code}`);
      online.push(member);
    });
    await Promise.all(wave);
  }
  return online;
}

/** A session the peer has answered (no prekey header any more), as a steady 1:1 conversation's is. */
async function answeredSession(me: Device, peer: Device): Promise<Uint8Array> {
  const hello = new TextEncoder().encode("hello");
  const first = await encrypt(await initiateSession({ ourIdentity: me.identity, ourAddress: me.address, theirAddress: peer.address, bundle: bundleOf(peer) }), hello);
  const opened = await decrypt({ ourIdentity: peer.identity, ourAddress: peer.address, theirAddress: me.address, ciphertext: first.ciphertext, prekeys: peer.store });
  const reply = await encrypt(opened.state, hello);
  const answered = await decrypt({ state: first.state, ourIdentity: me.identity, ourAddress: me.address, theirAddress: peer.address, ciphertext: reply.ciphertext, prekeys: me.store });
  return serializeSession(answered.state);
}

/** User + system CPU time of a process so far, in ms (/proc, clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Bytes of socket.io packets this socket sent and received (engine.io frames' payloads). */
function wireMeter(socket: Socket): { up: number; down: number } {
  const meter = { up: 0, down: 0 };
  const engine = socket.io.engine;
  const size = (data: unknown) => (typeof data === "string" ? Buffer.byteLength(data) : data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data.byteLength : 0);
  engine.on("packetCreate", (p: { data?: unknown }) => (meter.up += size(p.data)));
  engine.on("packet", (p: { data?: unknown }) => (meter.down += size(p.data)));
  return meter;
}

interface Run {
  senderCpuMs: number;
  acceptMs: number;
  /** --online: from the first batch sent until the last member device had its envelope. */
  pushedMs: number;
  relayCpuMs: number;
  envelopes: number;
  upBytes: number;
  downBytes: number;
}

function content(messageId: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, type: "text", id: messageId, sentAt: Date.now(), text: "x".repeat(TEXT_BYTES), senderName: "Ana" }));
}

/** One message with my sender key: encrypted once, the same body for every member device. */
function buildGroup(groupId: string, members: Member[], record: { current: SenderKeyRecord }, messageId: string): Envelope[] {
  const sealed = groupEncrypt(record.current, content(messageId));
  record.current = sealed.record;
  // stored before anything goes, as the engine does
  serializeSenderKey(record.current);
  const frame = new Uint8Array(GROUP_FRAME_HEAD + sealed.ciphertext.length);
  frame[0] = GROUP_FRAME;
  frame.set(Buffer.from(groupId, "hex"), 1);
  frame.set(sealed.ciphertext, GROUP_FRAME_HEAD);
  const body = toB64(frame);
  return members.map((m) => ({ id: envelopeId(messageId, m.address, m.deviceId), to: m.address, toDevice: m.deviceId, body }));
}

/** The same message 1:1: each member's pairwise session read, advanced and written back, one body each. */
async function buildPairwise(members: Member[], messageId: string): Promise<Envelope[]> {
  const plaintext = content(messageId);
  const out: Envelope[] = [];
  for (const m of members) {
    const sealed = await encrypt(deserializeSession(m.session), plaintext);
    m.session = serializeSession(sealed.state);
    out.push({ id: envelopeId(messageId, m.address, m.deviceId), to: m.address, toDevice: m.deviceId, body: toB64(sealed.ciphertext) });
  }
  return out;
}

/** Uploads `envelopes` as the engine does (batches of MAX_ENVELOPES_PER_SEND, each awaited). */
async function upload(socket: Socket, from: string, envelopes: Envelope[]): Promise<void> {
  for (let i = 0; i < envelopes.length; i += MAX_ENVELOPES_PER_SEND) {
    const ack = await call(socket as never, EVENTS.send, { from, envelopes: envelopes.slice(i, i + MAX_ENVELOPES_PER_SEND) });
    if (!ack.ok) throw new Error(`mailbox:send refused: ${ack.error.code} ${ack.error.message}`);
  }
}

/** The envelopes of the message being measured that no member device has had pushed yet (--online). */
class PushWatch {
  private waiting = new Set<string>();
  private done: (() => void) | null = null;

  expect(ids: string[]): Promise<void> {
    this.waiting = new Set(ids);
    return new Promise((resolve) => (this.done = resolve));
  }

  arrived(id: string): void {
    if (!this.waiting.delete(id) || this.waiting.size > 0) return;
    this.done?.();
    this.done = null;
  }
}

async function measure(
  build: () => Promise<Envelope[]>,
  socket: Socket,
  from: string,
  meter: { up: number; down: number },
  relayPid: number,
  pushes: PushWatch | null,
): Promise<Run> {
  const cpu0 = process.cpuUsage();
  const envelopes = await build();
  const cpu = process.cpuUsage(cpu0);
  const [up0, down0, relay0] = [meter.up, meter.down, processCpuMs(relayPid)];
  const pushed = pushes?.expect(envelopes.map((e) => e.id));
  const t0 = performance.now();
  await upload(socket, from, envelopes);
  const acceptMs = performance.now() - t0;
  const relayCpuMs = processCpuMs(relayPid) - relay0;
  await pushed;
  const pushedMs = pushes ? performance.now() - t0 : Number.NaN;
  return { senderCpuMs: (cpu.user + cpu.system) / 1000, acceptMs, pushedMs, relayCpuMs, envelopes: envelopes.length, upBytes: meter.up - up0, downBytes: meter.down - down0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

interface Summary {
  mode: string;
  runs: number;
  senderCpuMs: number;
  acceptMs: number;
  pushedMs: number;
  relayCpuMs: number;
  envelopesPerSecond: number;
  upBytes: number;
  downBytes: number;
}

function summarise(mode: string, runs: Run[]): Summary {
  const acceptMs = median(runs.map((r) => r.acceptMs));
  return {
    mode,
    runs: runs.length,
    senderCpuMs: median(runs.map((r) => r.senderCpuMs)),
    acceptMs,
    pushedMs: median(runs.map((r) => r.pushedMs)),
    relayCpuMs: median(runs.map((r) => r.relayCpuMs)),
    envelopesPerSecond: (runs[0]?.envelopes ?? 0) / (acceptMs / 1000),
    upBytes: median(runs.map((r) => r.upBytes)),
    downBytes: median(runs.map((r) => r.downBytes)),
  };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const loadAvgStart = loadavg();
  const others = opts.members - 1;
  const tag = Math.random().toString(36).slice(2, 8);
  const dataDir = tempDataDir();
  log(`seeding ${opts.members} members (${others} devices besides mine)`);
  const seeded = await seed(dataDir, others, tag);
  // my pairwise sessions with every member device (set up once, as the engine holds them)
  const me = await makeDevice(seeded.senderAddress, { oneTime: 1 });
  const peer = await makeDevice("messenger:peer.x", { oneTime: 1 });
  const base = await answeredSession(me, peer);
  const members: Member[] = seeded.devices.map((d, i) => ({ address: `messenger:member${i}.${tag}`, deviceId: d.deviceId, session: base.slice() }));
  const groupId = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
  const record = { current: createSenderKey({ groupId, sender: `${seeded.senderAddress}/${seeded.sender.deviceId}` }) };

  const relay = await startRelay({ dataDir, env: { LOG_LEVEL: "warn", RELAY_LIMITS: JSON.stringify(BENCH_LIMITS), TRUST_PROXY: "1" } });
  const url = relay.url.replace("//localhost:", "//127.0.0.1:");
  const sender = new TestDevice(url, seeded.sender);
  let online: TestDevice[] = [];
  try {
    const pushes = opts.online ? new PushWatch() : null;
    if (pushes) {
      log(`logging in ${seeded.devices.length} member devices`);
      online = await bringOnline(url, seeded.devices, (id) => pushes.arrived(id));
    }
    const socket = (await sender.connect()) as unknown as Socket;
    const login = await sender.login();
    if (!login.ok) throw new Error(`login refused: ${login.error.code}`);
    const meter = wireMeter(socket);
    const relayPid = relay.child.pid!;
    const groupRuns: Run[] = [];
    const pairRuns: Run[] = [];
    // one of each first, not counted (JIT, the relay's first pages); then interleaved, so both see the same machine
    for (let r = -1; r < opts.messages; r++) {
      const g = await measure(async () => buildGroup(groupId, members, record, `g${r}${tag}`), socket, seeded.senderAddress, meter, relayPid, pushes);
      const p = await measure(() => buildPairwise(members, `p${r}${tag}`), socket, seeded.senderAddress, meter, relayPid, pushes);
      if (r < 0) continue;
      groupRuns.push(g);
      pairRuns.push(p);
      log(`message ${r + 1}/${opts.messages}: group ${g.senderCpuMs.toFixed(1)} ms CPU, accepted in ${g.acceptMs.toFixed(0)} ms; 1:1 ${p.senderCpuMs.toFixed(1)} ms CPU, accepted in ${p.acceptMs.toFixed(0)} ms`);
    }
    sender.disconnect();
    const report = {
      machine: { cores: availableParallelism(), loadAvgStart, loadAvgEnd: loadavg(), node: process.version },
      settings: { members: opts.members, devices: others, textBytes: TEXT_BYTES, batch: MAX_ENVELOPES_PER_SEND, store: "sqlite", membersOnline: opts.online },
      group: summarise("group", groupRuns),
      pairwise: summarise("1:1", pairRuns),
    };
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : table(report));
  } finally {
    sender.disconnect();
    for (const m of online) m.disconnect();
    await relay.stop();
  }
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "—");
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a / b) ? `×${(a / b).toFixed(a / b < 10 ? 2 : 0)}` : "—");

function table(r: {
  machine: { cores: number; loadAvgStart: number[]; loadAvgEnd: number[]; node: string };
  settings: { members: number; devices: number; textBytes: number; batch: number; membersOnline: boolean };
  group: Summary;
  pairwise: Summary;
}): string {
  const { group: g, pairwise: p } = r;
  const lines = [
    `group fan-out: ${r.machine.cores} cores, load average ${r.machine.loadAvgStart.map(f1).join(" ")} → ${r.machine.loadAvgEnd.map(f1).join(" ")}, ${r.machine.node}`,
    `one ${r.settings.textBytes}-byte text to ${f0(r.settings.members)} members (${f0(r.settings.devices)} devices besides mine, ${r.settings.membersOnline ? "online: stored, pushed and acked" : "offline: stored, not pushed"}), SQLite relay, batches of ${r.settings.batch}; medians of ${g.runs}`,
    "",
    "| per message | group (sender key) | 1:1 to each member | 1:1 / group |",
    "|---|---|---|---|",
    `| sender CPU to build the upload | ${f1(g.senderCpuMs)} ms | ${f1(p.senderCpuMs)} ms | ${ratio(p.senderCpuMs, g.senderCpuMs)} |`,
    `| relay accepts the whole fan-out | ${f0(g.acceptMs)} ms | ${f0(p.acceptMs)} ms | ${ratio(p.acceptMs, g.acceptMs)} |`,
    ...(r.settings.membersOnline ? [`| last member device has it | ${f0(g.pushedMs)} ms | ${f0(p.pushedMs)} ms | ${ratio(p.pushedMs, g.pushedMs)} |`] : []),
    `| relay CPU while accepting | ${f0(g.relayCpuMs)} ms | ${f0(p.relayCpuMs)} ms | ${ratio(p.relayCpuMs, g.relayCpuMs)} |`,
    `| envelopes/s accepted | ${f0(g.envelopesPerSecond)} | ${f0(p.envelopesPerSecond)} | ${ratio(p.envelopesPerSecond, g.envelopesPerSecond)} |`,
    `| bytes up (socket.io packets) | ${f0(g.upBytes / 1024)} KiB | ${f0(p.upBytes / 1024)} KiB | ${ratio(p.upBytes, g.upBytes)} |`,
    `| bytes down (acks) | ${f0(g.downBytes)} B | ${f0(p.downBytes)} B | ${ratio(p.downBytes, g.downBytes)} |`,
  ];
  return `${lines.join("\n")}\n`;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:group failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
