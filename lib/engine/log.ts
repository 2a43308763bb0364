// A tiny scoped logger: library code never calls console directly, so the worker entry decides
// where lines go (and tests can collect them). Lines carry counts and codes, never plaintext or keys.
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
