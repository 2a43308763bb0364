// Helpers of the hostile-traffic suite (lib/relay/hostile.test.ts), Node only: clients that connect
// from a loopback address of their own (so the relay's per-address limits see separate people, as
// in the field), the relay process's memory from /proc, connections that stop reading, and read-only
// looks at the relay's files.
import Database from "better-sqlite3";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { io, type ManagerOptions, type SocketOptions } from "socket.io-client";
import { type Ack, EVENTS, type RelayError } from "../../protocol";
import type { Envelope } from "../../protocol/schemas";
import { LOG_FILE, LOG_KEEP } from "../log";
import { type ClientSocket, TestDevice } from "./device";

export const MB = 1024 * 1024;

/** Measured figures, printed (not asserted) with a prefix the run's output can be grepped for. */
export function report(line: string): void {
  process.stdout.write(`[hostile] ${line}\n`);
}

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

// ---- memory of the relay process ----

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Resident set size of `pid`, in bytes (VmRSS). */
export function rssOf(pid: number): number {
  return statusKb(pid, "VmRSS");
}

export interface MemoryTrace {
  /** VmRSS before the work. */
  baseline: number;
  /** Highest VmRSS seen during the work and the settle after it (kernel high-water mark when resettable, else 20 ms samples). */
  peak: number;
  /** VmRSS `settleMs` after the work finished. */
  after: number;
}

/**
 * Runs `work` while watching the relay's memory. The kernel's peak (VmHWM) is reset first when the
 * kernel allows it (clear_refs "5"); the 20 ms samples cover kernels that do not.
 */
export async function traceMemory<T>(pid: number, work: () => Promise<T>, settleMs = 1000): Promise<{ result: T; memory: MemoryTrace }> {
  const baseline = rssOf(pid);
  let hwmReset = false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    hwmReset = true;
  } catch {
    // not permitted here: the samples alone give the peak
  }
  let sampled = baseline;
  const timer = setInterval(() => {
    try {
      sampled = Math.max(sampled, rssOf(pid));
    } catch {
      // the process is gone; the assertions after the work will say so
    }
  }, 20);
  try {
    const result = await work();
    await sleep(settleMs);
    const after = rssOf(pid);
    const peak = Math.max(sampled, after, hwmReset ? statusKb(pid, "VmHWM") : 0);
    return { result, memory: { baseline, peak, after } };
  } finally {
    clearInterval(timer);
  }
}

export function describeMemory(label: string, m: MemoryTrace): string {
  const f = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
  return `${label}: RSS baseline ${f(m.baseline)}, peak ${f(m.peak)} (+${f(m.peak - m.baseline)}), after ${f(m.after)} (+${f(m.after - m.baseline)})`;
}

// ---- clients from their own addresses ----

let nextHost = 1;
/**
 * A loopback address not handed out before in this process (127.0.1.1, 127.0.1.2, …). Linux routes
 * all of 127/8 to the loopback interface, so a socket bound to one reaches the relay from there and
 * the relay's per-address limits (registerPerIp, loginPerIp, lookupPerIp, connections) count it as
 * its own client: the victims, bystanders and each attacker of a test get one each.
 */
export function newClientAddress(): string {
  const n = nextHost++;
  if (n > 250) throw new Error("out of loopback addresses");
  return `127.0.1.${n}`;
}

/** The relay's URL by IP: a socket bound to a 127/8 address cannot reach `localhost` if it resolves to ::1. */
export function ipUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

export interface OpenOptions {
  /** Local address to connect from (see newClientAddress). */
  from?: string;
  /** Extra handshake headers (Node only), e.g. an Origin. */
  headers?: Record<string, string>;
}

/** A socket.io-client socket over websocket only, no reconnection, like test/device.ts's `connect`. */
export function openSocket(url: string, opts: OpenOptions = {}): Promise<ClientSocket> {
  // `localAddress` is handed to `ws` by engine.io-client (it is in its picked options) but not typed.
  const options: Partial<ManagerOptions & SocketOptions> & { localAddress?: string } = {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
  };
  if (opts.from) options.localAddress = opts.from;
  if (opts.headers) options.extraHeaders = opts.headers;
  const socket: ClientSocket = io(url, options);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Whether the relay accepts a socket.io websocket handshake with these headers (the socket is closed again). */
export async function handshakeAccepted(url: string, headers?: Record<string, string>): Promise<boolean> {
  try {
    const socket = await openSocket(url, { headers });
    socket.disconnect();
    return true;
  } catch {
    return false;
  }
}

/** The status of a socket.io polling handshake (GET) with these headers. */
export function pollingHandshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`${url}/socket.io/?EIO=4&transport=polling`, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
}

/** A TestDevice whose connections come from `from` (use with ipUrl). Deliveries land in `received`. */
export class PeerDevice extends TestDevice {
  constructor(
    url: string,
    readonly from: string,
    same?: TestDevice,
  ) {
    super(url, same);
  }

  override async connect(): Promise<ClientSocket> {
    this.socket = await openSocket(this.url, { from: this.from });
    // TestDevice.waitFor polls every 200 ms, so it sees these without being woken.
    this.socket.on(EVENTS.deliver, (payload) => {
      this.received.push(...payload.envelopes);
    });
    return this.socket;
  }

  /** Another connection of this same device from the same address, logged in. */
  async another(): Promise<PeerDevice> {
    const d = new PeerDevice(this.url, this.from, this);
    await d.connect();
    const res = await d.login();
    if (!res.ok) throw new Error(`login refused: ${res.error.code}`);
    return d;
  }
}

