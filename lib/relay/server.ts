// One Node process, one port: the Next.js app and the socket.io relay on the same origin.
// SIGTERM-safe: `close()` stops accepting, lets in-flight handlers finish their writes, then closes
// the database and the log.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { resolve } from "node:path";
import { Server } from "socket.io";
import { createHmac } from "node:crypto";
import { z } from "zod";
import {
  ENVELOPE_TTL_MS,
  MAX_CONNECTIONS_PER_IP,
  RATE_LIMITS,
  type RateClass,
  RELAY_LIMITS,
  type RelayLimitName,
  TRANSPORT_MAX_BYTES,
  BLOB_QUOTA_BYTES,
} from "../protocol";
import { type BlobStore, openBlobStore } from "./blobs";
import { handleBlobRequest } from "./blobs/http";
import { clientKeyOf, createLimiter, type RateRule } from "./limits";
import { contentSecurityPolicy, newNonce } from "./csp";
import { createLogger, describeError, type Logger, type LogLevel } from "./log";
import { connectNodes, type Fanout } from "./fanout";
import { LiveSignals } from "./liveSignals";
import { Metrics, timedStore } from "./metrics";
import type { BucketSpec } from "./rateLimit";
import { Connection } from "./socket/connection";
import { HANDLERS } from "./socket/handlers";
import { decoderFor, dropConnection, type EngineConnection, jsonOnlyParser } from "./socket/parser";
import { Hub } from "./socket/hub";
import type { RelayContext, RelayServer } from "./socket/types";
import { compactSocket, releaseHandshake, releaseUpgradeRequests } from "./socket/lean";
import { openSqliteStore } from "./storage/sqlite";
import { withGroupCommit } from "./storage/groupCommit";
import { withAccountCache } from "./storage/accountCache";
import { openSqliteStoreThread } from "./storage/threadStore";
import { type GroupableStore, LEDGER_TTL_MS, type RelayStore } from "./storage/types";

export interface ServerOptions {
  /** 0 picks a free port. Default: PORT or 3000. */
  port?: number;
  /** The interface to listen on. Default: HOST or 127.0.0.1 (behind a proxy, HOST=0.0.0.0). */
  host?: string;
  /**
   * Origins, besides the relay's own, whose pages may open a socket (ALLOWED_ORIGINS, comma-separated).
   * Requests without an Origin header (native and Node clients) are not browsers' and are let through.
   */
  allowedOrigins?: string[];
  /**
   * Proxies in front of the relay whose X-Forwarded-For / X-Forwarded-Proto are believed (TRUST_PROXY=N,
   * default 0): the client is the N-th address from the right of X-Forwarded-For.
   */
  trustProxy?: number;
  /** Default: DATA_DIR or ./data. */
  dataDir?: string;
  /** Next in dev mode (adds 'unsafe-eval' to the CSP for its tooling). */
  dev?: boolean;
  /** No Next at all: the relay and a health check only. */
  relayOnly?: boolean;
  /** The Next project root. Default: the working directory. */
  dir?: string;
  rateLimits?: Partial<Record<RateClass, BucketSpec>>;
  /** Overrides of the cross-connection limits (RELAY_LIMITS, a JSON object of the same shape, for tests). */
  limits?: Partial<Record<RelayLimitName, BucketSpec>>;
  /** Shared limits across relay processes: REDIS_URL (in-process when absent). */
  redisUrl?: string;
  /** The relay's clock (envelope stamps, expiry, nonce lifetime, rate buckets). */
  now?: () => number;
  /** How often the `stats` line is logged (default a minute). */
  statsIntervalMs?: number;
  /** How often expired envelopes are swept (they are also swept at start). */
  sweepIntervalMs?: number;
  /** Delay between an ack that deleted envelopes and the storage scrub that drops their old copies. */
  scrubDelayMs?: number;
  logLevel?: LogLevel;
  logToStdout?: boolean;
  /** Another storage adapter (e.g. Postgres); the SQLite file under dataDir when absent. */
  store?: RelayStore;
  /** Attachment storage (default: see openBlobStore). */
  blobs?: BlobStore;
  /** Attachment bytes one device may hold (default BLOB_QUOTA_BYTES, or the env BLOB_QUOTA_BYTES). */
  blobQuotaBytes?: number;
}

