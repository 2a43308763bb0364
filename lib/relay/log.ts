// Structured JSON-lines logging to stdout and DATA_DIR/relay.log. Callers pass ids, counts and codes
// only: no envelope bodies, no keys, no signatures. `safeFields` drops anything else that slips in.
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
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

// Long strings are the shape of keys and ciphertexts; ids and addresses are short.
const MAX_FIELD_CHARS = 100;

function safeFields(fields: LogFields | undefined): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields ?? {})) {
    out[key] = typeof value === "string" && value.length > MAX_FIELD_CHARS ? `[${value.length} chars]` : value;
  }
  return out;
}

export function createLogger(opts: { dataDir?: string; level?: LogLevel; stdout?: boolean }): Logger {
  const min = LEVELS[opts.level ?? "info"];
  let file: WriteStream | null = null;
  if (opts.dataDir) {
    mkdirSync(opts.dataDir, { recursive: true });
    file = createWriteStream(join(opts.dataDir, LOG_FILE), { flags: "a" });
  }
  const write = (level: LogLevel, msg: string, fields?: LogFields, force = false) => {
    if (!force && LEVELS[level] < min) return;
    const line = `${JSON.stringify({ t: new Date().toISOString(), level, msg, ...safeFields(fields) })}\n`;
    if (opts.stdout !== false) process.stdout.write(line);
    file?.write(line);
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