/** The reason the socket was disconnected, or null if it still is not after `ms`. */
export function disconnectedWithin(socket: ClientSocket, ms: number): Promise<string | null> {
  if (!socket.connected) return Promise.resolve("already disconnected");
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    socket.once("disconnect", (reason) => {
      clearTimeout(t);
      resolve(reason);
    });
  });
}

// ---- connections that stop reading ----

/** The parts of a `ws` WebSocket the suite uses. */
export interface RawWebSocket {
  pause(): void;
  resume(): void;
  terminate(): void;
  readonly isPaused: boolean;
  /** 0 connecting, 1 open, 2 closing (a close frame was sent or received), 3 closed. */
  readonly readyState: number;
  /** The code of the close frame received (1005: none given), once one was. */
  readonly _closeCode?: number;
  readonly _socket?: { bytesRead: number };
}

export function rawWebSocket(socket: ClientSocket): RawWebSocket {
  const transport = socket.io.engine.transport as unknown as { name: string; ws?: RawWebSocket };
  if (transport.name !== "websocket" || !transport.ws) throw new Error("not a websocket transport");
  return transport.ws;
}

/**
 * Makes the socket's websocket frames go unmasked (an all-zero mask): a hostile client may choose any
 * mask, and with this one neither `ws` here nor the relay's spends CPU on masking (ws skips it), so a
 * test of hundreds of MB measures the relay rather than JavaScript masking in the test process.
 */
export function zeroMask(socket: ClientSocket): void {
  const ws = rawWebSocket(socket) as unknown as { _sender?: { _generateMask?: (mask: Uint8Array) => void } };
  if (!ws._sender) throw new Error("websocket not open");
  ws._sender._generateMask = (mask) => mask.fill(0);
}

/**
 * Stops reading from the TCP connection: `ws.pause()` pauses its net.Socket (readStop once Node's
 * small read buffer is full) and keeps it paused, unlike a bare `_socket.pause()`, which ws's receiver
 * resumes when it drains. From then on the kernel's receive window fills and the relay's writes pile
 * up on its side, as with a client that stopped reading.
 */
export function stopReading(socket: ClientSocket): RawWebSocket {
  const ws = rawWebSocket(socket);
  ws.pause();
  return ws;
}

// ---- answers ----

/** The refusal in an ack, or null when it was ok. */
export function refusalOf(res: Ack<unknown>): RelayError | null {
  return res.ok ? null : res.error;
}

/** How often each value occurs. */
export function countOf(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** Counts of outcomes: "ok" or the error code. */
export function tally(results: Ack<unknown>[]): Record<string, number> {
  return countOf(results.map((r) => (r.ok ? "ok" : r.error.code)));
}

/** Acks every push on `socket` and records the ids in arrival order (duplicates included). */
export function ackEverything(socket: ClientSocket): { ids: string[]; envelopes: Envelope[]; acked: () => number } {
  const ids: string[] = [];
  const envelopes: Envelope[] = [];
  let acked = 0;
  socket.on(EVENTS.deliver, (payload) => {
    for (const e of payload.envelopes) {
      ids.push(e.id);
      envelopes.push(e);
    }
    const refs = payload.envelopes.map((e) => ({ to: e.to, id: e.id }));
    socket.emit(EVENTS.ack, { envelopes: refs }, (res) => {
      if (res.ok) acked += res.deleted;
    });
  });
  return { ids, envelopes, acked: () => acked };
}

/** Polls `predicate` every 50 ms until it holds or `ms` pass; throws naming `what` on time-out. */
export async function until(predicate: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// ---- the relay's files ----

export const SQLITE_FILE = "relay.sqlite";

export type Row = Record<string, unknown>;

/** Every row of every table of the relay's database, read-only (the relay may be running). */
export function readAllTables(dataDir: string): Record<string, Row[]> {
  const db = new Database(join(dataDir, SQLITE_FILE), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    const out: Record<string, Row[]> = {};
    for (const { name } of tables) out[name] = db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all() as Row[];
    return out;
  } finally {
    db.close();
  }
}

/** One query against the relay's database, read-only. */
export function queryRelayDb<T>(dataDir: string, sql: string, ...params: unknown[]): T {
  const db = new Database(join(dataDir, SQLITE_FILE), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).get(...params) as T;
  } finally {
    db.close();
  }
}

/** Envelopes stored for a recipient device, counted in the database itself. */
export function pendingFor(dataDir: string, deviceId: string): number {
  return queryRelayDb<{ n: number }>(dataDir, "SELECT COUNT(*) AS n FROM envelopes WHERE to_device = ?", deviceId).n;
}

/** Ids of the envelopes stored for a recipient device, in storage (= delivery) order. */
export function storageOrder(dataDir: string, deviceId: string): string[] {
  const db = new Database(join(dataDir, SQLITE_FILE), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT id FROM envelopes WHERE to_device = ? ORDER BY seq").all(deviceId) as { id: string }[]).map((row) => row.id);
  } finally {
    db.close();
  }
}

/** A row as searchable text: text columns as they are, blobs as UTF-8, base64url and hex, since an id could hide in any. */
export function rowText(row: Row): string {
  return Object.values(row)
    .map((v) => (Buffer.isBuffer(v) || v instanceof Uint8Array ? [Buffer.from(v).toString("latin1"), Buffer.from(v).toString("base64url"), Buffer.from(v).toString("hex")].join(" ") : String(v)))
    .join("\u0000");
}

/** The relay's files on disk that may hold data: the database, its WAL and shared memory, the logs. */
export function relayFiles(dataDir: string): string[] {
  const logs = [LOG_FILE, ...range(LOG_KEEP).map((i) => `${LOG_FILE}.${i + 1}`)];
  return [SQLITE_FILE, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`, ...logs]
    .map((f) => join(dataDir, f))
    .filter((p) => existsSync(p));
}
