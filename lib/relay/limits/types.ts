// The relay's limiter contract (Node-only, no I/O here). Unlike the per-connection buckets of
// ../rateLimit.ts, limits are keyed by the caller (an IP prefix, a device, a sender→recipient pair),
// so they hold across reconnects and, with the Redis implementation, across relay processes.
// Both implementations run the same contract suite (limiter.test.ts).

/**
 * A GCRA rule, which behaves as a token bucket: `burst` tokens at once, refilled continuously at
 * `perSecond`. A quota such as "1000 a day" is `{ burst: 1000, perSecond: 1000 / 86_400 }`
 * (a sliding day rather than a calendar one, so there is no midnight reset to game).
 */
export interface RateRule {
  /** Part of the storage key: `[A-Za-z0-9_.-]{1,64}`. Two rules with one name share their buckets. */
  name: string;
  /** Integer ≥ 1. */
  burst: number;
  /** > 0 and ≤ 1,000,000. */
  perSecond: number;
}

export interface Decision {
  ok: boolean;
  /** 0 when ok; else the wait until this same `take` (its `cost`) would succeed, rounded up to a ms. */
  retryAfterMs: number;
  /**
   * Set when the limiter could not apply the rule (Redis unreachable or timed out, or the memory
   * limiter's key cap reached) and `ok` is the failure policy's answer, not the rule's.
   */
  degraded?: true;
}

/**
 * What a call answers when the backing store fails: "open" lets the request through (a Redis
 * outage must not stop mail), "closed" refuses it (for limits that guard secrets, e.g. login
 * attempts). The limiter's default is "open"; every call may override it.
 */
export type FailurePolicy = "open" | "closed";

export interface CallOptions {
  onFailure?: FailurePolicy;
}

export interface Limiter {
  /**
   * Atomically takes `cost` (integer, 1..rule.burst, default 1) tokens of `rule` for `key`; nothing is
   * taken when refused. For "after N bundles of one target, hand out fewer keys", take from a second
   * rule and treat a refusal as "fewer", not as an error: no separate peek is needed.
   * Throws a RangeError for an invalid rule, key or cost (a caller's bug, never a client's input).
   */
  take(rule: RateRule, key: string, cost?: number, opts?: CallOptions): Promise<Decision>;
  /**
   * Concurrency slots (connections per device, per IP): `id` takes a slot of `key` if fewer than `max`
   * are held, and an `id` that already holds one keeps it (the call then refreshes it). A slot not
   * refreshed within `ttlMs` lapses, so a crashed process does not leak slots forever.
   */
  acquire(key: string, id: string, max: number, ttlMs: number, opts?: CallOptions): Promise<boolean>;
  /**
   * Extends `id`'s slot to `ttlMs` from now. False when the slot had already lapsed (it is not taken
   * again: another holder may have it; call `acquire`). On a store failure it answers true and logs,
   * so an outage does not drop connections.
   */
  refresh(key: string, id: string, ttlMs: number): Promise<boolean>;
  /** Frees `id`'s slot; a no-op when it does not hold one. Store failures are logged: the slot lapses. */
  release(key: string, id: string): Promise<void>;
  /**
   * 32 bytes the caller hashes identities into limiter keys with, so that the limiter's store holds no
   * device, address or IP in clear. Per process in memory; through Redis, one secret that every relay
   * process shares (set once, if absent), so they hash one client to one key.
   */
  keySecret(): Promise<Uint8Array>;
  close(): Promise<void>;
}

const RULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Keys and slot ids are ours (IP prefixes, device ids, address pairs); the cap bounds memory per entry. */
export const MAX_KEY_CHARS = 512;
/** Beyond a million a second the interval rounds to under a microsecond. */
const MAX_PER_SECOND = 1_000_000;

export function checkRule(rule: RateRule, cost: number): void {
  if (!RULE_NAME.test(rule.name)) throw new RangeError("invalid rule name");
  if (!Number.isSafeInteger(rule.burst) || rule.burst < 1) throw new RangeError("invalid rule burst");
  if (!(rule.perSecond > 0 && rule.perSecond <= MAX_PER_SECOND)) throw new RangeError("invalid rule rate");
  // A cost above the burst could never be granted: refusing it forever would hide the bug.
  if (!Number.isSafeInteger(cost) || cost < 1 || cost > rule.burst) throw new RangeError("invalid cost");
}

export function checkKey(key: string, what = "key"): void {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_CHARS) throw new RangeError(`invalid ${what}`);
}

export function checkSlot(max: number, ttlMs: number): void {
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError("invalid slot max");
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError("invalid slot ttl");
}

/**
 * The GCRA emission interval in whole microseconds. Integer time keeps "burst N" exact: N takes at
 * one instant land exactly on the tolerance, with no floating-point drift to grant N+1 or refuse N.
 */
export function intervalUs(rule: RateRule): number {
  return Math.max(1, Math.round(1_000_000 / rule.perSecond));
}
