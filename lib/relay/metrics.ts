// Counters for the operator, without a party in them: events by name and outcome, refusals by code,
// envelopes stored / pushed / acked, connections, mailbox depth and store latency. Served to
// Prometheus at /metrics (prom-client, on its own registry) and summarised in one `stats` log line
// per interval, so a relay under attack writes one line a minute, not one per hostile frame.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "./log";
import type { MailboxStats, RelayStore } from "./storage/types";

export type EventOutcome = "ok" | "refused" | "error";

export class Metrics {
  readonly registry = new Registry();
  private readonly events: Counter<"event" | "outcome">;
  private readonly refusals: Counter<"code">;
  private readonly connections: Counter;
  private readonly envelopes: Counter<"stage">;
  readonly storeSeconds: Histogram<"op">;
  readonly batchSize: Histogram;
  // since the last `stats` line
  private sinceEvents = new Map<string, number>();
  private sinceRefusals = new Map<string, number>();
  private sinceConnections = 0;

  constructor(sources: { online: () => number; mailbox: () => Promise<MailboxStats | null> }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "junction_" });
    this.events = new Counter({ name: "junction_events_total", help: "Client events by name and outcome", labelNames: ["event", "outcome"], registers });
    this.refusals = new Counter({ name: "junction_refusals_total", help: "Refused events and connections by reason", labelNames: ["code"], registers });
    this.connections = new Counter({ name: "junction_connections_total", help: "Connections accepted", registers });
    this.envelopes = new Counter({ name: "junction_envelopes_total", help: "Envelopes stored, pushed and acked", labelNames: ["stage"], registers });
    this.storeSeconds = new Histogram({
      name: "junction_store_seconds",
      help: "Storage call latency by operation",
      labelNames: ["op"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.batchSize = new Histogram({ name: "junction_commit_batch_envelopes", help: "Envelopes per storage commit of sends", buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000], registers });
    new Gauge({ name: "junction_connections_online", help: "Logged-in connections of this process", registers, collect() { this.set(sources.online()); } });
    const mailbox = new Gauge({ name: "junction_mailbox", help: "Pending mail in aggregate", labelNames: ["measure"], registers,
      async collect() {
        const stats = await sources.mailbox();
        if (!stats) return;
        mailbox.set({ measure: "devices" }, stats.devices);
        mailbox.set({ measure: "envelopes" }, stats.envelopes);
        mailbox.set({ measure: "bytes" }, stats.bytes);
        mailbox.set({ measure: "largest_device_bytes" }, stats.largestDeviceBytes);
      },
    });
  }

  event(name: string, outcome: EventOutcome = "ok"): void {
    this.events.inc({ event: name, outcome });
    this.sinceEvents.set(name, (this.sinceEvents.get(name) ?? 0) + 1);
  }

  refused(code: string): void {
    this.refusals.inc({ code });
    this.sinceRefusals.set(code, (this.sinceRefusals.get(code) ?? 0) + 1);
  }

  connected(): void {
    this.connections.inc();
    this.sinceConnections++;
  }

  envelopesAt(stage: "stored" | "pushed" | "acked", n: number): void {
    if (n > 0) this.envelopes.inc({ stage }, n);
  }

  /** Logs the counts since the last call (and the gauges' values in `extra`) and starts again from zero. */
  flush(log: Logger, extra: Record<string, number> = {}): void {
    const fields: Record<string, number> = { connections: this.sinceConnections, ...extra };
    for (const [name, n] of this.sinceEvents) fields[`event.${name}`] = n;
    for (const [code, n] of this.sinceRefusals) fields[`refused.${code}`] = n;
    this.sinceEvents = new Map();
    this.sinceRefusals = new Map();
    this.sinceConnections = 0;
    log.info("stats", fields);
  }
}

/** The store with every call timed into `junction_store_seconds{op}`. */
export function timedStore(store: RelayStore, metrics: Metrics): RelayStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        const end = metrics.storeSeconds.startTimer({ op: prop });
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) return result.finally(() => end());
        end();
        return result;
      };
    },
  });
}