function blobQuotaFromEnv(): number | undefined {
  const raw = process.env.BLOB_QUOTA_BYTES;
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error("BLOB_QUOTA_BYTES must be a whole number of bytes");
  return n;
}

export interface RunningServer {
  port: number;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown;

const SOCKET_PATH = "/socket.io/";

interface NextApp {
  prepare(): Promise<void>;
  getRequestHandler(): RequestHandler;
  getUpgradeHandler(): UpgradeHandler;
  close?(): Promise<void>;
}

async function loadNext(dir: string, dev: boolean, port: number, upgradeSink: HttpServer): Promise<NextApp> {
  const mod = (await import("next")) as unknown as { default: unknown };
  const create = (typeof mod.default === "function" ? mod.default : (mod.default as { default: unknown }).default) as (o: object) => NextApp;
  // Next attaches its own upgrade listener to `httpServer`; a server that never listens receives only
  // the upgrades we forward, so Next never sees (and never closes) socket.io's websockets.
  const app = create({ dev, dir, port, hostname: "localhost", httpServer: upgradeSink, quiet: true });
  await app.prepare();
  return app;
}

// Features the app never uses are switched off for it and anything it might embed; the microphone
// (voice notes) and the camera (scanning a link code) stay available to the app itself.
const PERMISSIONS_POLICY = "camera=(self), geolocation=(), microphone=(self), payment=(), usb=(), serial=(), bluetooth=(), hid=()";
const HSTS = "max-age=31536000; includeSubDomains";

function securityHeaders(req: IncomingMessage, res: ServerResponse, dev: boolean, trustProxy: number): void {
  const csp = contentSecurityPolicy(newNonce(), dev);
  // On the request so Next stamps its inline scripts with the nonce, on the response for the browser.
  req.headers["content-security-policy"] = csp;
  res.setHeader("Content-Security-Policy", csp);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Permissions-Policy", PERMISSIONS_POLICY);
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  // Only over TLS: HSTS on plain http is ignored by browsers and would be a lie in the logs.
  if (isTls(req, trustProxy)) res.setHeader("Strict-Transport-Security", HSTS);
}

function isTls(req: IncomingMessage, trustProxy: number): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  return trustProxy > 0 && String(req.headers["x-forwarded-proto"] ?? "").split(",")[0]?.trim() === "https";
}

/**
 * The client's address: the socket's, or behind `trustProxy` proxies the address the outermost of
 * them saw (each appends the address it got the request from, so the N-th from the right). Anything
 * further left was written by the client and is not believed.
 */
