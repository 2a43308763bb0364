// A tiny scoped logger: library code never calls console directly, so the worker entry decides
// where lines go (and tests can collect them). Lines carry counts and codes, never plaintext or keys.
import type { DiagnosticsLogEntry } from "../worker/rpc";

export interface Logger {
  warn(event: string, detail?: Record<string, string | number | boolean>): void;
  info(event: string, detail?: Record<string, string | number | boolean>): void;
}

export const silentLogger: Logger = { warn() {}, info() {} };

/** Counters the engine keeps for things that are dropped rather than thrown (forged envelopes, bad payloads). */
export class Counters {
  private readonly values = new Map<string, number>();
  bump(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }
  get(name: string): number {
    return this.values.get(name) ?? 0;
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}

type Detail = Record<string, string | number | boolean>;

/** How many lines the worker keeps by default: enough for a session's story, small enough to copy. */
export const RING_LOG_SIZE = 500;

/**
 * Keeps the newest `capacity` lines in memory (oldest dropped) so the Diagnostics view can show what
 * the engine went through, and hands every line on to `forward` as well. Details are copied, so a
 * caller that reuses its object cannot rewrite history.
 */
export class RingLogger implements Logger {
  private readonly lines: (DiagnosticsLogEntry | undefined)[];
  /** Where the next line goes; the ring is full once `count` reaches capacity. */
  private next = 0;
  private count = 0;

  constructor(
    readonly capacity = RING_LOG_SIZE,
    private readonly forward: Logger = silentLogger,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be a positive integer");
    this.lines = new Array<DiagnosticsLogEntry | undefined>(capacity);
  }

  warn(event: string, detail?: Detail): void {
    this.push("warn", event, detail);
    this.forward.warn(event, detail);
  }

  info(event: string, detail?: Detail): void {
    this.push("info", event, detail);
    this.forward.info(event, detail);
  }

  /** The kept lines, oldest first (a copy). */
  entries(): DiagnosticsLogEntry[] {
    const out: DiagnosticsLogEntry[] = [];
    const start = this.count < this.capacity ? 0 : this.next;
    for (let i = 0; i < this.count; i++) {
      const line = this.lines[(start + i) % this.capacity];
      if (line) out.push({ ...line, ...(line.detail ? { detail: { ...line.detail } } : {}) });
    }
    return out;
  }

  get size(): number {
    return this.count;
  }

  private push(level: DiagnosticsLogEntry["level"], event: string, detail?: Detail): void {
    this.lines[this.next] = { at: this.now(), level, event, ...(detail ? { detail: { ...detail } } : {}) };
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count += 1;
  }
}
