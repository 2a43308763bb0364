// The limiter shared by relay processes through Redis (Node). Each operation is one Lua script, so
// it is atomic and one round trip; every script reads the Redis server's clock (TIME), so processes
// with skewed clocks still agree. Every key carries a TTL: memory stays bounded without a sweeper.
import { randomBytes } from "node:crypto";
import { connectRedis, type RedisClient } from "../redisConnect";
import { describeError, type Logger } from "../log";
import { UNKNOWN_NODE_GRACE_MS } from "../nodeRegistry";
import {
  type CallOptions,
  checkKey,
  checkRule,
  checkSlot,
  type Decision,
  type FailurePolicy,
  type Limiter,
  type RateRule,
  intervalUs,
} from "./types";

export interface RedisLimiterOptions {
  url: string;
  /** Put before every key, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  /** A command not answered by then counts as a failure. Default 200 ms. */
  commandTimeoutMs?: number;
  /** Default "open". */
  onFailure?: FailurePolicy;
  log?: Pick<Logger, "warn" | "info">;
  /**
   * The live relay nodes (see nodeRegistry.ts): a slot id "node:…" of a node not among them is free,
   * so a node that died does not hold its slots until they lapse.
   */
  liveNodes?: () => Promise<string[]>;
}

export const DEFAULT_PREFIX = "junction:limits:";
/** What a fail-closed refusal asks the client to wait: Redis is down, not the client too fast. */
const FAILED_RETRY_MS = 1_000;

// Redis before 5 refuses writes after TIME in a script unless effects are replicated; a no-op since 7.
const PREAMBLE = "if redis.replicate_commands then redis.replicate_commands() end\n";

// The GCRA step of memory.ts in µs on the server's clock. KEYS[1] holds the TAT; it expires when the
// bucket is full again, which is exactly when the key becomes the same as no key.
// ARGV: interval µs, burst, cost. Returns {1, 0} or {0, retry after in ms}.
const TAKE_LUA = `${PREAMBLE}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
-- The key expires about when tat passes; this covers the millisecond PX rounds up.
if tat < now then tat = now end
local nexttat = tat + cost * interval
local over = nexttat - now - burst * interval
if over > 0 then return {0, math.ceil(over / 1000)} end
-- %.0f: tostring() would print 16-digit µs times with 14 significant digits.
redis.call('SET', KEYS[1], string.format('%.0f', nexttat), 'PX', math.ceil((nexttat - now) / 1000))
return {1, 0}
`;

// Slots: a sorted set of holder ids scored by expiry (ms, server clock); lapsed ids are dropped first.
// KEYS[1] is the only key touched (Redis Cluster: one key, one slot). On acquire, with ARGV[5] (the
// live relay nodes' ids joined by ","; see nodeRegistry.ts), an id "node:rest" of a node not listed
// whose lease was last taken or refreshed more than ARGV[6] ms ago is dropped too: its node died, and
// its holders with it. The key expires with its last holder. ARGV: id, max, ttl ms, "acquire" |
// "refresh", live nodes or "" (no node check), grace ms. Returns 1 or 0.
const SLOT_LUA = `${PREAMBLE}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, max, ttl, mode, nodes, grace = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if mode == 'acquire' and nodes ~= '' then
  local live = {}
  for node in string.gmatch(nodes, '[^,]+') do live[node] = true end
  local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    local node = string.match(all[i], '^([^:]+):')
    if node and not live[node] and tonumber(all[i + 1]) - ttl < now - grace then redis.call('ZREM', KEYS[1], all[i]) end
  end
end
local held = redis.call('ZSCORE', KEYS[1], id)
if not held then
  if mode == 'refresh' then return 0 end
  if redis.call('ZCARD', KEYS[1]) >= max then return 0 end
end
redis.call('ZADD', KEYS[1], now + ttl, id)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], tonumber(last[2]) - now)
return 1
`;

interface LimitScripts {
  limitTake(key: string, intervalUs: number, burst: number, cost: number): Promise<[number, number]>;
  limitSlot(key: string, id: string, max: number, ttlMs: number, mode: "acquire" | "refresh", nodes: string, graceMs: number): Promise<number>;
}
type ScriptedRedis = RedisClient & LimitScripts;

function withScripts(redis: RedisClient): ScriptedRedis {
  // defineCommand sends EVALSHA and falls back to EVAL once per connection (after a Redis restart).
  redis.defineCommand("limitTake", { numberOfKeys: 1, lua: TAKE_LUA });
  redis.defineCommand("limitSlot", { numberOfKeys: 1, lua: SLOT_LUA });
  return redis as ScriptedRedis;
}

export class RedisLimiter implements Limiter {
  private readonly redis: ScriptedRedis;
  private readonly prefix: string;
  private readonly onFailure: FailurePolicy;
  private readonly liveNodes?: () => Promise<string[]>;
  private readonly log?: Pick<Logger, "warn" | "info">;
  /** Failures since Redis last answered; logged on the way down and up, not once per call. */
  private failures = 0;