export function clientAddress(req: IncomingMessage, trustProxy: number): string | undefined {
  if (trustProxy > 0) {
    const forwarded = String(req.headers["x-forwarded-for"] ?? "").split(",").map((part) => part.trim()).filter(Boolean);
    const hop = forwarded[forwarded.length - trustProxy];
    if (hop) return hop;
  }
  return req.socket.remoteAddress;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Listening on loopback, the relay answers only requests that name a loopback host: a page of another
 * site whose name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own name as Host, and
 * would otherwise pass the same-origin checks. Behind a proxy (HOST not loopback) the proxy pins Host.
 */
export function hostAllowed(req: IncomingMessage, listenHost: string): boolean {
  if (!isLoopback(listenHost)) return true;
  const host = req.headers.host ?? "";
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0] ?? "";
  return LOOPBACK_HOSTS.has(name.toLowerCase());
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/**
 * A socket.io handshake from a browser page carries its Origin; only the relay's own origin (the Host
 * the request came to, on http or https) and the configured ones may connect. Without this, any web
 * page a person visits could open a socket to a relay on their machine or network.
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  const host = req.headers.host;
  if (!host) return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}

const LimitOverrides = z.record(z.string(), z.strictObject({ burst: z.number().int().min(1), perSecond: z.number().positive() }));

function limitsFromEnv(): Partial<Record<RelayLimitName, BucketSpec>> {
  const raw = process.env.RELAY_LIMITS;
  if (!raw) return {};
  const parsed = LimitOverrides.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new Error("RELAY_LIMITS must be a JSON object of {burst, perSecond} by limit name");
  for (const name of Object.keys(parsed.data)) if (!(name in RELAY_LIMITS)) throw new Error(`RELAY_LIMITS: unknown limit ${name}`);
  return parsed.data as Partial<Record<RelayLimitName, BucketSpec>>;
}

/** Slots of the per-address connection cap lapse unless refreshed this often (a crashed node frees its slots). */
const CONNECTION_SLOT_TTL_MS = 10 * 60 * 1000;

/** /metrics answers a scraper on this machine, or one that presents METRICS_TOKEN as a bearer token. */
export function metricsAllowed(req: IncomingMessage, token: string | undefined): boolean {
  if (token && req.headers.authorization === `Bearer ${token}`) return true;
  // a request a proxy forwarded comes from loopback too, but is not local
  if (req.headers["x-forwarded-for"] !== undefined || req.headers.forwarded !== undefined) return false;
  const remote = req.socket.remoteAddress ?? "";
  return remote === "127.0.0.1" || remote === "::1" || remote === "::ffff:127.0.0.1";
}

/** How long a node on a shared database uses a cached account record (see storage/accountCache.ts). */
const ACCOUNT_CACHE_SHARED_TTL_MS = 1_000;

/**
 * DATABASE_URL=postgres://… opens Postgres (shared by any number of relay processes; DATABASE_SCHEMA
 * picks a schema), anything else the embedded SQLite file under DATA_DIR, the default.
 */
async function openStore(dataDir: string, log: Logger, onGroup: (envelopes: number, calls: number) => void): Promise<RelayStore> {
  const url = process.env.DATABASE_URL;
  let raw: GroupableStore;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    const { openPostgresStore } = await import("./storage/postgres");
    raw = await openPostgresStore(url, {
      ...(process.env.DATABASE_SCHEMA ? { schema: process.env.DATABASE_SCHEMA } : {}),
      onPoolError: (err) => log.warn("database connection dropped", { err: describeError(err) }),
    });
  } else if (url) {
    throw new Error("DATABASE_URL must be a postgres:// URL (unset: SQLite under DATA_DIR)");
  } else if (process.env.SQLITE_THREAD === "1") {
    // The store and its group commits on a thread of their own, beside the event loop (see
    // storage/threadStore.ts). Not the default: on the shared 2-core machine it cost more CPU per
    // envelope than it freed (docs/BENCHMARKS.md, "The SQLite store on a thread of its own").
    const store = await openSqliteStoreThread(dataDir, {
      groupCommit: process.env.GROUP_COMMIT !== "0",
      onGroup,
      // Every store call fails from then on, and /readyz says so (as when Postgres is unreachable).
      onExit: (err) => log.error("store thread stopped", { err: describeError(err) }),
    });
    return withAccountCache(store, { ttlMs: Number.POSITIVE_INFINITY });
  } else {
    raw = await openSqliteStore(dataDir);
  }
  // Concurrent sends share one transaction and one commit (GROUP_COMMIT=0: one each, for comparison).
  const store = process.env.GROUP_COMMIT === "0" ? raw : withGroupCommit(raw, { onGroup });
  // Device lists for the send's coverage check come from memory; other nodes' writes show within a second.
  return withAccountCache(store, { ttlMs: url ? ACCOUNT_CACHE_SHARED_TTL_MS : Number.POSITIVE_INFINITY });
}

function listFromEnv(value: string | undefined): string[] {
  return (value ?? "").split(",").map((part) => part.trim()).filter(Boolean);
}

function logLevelFromEnv(): LogLevel {
  const level = process.env.LOG_LEVEL;
  return level === "debug" || level === "warn" || level === "error" ? level : "info";
}

