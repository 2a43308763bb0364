// Structured JSON-lines logging to stdout and DATA_DIR/relay.log. Callers pass ids, counts and codes
// only: no envelope bodies, no keys, no signatures. `safeFields` drops anything else that slips in.
import { createWriteStream, existsSync, mkdirSync, openSync, renameSync, statSync, type WriteStream } from "node:fs";
import { join } from "node:path";

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Written at every level: lines that tools wait for, such as the listening line. */
  always(msg: string, fields?: LogFields): void;
  close(): Promise<void>;
}

export const LOG_FILE = "relay.log";
/** The log rotates past this size: relay.log → relay.log.1 → relay.log.2, the oldest dropped. */
export const LOG_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_KEEP = 2;

// Long strings are the shape of keys and ciphertexts; ids and addresses are short.
const MAX_FIELD_CHARS = 100;

function safeFields(fields: LogFields | undefined): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields ?? {})) {
    out[key] = typeof value === "string" && value.length > MAX_FIELD_CHARS ? `[${value.length} chars]` : value;
  }
  return out;
}

// Opened synchronously, so the file exists (and can be rotated) from the first line on.
function open(path: string): WriteStream {
  return createWriteStream(path, { fd: openSync(path, "a") });
}

export function createLogger(opts: { dataDir?: string; level?: LogLevel; stdout?: boolean; maxBytes?: number }): Logger {
  const min = LEVELS[opts.level ?? "info"];
  const maxBytes = opts.maxBytes ?? LOG_MAX_BYTES;
  const path = opts.dataDir ? join(opts.dataDir, LOG_FILE) : null;
  let file: WriteStream | null = null;
  let size = 0;
  if (opts.dataDir && path) {
    mkdirSync(opts.dataDir, { recursive: true });
    file = open(path);
    size = statSync(path).size;
  }
  // Renames are synchronous and rare (once per maxBytes); the old stream flushes what it still holds
  // into the renamed file, since its descriptor follows the rename.
  const rotate = () => {
    if (!file || !path) return;
    try {
      for (let i = LOG_KEEP - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
      renameSync(path, `${path}.1`);
    } catch {
      return; // a log that cannot rotate keeps writing where it is rather than stopping the relay
    }
    file.end();
    file = open(path);
    size = 0;
  };
  const write = (level: LogLevel, msg: string, fields?: LogFields, force = false) => {
    if (!force && LEVELS[level] < min) return;
    const line = `${JSON.stringify({ t: new Date().toISOString(), level, msg, ...safeFields(fields) })}\n`;
    if (opts.stdout !== false) process.stdout.write(line);
    if (!file) return;
    if (size + line.length > maxBytes && size > 0) rotate();
    file.write(line);
    size += Buffer.byteLength(line);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    always: (msg, fields) => write("info", msg, fields, true),
    close: () =>
      new Promise<void>((resolve) => {
        if (!file) return resolve();
        file.end(() => resolve());
        file = null;
      }),
  };
}

/** A short description of an unknown thrown value for the log (its name and message, never a payload). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return typeof err;
}
