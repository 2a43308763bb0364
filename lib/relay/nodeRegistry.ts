// Which relay nodes are alive (Node; with REDIS_URL). Every node beats into one sorted set of node ids
// scored by when their beat lapses, on the Redis clock; a node that stops beating is dead once its
// score passes. Scripts that must skip a dead node's members (the per-device connection cap, the
// per-address connection slots) get the live ids as an argument instead of reading a key per node:
// each script then touches only the one key it declares, as a Redis Cluster requires (keys of one
// script must live in one slot, and per-device keys are spread over all of them).
import { randomBytes } from "node:crypto";
import type { RedisClient } from "./redisConnect";

/** A node's beat lapses this long after it was made (beats come every third of it). */
export const NODE_HEARTBEAT_TTL_MS = 10_000;
/** A node's view of the live nodes is read again when older than this. */
export const LIVE_VIEW_MS = 1_000;
/**
 * A member of a node missing from the view is dropped only when older than this: a node that started
 * after the view was read is not taken for dead (it beats before it serves anyone, and a view is at
 * most LIVE_VIEW_MS old).
 */
export const UNKNOWN_NODE_GRACE_MS = 5_000;
/** Ids of nodes dead this long leave the set. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

// KEYS[1]: the set. ARGV: this node's id ("" to only read), beat TTL ms, forget-after ms. Returns the
// live ids.
const BEAT_LUA = `if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
`;

interface BeatScript {
  nodesBeat(key: string, me: string, ttlMs: number, forgetMs: number): Promise<string[]>;
}

/** Where the set lives, under REDIS_PREFIX. */
export function nodesKey(prefix: string): string {
  return `${prefix}nodes`;
}

export class NodeRegistry {
  /** Random per process: a restarted node is a new node, and its predecessor's members lapse with it. */
  readonly nodeId = randomBytes(8).toString("hex");
  private readonly redis: RedisClient & BeatScript;
  private readonly key: string;
  private readonly timer: NodeJS.Timeout;
  private view: { at: number; ids: Promise<string[]> } | null = null;

  constructor(redis: RedisClient, prefix: string) {
    redis.defineCommand("nodesBeat", { numberOfKeys: 1, lua: BEAT_LUA });
    this.redis = redis as RedisClient & BeatScript;
    this.key = nodesKey(prefix);
    const beat = () => void this.read(this.nodeId).catch(() => undefined);
    beat();
    this.timer = setInterval(beat, NODE_HEARTBEAT_TTL_MS / 3);
    this.timer.unref();
  }

  /** The live nodes' ids, this one always among them; at most LIVE_VIEW_MS old. Rejects if Redis does not answer. */
  live(): Promise<string[]> {
    if (this.view && Date.now() - this.view.at < LIVE_VIEW_MS) return this.view.ids;
    return this.read("");
  }

  /** This node stops: its id goes at once, so its members lapse now rather than in seconds. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.redis.status === "ready") await this.redis.zrem(this.key, this.nodeId).catch(() => undefined);
  }

  private read(me: string): Promise<string[]> {
    const ids = this.redis.nodesBeat(this.key, me, NODE_HEARTBEAT_TTL_MS, FORGET_AFTER_MS).then((live) => [...new Set([...live, this.nodeId])]);
    const view = { at: Date.now(), ids };
    this.view = view;
    ids.catch(() => {
      if (this.view === view) this.view = null;
    });
    return ids;
  }
}