function listen(server: HttpServer, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

/** One listener for every engine.io connection (called with the connection as `this`), not a closure each. */
function onEngineClose(this: EngineConnection, reason: string): void {
  if (reason === "transport error" || reason === "parse error") dropConnection(this);
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const dataDir = resolve(opts.dataDir ?? process.env.DATA_DIR ?? "./data");
  const requestedPort = opts.port ?? Number(process.env.PORT ?? 3000);
  const dev = opts.dev ?? false;
  const host = opts.host ?? process.env.HOST ?? "127.0.0.1";
  const allowedOrigins = opts.allowedOrigins ?? listFromEnv(process.env.ALLOWED_ORIGINS);
  const trustProxy = opts.trustProxy ?? Math.max(0, Math.floor(Number(process.env.TRUST_PROXY) || 0));
  const now = opts.now ?? Date.now;
  const metricsToken = process.env.METRICS_TOKEN || undefined;
  const log: Logger = createLogger({
    dataDir,
    level: opts.logLevel ?? logLevelFromEnv(),
    stdout: opts.logToStdout,
    maxBytes: Number(process.env.LOG_MAX_BYTES) || undefined,
  });
  const hub = new Hub();
  // the metrics are made after the store, which reports its commit groups to them
  let metrics: Metrics | null = null;
  const opened = opts.store ?? (await openStore(dataDir, log, (envelopes) => metrics?.batchSize.observe(envelopes)));
  metrics = new Metrics({ online: () => hub.size, mailbox: () => opened.mailboxStats().catch(() => null) });
  const store = timedStore(opened, metrics);
  const blobs = opts.blobs ?? (await openBlobStore(dataDir));
  const inflight = new Set<Promise<unknown>>();
  let closing = false;

  const track = <T>(work: Promise<T>): Promise<T> => {
    inflight.add(work);
    const done = () => inflight.delete(work);
    work.then(done, done);
    return work;
  };

  let scrubTimer: NodeJS.Timeout | null = null;
  const scrub = async () => {
    try {
      await store.scrub();
    } catch (err) {
      log.warn("scrub failed", { err: describeError(err) });
    }
  };
  const scheduleScrub = () => {
    if (scrubTimer || closing) return;
    scrubTimer = setTimeout(() => {
      scrubTimer = null;
      void track(scrub());
    }, opts.scrubDelayMs ?? 1000);
    scrubTimer.unref();
  };

  const sweep = async () => {
    try {
      const t = now();
      const { envelopes, ledgerRows } = await store.deleteExpired({ envelopesBefore: t - ENVELOPE_TTL_MS, ledgerBefore: t - LEDGER_TTL_MS });
      const expiredBlobs = await blobs.deleteExpired(t);
      if (envelopes > 0 || ledgerRows > 0 || expiredBlobs > 0) {
        log.info("expired rows deleted", { envelopes, ledgerRows, blobs: expiredBlobs });
        scheduleScrub();
      }
    } catch (err) {
      log.error("sweep failed", { err: describeError(err) });
    }
  };
  await sweep();
  const sweepTimer = setInterval(() => void track(sweep()), opts.sweepIntervalMs ?? 60 * 60 * 1000);
  sweepTimer.unref();

  const upgradeSink = createServer();
  let next: NextApp | null = null;
  if (!opts.relayOnly) {
    next = await loadNext(resolve(opts.dir ?? process.cwd()), dev, requestedPort, upgradeSink);
  }
  const handle = next?.getRequestHandler() ?? null;

  // Set once the relay's parts exist (below); until then nothing is ready.
  let readiness: () => Promise<string[]> = async () => ["starting"];
  const httpServer = createServer((req, res) => {
    securityHeaders(req, res, dev, trustProxy);
    if (!hostAllowed(req, host)) {
      res.statusCode = 421;
      res.setHeader("Content-Type", "text/plain");
      res.end("misdirected request");
      return;
    }
    if (req.url === "/healthz") {
      res.setHeader("Content-Type", "text/plain");
      res.end(closing ? "closing" : "ok");
      return;
    }
    if (req.url === "/readyz") {
      void track(readiness()).then((problems) => {
        res.statusCode = problems.length ? 503 : 200;
        res.setHeader("Content-Type", "text/plain");
        res.end(problems.length ? problems.join("\n") : "ready");
      });
      return;
    }
    if (req.url === "/metrics") {
      // Aggregates only, but still the operator's: loopback (a scraper beside the relay) or the token.
      if (!metricsAllowed(req, metricsToken)) {
        res.statusCode = 403;
        res.end();
        return;
      }
      void metrics.registry.metrics().then(
        (text) => {
          res.setHeader("Content-Type", metrics.registry.contentType);
          res.end(text);
        },
        () => {
          res.statusCode = 500;
          res.end();
        },
      );
      return;
    }
    if (handleBlobRequest(req, res, { blobs, now, log, track })) return;
    if (!handle) {
      res.statusCode = 404;
      res.setHeader("Content-Type", "text/plain");
      res.end("junction relay: the app is not served by this process (--relay-only)");
      return;
    }
    handle(req, res).catch((err: unknown) => {
      log.error("next handler failed", { err: describeError(err) });
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url?.startsWith(SOCKET_PATH)) return;
    if (next) upgradeSink.emit("upgrade", req, socket, head);
    else socket.destroy();
  });

  const io: RelayServer = new Server(httpServer, {
    maxHttpBufferSize: TRANSPORT_MAX_BYTES,
    // Off (socket.io's default, made explicit): a deflate context is up to ~300 KB of zlib state per socket
    // that asks for it, and bodies are ciphertext, which does not compress.
    perMessageDeflate: false,
    serveClient: false,
    destroyUpgrade: false,
    parser: jsonOnlyParser,
    allowRequest: (req, done) => done(null, hostAllowed(req, host) && originAllowed(req, allowedOrigins)),
  });
  releaseUpgradeRequests(io);
  // The parser refuses binary; it ends the offending connection itself (see parser.ts). A frame over
  // the transport cap, or any transport error, gets no close handshake either.
  io.engine.prependListener("connection", (conn: EngineConnection & { on(event: "close", fn: (this: EngineConnection, reason: string) => void): void }) => {
    decoderFor(conn);
    conn.on("close", onEngineClose);
  });
  const limits = { ...RATE_LIMITS, ...opts.rateLimits };
  const limitSpecs = { ...RELAY_LIMITS, ...limitsFromEnv(), ...opts.limits };
  const rules = Object.fromEntries(
    Object.entries(limitSpecs).map(([name, spec]) => [name, { name, burst: spec.burst, perSecond: spec.perSecond }]),
  ) as Record<RelayLimitName, RateRule>;
  // REDIS_PREFIX keeps deployments (or test runs) that share one Redis apart.
  // The fanout below (made after the limiter, which keys it) knows which nodes are alive.
  let fanout: Fanout | null = null;
  const liveNodes = () => fanout?.liveNodes() ?? Promise.resolve([]);
  const limiter = await createLimiter({ redisUrl: opts.redisUrl ?? process.env.REDIS_URL, prefix: `${process.env.REDIS_PREFIX ?? "junction:"}limits:`, now, log, liveNodes });
  // Limiter keys are keyed hashes, so its memory (or Redis) holds no device, address or IP in clear;
  // with Redis every relay process uses the one secret kept there, so one client is one key everywhere.
  const limitSecret = await limiter.keySecret();
  const limitKey = (...parts: string[]) => createHmac("sha256", limitSecret).update(parts.join("\n")).digest("base64url").slice(0, 22);
  const redisUrl = opts.redisUrl ?? process.env.REDIS_URL;
  fanout = redisUrl ? connectNodes(io, hub, { redisUrl, prefix: process.env.REDIS_PREFIX ?? "junction:", log, keyOf: (deviceId) => limitKey("device", deviceId) }) : null;
  const signals = new LiveSignals(hub, log);
  if (fanout) signals.connect(io);
  /** What keeps this node from serving: empty when the database (and Redis, if used) answer. */
  readiness = async () => {
    const problems: string[] = [];
    if (closing) problems.push("closing");
    const db = await Promise.race([store.getDevice("readyz").then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
    if (!db) problems.push("database unreachable");
    if (fanout && !fanout.ready()) problems.push("redis unreachable");
    return problems;
  };
  // Aggregates only: how full mailboxes are, never whose.
  const logStats = async () => {
    const mailbox = await store.mailboxStats().catch(() => null);
    metrics.flush(log, {
      online: hub.size,
      ...(mailbox
        ? { mailboxDevices: mailbox.devices, mailboxEnvelopes: mailbox.envelopes, mailboxBytes: mailbox.bytes, mailboxLargestDeviceBytes: mailbox.largestDeviceBytes }
        : {}),
    });
  };
  const statsTimer = setInterval(() => void track(logStats()), opts.statsIntervalMs ?? 60_000);
  statsTimer.unref();
  const connections = new Set<Connection>();
  const slotKey = (clientKey: string) => limitKey("conn", clientKey);
  // With other nodes, a slot names its node: when the node dies, its heartbeat lapses and its slots with it.
  const slotId = (socketId: string) => (fanout ? `${fanout.nodeId}:${socketId}` : socketId);
  const ctx: RelayContext = {
    store,
    blobs,
    blobQuotaBytes: opts.blobQuotaBytes ?? blobQuotaFromEnv() ?? BLOB_QUOTA_BYTES,
    log,
    metrics,
    hub,
    signals,
    now,
    rateLimits: limits,
    limiter,
    limits: rules,
    limitKey,
    onClosed: (conn) => {
      connections.delete(conn);
      void limiter.release(slotKey(conn.clientKey), slotId(conn.id));
    },
    scheduleScrub,
    closing: () => closing,
  };
  // Connections per client address, across processes when the limiter is shared: checked before the
  // socket is set up, so a refused one costs no more than its handshake.
  io.use((socket, next) => {
    const clientKey = clientKeyOf(clientAddress(socket.request, trustProxy));
    socket.data.clientKey = clientKey;
    releaseHandshake(socket);
    limiter.acquire(slotKey(clientKey), slotId(socket.id), MAX_CONNECTIONS_PER_IP, CONNECTION_SLOT_TTL_MS).then(
      (ok) => {
        if (ok) return next();
        metrics.refused("too_many_connections");
        next(new Error("rate_limited"));
      },
      () => next(),
    );
  });
  const slotTimer = setInterval(() => {
    for (const conn of connections) void limiter.refresh(slotKey(conn.clientKey), slotId(conn.id), CONNECTION_SLOT_TTL_MS);
  }, CONNECTION_SLOT_TTL_MS / 3);
  slotTimer.unref();
  io.on("connection", (socket) => {
    const clientKey = String(socket.data.clientKey ?? "unknown");
    if (closing) {
      void limiter.release(slotKey(clientKey), slotId(socket.id));
      socket.disconnect(true);
      return;
    }
    metrics.connected();
    const conn = new Connection(socket, ctx, HANDLERS, track, clientKey);
    compactSocket(socket);
    connections.add(conn);
    log.debug("connect", { conn: conn.id, transport: socket.conn.transport.name });
  });

  const port = await listen(httpServer, requestedPort, host);
  const url = `http://localhost:${port}`;
  log.always(`listening on ${url}`, { port, host, relayOnly: Boolean(opts.relayOnly), dev });

  let closed: Promise<void> | null = null;
  const close = () =>
    (closed ??= (async () => {
      closing = true;
      log.info("shutting down", { connections: hub.size, inflight: inflight.size });
      clearInterval(sweepTimer);
      if (scrubTimer) clearTimeout(scrubTimer);
      // Stop accepting first; sockets stay open until their in-flight writes have been acked.
      const stopped = new Promise<void>((done) => httpServer.close(() => done()));
      while (inflight.size) await Promise.allSettled([...inflight]);
      io.disconnectSockets(true);
      await new Promise<void>((done) => io.close(() => done()));
      httpServer.closeAllConnections();
      await stopped;
      await next?.close?.().catch(() => {});
      await scrub();
      clearInterval(statsTimer);
      clearInterval(slotTimer);
      await logStats();
      await fanout?.close();
      await limiter.close();
      await store.close();
      await blobs.close();
      log.info("closed");
      await log.close();
    })());

  return { port, url, dataDir, close };
}
