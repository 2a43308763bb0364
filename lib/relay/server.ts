// One Node process, one port: the Next.js app and the socket.io relay on the same origin.
// SIGTERM-safe: `close()` stops accepting, lets in-flight handlers finish their writes, then closes
// the database and the log.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { resolve } from "node:path";
import { Server } from "socket.io";
import { ENVELOPE_TTL_MS, RATE_LIMITS, type RateClass, TRANSPORT_MAX_BYTES } from "../protocol";
import { contentSecurityPolicy, newNonce } from "./csp";
import { createLogger, describeError, type Logger, type LogLevel } from "./log";
import type { BucketSpec } from "./rateLimit";
import { Connection } from "./socket/connection";
import { HANDLERS } from "./socket/handlers";
import { Hub } from "./socket/hub";
import type { RelayContext, RelayServer } from "./socket/types";
import { openSqliteStore } from "./storage/sqlite";
import type { RelayStore } from "./storage/types";

export interface ServerOptions {
  /** 0 picks a free port. Default: PORT or 3000. */
  port?: number;
  host?: string;
  /** Default: DATA_DIR or ./data. */
  dataDir?: string;
  /** Next in dev mode (adds 'unsafe-eval' to the CSP for its tooling). */
  dev?: boolean;
  /** No Next at all: the relay and a health check only. */
  relayOnly?: boolean;
  /** The Next project root. Default: the working directory. */
  dir?: string;
  rateLimits?: Partial<Record<RateClass, BucketSpec>>;
  /** The relay's clock (envelope stamps, expiry, nonce lifetime, rate buckets). */
  now?: () => number;
  /** How often expired envelopes are swept (they are also swept at start). */
  sweepIntervalMs?: number;
  /** Delay between an ack that deleted envelopes and the storage scrub that drops their old copies. */
  scrubDelayMs?: number;
  logLevel?: LogLevel;
  logToStdout?: boolean;
  /** Another storage adapter (e.g. Postgres); the SQLite file under dataDir when absent. */
  store?: RelayStore;
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

function securityHeaders(req: IncomingMessage, res: ServerResponse, dev: boolean): void {
  const csp = contentSecurityPolicy(newNonce(), dev);
  // On the request so Next stamps its inline scripts with the nonce, on the response for the browser.
  req.headers["content-security-policy"] = csp;
  res.setHeader("Content-Security-Policy", csp);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
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

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const dataDir = resolve(opts.dataDir ?? process.env.DATA_DIR ?? "./data");
  const requestedPort = opts.port ?? Number(process.env.PORT ?? 3000);
  const dev = opts.dev ?? false;
  const now = opts.now ?? Date.now;
  const log: Logger = createLogger({ dataDir, level: opts.logLevel ?? logLevelFromEnv(), stdout: opts.logToStdout });
  const store = opts.store ?? (await openSqliteStore(dataDir));
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
      const expired = await store.deleteExpired(now() - ENVELOPE_TTL_MS);
      if (expired > 0) {
        log.info("expired envelopes deleted", { count: expired });
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

  const httpServer = createServer((req, res) => {
    securityHeaders(req, res, dev);
    if (req.url === "/healthz") {
      res.setHeader("Content-Type", "text/plain");
      res.end(closing ? "closing" : "ok");
      return;
    }
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
    serveClient: false,
    destroyUpgrade: false,
  });
  const limits = { ...RATE_LIMITS, ...opts.rateLimits };
  const hub = new Hub();
  const ctx: RelayContext = { store, log, hub, now, rateLimits: limits, scheduleScrub, closing: () => closing };
  io.on("connection", (socket) => {
    if (closing) {
      socket.disconnect(true);
      return;
    }
    const conn = new Connection(socket, ctx, HANDLERS, track);
    log.info("connect", { conn: conn.id, transport: socket.conn.transport.name });
  });

  const port = await listen(httpServer, requestedPort, opts.host);
  const url = `http://localhost:${port}`;
  log.always(`listening on ${url}`, { port, relayOnly: Boolean(opts.relayOnly), dev });

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
      await store.close();
      log.info("closed");
      await log.close();
    })());

  return { port, url, dataDir, close };
}
