// The in-process limiter (Node): one relay process, state in Maps, time from the injected clock so
// tests can drive it. Rate rules are GCRA (the "virtual scheduling" form of the ATM Forum's Generic
// Cell Rate Algorithm, ITU-T I.371): one number per bucket, its theoretical arrival time (TAT).
import { randomBytes } from "node:crypto";
import type { Logger } from "../log";
import {
  type CallOptions,
  checkKey,
  checkRule,
  checkSlot,
  type Decision,
  type Limiter,
  type RateRule,
  intervalUs,
} from "./types";

export interface MemoryLimiterOptions {
  /** Milliseconds, like Date.now (the default). */
  now?: () => number;
  /** Buckets plus slot keys tracked at once. Default 100,000. */
  maxKeys?: number;
  /** How often full buckets and lapsed slots are dropped; 0 for no timer (call `sweep`). Default 10 s. */
  sweepIntervalMs?: number;
  log?: Pick<Logger, "warn" | "info">;
}

export const DEFAULT_MAX_KEYS = 100_000;
/** What a refusal at the key cap asks the client to wait: about when the next sweep may free room. */
const SATURATED_RETRY_MS = 1_000;
/** A sweep is O(keys): at the cap, new keys trigger one at most this often (ms), not one each. */
const MIN_SWEEP_GAP_MS = 1_000;

/**
 * One GCRA step, all times in µs. The bucket holds `burst` tokens when now ≥ tat; each token moves
 * tat on by `interval`. A take is granted when the new tat stays within `burst` intervals of now.
 * Mirrored line for line by the Lua in redis.ts.
 */
export function gcra(tat: number, now: number, interval: number, burst: number, cost: number): { ok: boolean; tat: number; waitUs: number } {
  // max(): a clock that went backwards leaves tat ahead of now, which means fewer tokens, never more.
  const next = Math.max(tat, now) + cost * interval;
  const over = next - now - burst * interval;
  return over > 0 ? { ok: false, tat, waitUs: over } : { ok: true, tat: next, waitUs: 0 };
}

export class MemoryLimiter implements Limiter {
  keySecret(): Promise<Uint8Array> {
    return Promise.resolve(this.secret);
  }

  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly log?: Pick<Logger, "warn" | "info">;
  /** `${rule}:${key}` → TAT in µs. Rule names cannot hold ":", so the pair is unambiguous. */
  private readonly buckets = new Map<string, number>();
  /**
   * key → its holders, flat: id, expiry in ms, id, expiry, … Every idle connection holds a slot of its
   * address, so an array of its exact length (~80 B for one holder; a Map of one is ~200 B). Arrays
   * are replaced, not grown, when a holder comes or goes.
   */
  private readonly slots = new Map<string, Holders>();
  private readonly timer: NodeJS.Timeout | null;
  private lastSweep = -Infinity;
  private saturated = false;

  private readonly secret = new Uint8Array(randomBytes(32));

  constructor(opts: MemoryLimiterOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
    this.log = opts.log;
    const every = opts.sweepIntervalMs ?? 10_000;
    this.timer = every > 0 ? setInterval(() => this.sweep(), every) : null;
    // The sweep only frees memory: it must not keep a relay (or a test run) alive.
    this.timer?.unref();
  }

  /** Buckets and slot keys tracked now (for tests and metrics). */
  get size(): number {
    return this.buckets.size + this.slots.size;
  }

  async take(rule: RateRule, key: string, cost = 1, _opts?: CallOptions): Promise<Decision> {
    checkRule(rule, cost);
    checkKey(key);
    const id = `${rule.name}:${key}`;
    const nowMs = this.now();
    const now = Math.round(nowMs * 1000);
    const tat = this.buckets.get(id);
    if (tat === undefined && !this.admit(nowMs)) return { ok: false, retryAfterMs: SATURATED_RETRY_MS, degraded: true };
    const step = gcra(tat ?? now, now, intervalUs(rule), rule.burst, cost);
    if (!step.ok) return { ok: false, retryAfterMs: Math.ceil(step.waitUs / 1000) };
    this.buckets.set(id, step.tat);
    return { ok: true, retryAfterMs: 0 };
  }

