// The relay's limiter (Node): Redis when a URL is given (limits shared by every relay process),
// otherwise in-process. Callers depend on `Limiter` only.
import type { Logger } from "../log";
import { MemoryLimiter } from "./memory";
import { RedisLimiter } from "./redis";
import type { FailurePolicy, Limiter } from "./types";

export type { CallOptions, Decision, FailurePolicy, Limiter, RateRule } from "./types";
export { clientKeyOf } from "./clientKey";

export interface LimiterOptions {
  /** e.g. redis://127.0.0.1:6379; absent: the in-process limiter. */
  redisUrl?: string;
  /** The in-process limiter's clock (ms). Redis uses its own server clock, whatever this says. */
  now?: () => number;
  /** Redis key prefix. Default "junction:limits:". */
  prefix?: string;
  /** What calls answer when Redis fails. Default "open". */
  onFailure?: FailurePolicy;
  /** In-process only: keys tracked at once before new keys are refused. Default 100,000. */
  maxKeys?: number;
  /** Redis only. Default 200 ms. */
  commandTimeoutMs?: number;
  log?: Pick<Logger, "warn" | "info">;
  /** Redis only: the live relay nodes (slots of a dead node are free). */
  liveNodes?: () => Promise<string[]>;
}

/**
 * Never rejects because Redis is down: it waits up to 2 s for a first connection, logs if there is
 * none, and returns a limiter whose calls apply the failure policy until Redis answers.
 */
export async function createLimiter(opts: LimiterOptions = {}): Promise<Limiter> {
  if (!opts.redisUrl) return new MemoryLimiter({ now: opts.now, maxKeys: opts.maxKeys, log: opts.log });
  const limiter = new RedisLimiter({
    url: opts.redisUrl,
    prefix: opts.prefix,
    onFailure: opts.onFailure,
    commandTimeoutMs: opts.commandTimeoutMs,
    log: opts.log,
    liveNodes: opts.liveNodes,
  });
  if (!(await limiter.ready())) opts.log?.warn("limits: no redis yet, starting anyway", { policy: opts.onFailure ?? "open" });
  return limiter;
}