  constructor(opts: RedisLimiterOptions) {
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.onFailure = opts.onFailure ?? "open";
    this.liveNodes = opts.liveNodes;
    this.log = opts.log;
    const redis = connectRedis(opts.url, {
      commandTimeout: opts.commandTimeoutMs ?? 200,
      connectTimeout: 2_000,
      // While disconnected, fail at once rather than queue: a queue grows without bound during an
      // outage and would replay stale takes (already answered by the failure policy) on reconnect.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
    });
    // Reconnection goes on by itself; without a listener ioredis prints every failed attempt.
    redis.on("error", (err: unknown) => this.failed(err));
    redis.on("ready", () => this.answered());
    this.redis = withScripts(redis);
  }

  /** Waits until Redis answers (true) or `timeoutMs` passes (false); calls before then fail fast. */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    if (this.redis.status === "ready") return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off("ready", onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.redis.on("ready", onReady);
    });
  }

  private secret: Promise<Uint8Array> | null = null;

  keySecret(): Promise<Uint8Array> {
    this.secret ??= (async () => {
      const key = `${this.prefix}secret`;
      try {
        // The first process to start sets it; every other one reads the same.
        await this.redis.set(key, randomBytes(32).toString("base64"), "NX");
        const stored = await this.redis.get(key);
        if (stored) {
          const bytes = Buffer.from(stored, "base64");
          if (bytes.length === 32) return new Uint8Array(bytes);
        }
      } catch (err) {
        this.failed(err);
      }
      // Without Redis the limits are degraded anyway; a process-local secret keeps keys hashed.
      this.secret = null;
      return new Uint8Array(randomBytes(32));
    })();
    return this.secret;
  }

  async take(rule: RateRule, key: string, cost = 1, opts?: CallOptions): Promise<Decision> {
    checkRule(rule, cost);
    checkKey(key);
    try {
      const [ok, retryAfterMs] = await this.redis.limitTake(this.rateKey(rule, key), intervalUs(rule), rule.burst, cost);
      this.answered();
      return ok === 1 ? { ok: true, retryAfterMs: 0 } : { ok: false, retryAfterMs };
    } catch (err) {
      this.failed(err);
      return this.policy(opts) === "open"
        ? { ok: true, retryAfterMs: 0, degraded: true }
        : { ok: false, retryAfterMs: FAILED_RETRY_MS, degraded: true };
    }
  }

  async acquire(key: string, id: string, max: number, ttlMs: number, opts?: CallOptions): Promise<boolean> {
    checkKey(key);
    checkKey(id, "slot id");
    checkSlot(max, ttlMs);
    try {
      const live = this.liveNodes ? (await this.liveNodes()).join(",") : "";
      const held = (await this.redis.limitSlot(this.slotKey(key), id, max, ttlMs, "acquire", live, UNKNOWN_NODE_GRACE_MS)) === 1;
      this.answered();
      return held;
    } catch (err) {
      this.failed(err);
      return this.policy(opts) === "open";
    }
  }

  async refresh(key: string, id: string, ttlMs: number): Promise<boolean> {
    checkKey(key);
    checkKey(id, "slot id");
    checkSlot(1, ttlMs);
    try {
      const held = (await this.redis.limitSlot(this.slotKey(key), id, 1, ttlMs, "refresh", "", 0)) === 1;
      this.answered();
      return held;
    } catch (err) {
      this.failed(err);
      return true;
    }
  }

  async release(key: string, id: string): Promise<void> {
    try {
      // One command is atomic already; Redis deletes the set with its last member.
      await this.redis.zrem(this.slotKey(key), id);
      this.answered();
    } catch (err) {
      this.failed(err);
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === "ready") {
      try {
        await this.redis.quit();
        return;
      } catch {
        // Not answered in time: drop the connection below.
      }
    }
    this.redis.disconnect();
  }

  /** Rule names cannot hold ":", so distinct (rule, key) pairs get distinct keys. */
  rateKey(rule: RateRule, key: string): string {
    return `${this.prefix}rate:${rule.name}:${key}`;
  }

  slotKey(key: string): string {
    return `${this.prefix}slots:${key}`;
  }

  private policy(opts: CallOptions | undefined): FailurePolicy {
    return opts?.onFailure ?? this.onFailure;
  }

  private failed(err: unknown): void {
    if (this.failures++ === 0) {
      this.log?.warn("limits: redis unavailable, applying the failure policy", { error: describeError(err), policy: this.onFailure });
    }
  }

  private answered(): void {
    if (this.failures === 0) return;
    this.log?.info("limits: redis answers again", { failures: this.failures });
    this.failures = 0;
  }
}