  async acquire(key: string, id: string, max: number, ttlMs: number, _opts?: CallOptions): Promise<boolean> {
    checkKey(key);
    checkKey(id, "slot id");
    checkSlot(max, ttlMs);
    const now = this.now();
    let held = this.slots.get(key);
    if (!held && !this.admit(now)) return false;
    held = held ? live(held, now) : [];
    const at = holderAt(held, id);
    if (at < 0 && held.length / 2 >= max) {
      this.slots.set(key, held);
      return false;
    }
    if (at >= 0) held[at + 1] = now + ttlMs;
    else held = held.concat(id, now + ttlMs);
    this.slots.set(key, held);
    return true;
  }

  async refresh(key: string, id: string, ttlMs: number): Promise<boolean> {
    checkKey(key);
    checkKey(id, "slot id");
    checkSlot(1, ttlMs);
    const now = this.now();
    const was = this.slots.get(key);
    if (!was) return false;
    const held = live(was, now);
    if (held.length === 0) this.slots.delete(key);
    else if (held !== was) this.slots.set(key, held);
    const at = holderAt(held, id);
    if (at < 0) return false;
    held[at + 1] = now + ttlMs;
    return true;
  }

  async release(key: string, id: string): Promise<void> {
    const held = this.slots.get(key);
    if (!held) return;
    const at = holderAt(held, id);
    if (at < 0) return;
    if (held.length === 2) this.slots.delete(key);
    else this.slots.set(key, held.slice(0, at).concat(held.slice(at + 2)));
  }

  /** Drops buckets that are full again (the same as absent) and lapsed slots. */
  sweep(): void {
    const nowMs = this.now();
    const now = Math.round(nowMs * 1000);
    this.lastSweep = nowMs;
    // Deleting the entry being visited is safe while iterating a Map.
    for (const [id, tat] of this.buckets) if (tat <= now) this.buckets.delete(id);
    for (const [key, was] of this.slots) {
      const held = live(was, nowMs);
      if (held.length === 0) this.slots.delete(key);
      else if (held !== was) this.slots.set(key, held);
    }
    if (this.saturated && this.size < this.maxKeys) {
      this.saturated = false;
      this.log?.info("limits: below the key cap again", { keys: this.size });
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.buckets.clear();
    this.slots.clear();
  }

  /**
   * Room for one more key? At the cap, new keys are refused while keys already tracked keep their
   * limits. Evicting instead would let a flood of fresh keys (IPv6 prefixes are cheap) wipe the
   * buckets of the clients being limited, which is a bypass; refusing costs new clients service
   * during the flood, which is visible (logged, `degraded`) and ends when the buckets refill.
   */
  private admit(nowMs: number): boolean {
    if (this.size < this.maxKeys) return true;
    if (nowMs - this.lastSweep >= MIN_SWEEP_GAP_MS) this.sweep();
    if (this.size < this.maxKeys) return true;
    if (!this.saturated) {
      this.saturated = true;
      this.log?.warn("limits: key cap reached, refusing new keys", { keys: this.size });
    }
    return false;
  }
}

/** A key's slot holders: id, expiry in ms, id, expiry, … */
type Holders = (string | number)[];

/** Where `id` is in `held` (the index of its id), or -1. */
function holderAt(held: Holders, id: string): number {
  for (let i = 0; i < held.length; i += 2) if (held[i] === id) return i;
  return -1;
}

/** `held` without its lapsed holders: the same array when none lapsed. */
function live(held: Holders, now: number): Holders {
  let lapsed = false;
  for (let i = 1; i < held.length; i += 2) if ((held[i] as number) <= now) lapsed = true;
  if (!lapsed) return held;
  const kept: Holders = [];
  for (let i = 0; i < held.length; i += 2) if ((held[i + 1] as number) > now) kept.push(held[i]!, held[i + 1]!);
  return kept.slice();
}
