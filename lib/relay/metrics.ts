// Counters for the operator, without a party in them: events handled and refusals by code, and the
// mailbox's aggregate size. Logged as one `stats` line per interval (and at shutdown), so a relay
// under attack writes one line a minute, not one per hostile frame.
import type { Logger } from "./log";

export class Metrics {
  private events = new Map<string, number>();
  private refusals = new Map<string, number>();
  private connections = 0;

  event(name: string): void {
    this.events.set(name, (this.events.get(name) ?? 0) + 1);
  }

  refused(code: string): void {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
  }

  connected(): void {
    this.connections++;
  }

  /** Logs the counts since the last call and starts again from zero. */
  flush(log: Logger, extra: Record<string, number> = {}): void {
    const fields: Record<string, number> = { connections: this.connections, ...extra };
    for (const [name, n] of this.events) fields[`event.${name}`] = n;
    for (const [code, n] of this.refusals) fields[`refused.${code}`] = n;
    this.events = new Map();
    this.refusals = new Map();
    this.connections = 0;
    log.info("stats", fields);
  }
}
