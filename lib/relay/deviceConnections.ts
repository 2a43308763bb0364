// The per-device connection cap across relay nodes (Node; with REDIS_URL). One node alone keeps the
// latest MAX_CONNECTIONS_PER_DEVICE logins of a device itself (Hub.limitConnections); with several,
// a device could hold that many on every node. So each login is also recorded in Redis: a sorted set
// per device (keyed by a keyed hash, never the device id) of "node:connection" by login time on the
// Redis clock. A login that takes the set past the cap evicts the oldest members, wherever they are:
// the node that holds one closes it (the others hear of it through the adapter's serverSideEmit).
// A node that dies cannot clean up after itself, so every node keeps a heartbeat key that lapses
// shortly after it stops: members of a node without one are dropped before counting.
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { describeError, type Logger } from "./log";

/** Where the nodes' heartbeat keys live, under REDIS_PREFIX. */
export function nodeKeyPrefix(prefix: string): string {
  return `${prefix}nodes:`;
}

/** A node's heartbeat lapses this long after its last beat (beats come every third of it). */
export const NODE_HEARTBEAT_TTL_MS = 10_000;
/** A device's set lapses this long after its last login (members leave on disconnect anyway). */
const DEVICE_SET_TTL_MS = 24 * 60 * 60 * 1000;

// KEYS[1]: the device's set. ARGV: member, max, node key prefix, this node's id, heartbeat TTL ms,
// set TTL ms. Returns the evicted members. The heartbeat keys are not declared in KEYS: a single
// Redis (not a Redis Cluster) is what the relay supports.
const ADMIT_LUA = `if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local member, max, nodes, me = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
redis.call('SET', nodes .. me, '1', 'PX', ARGV[5])
redis.call('ZADD', KEYS[1], now, member)
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local node = string.match(m, '^([^:]+):')
  if not node or redis.call('EXISTS', nodes .. node) == 0 then redis.call('ZREM', KEYS[1], m) end
end
local over = redis.call('ZCARD', KEYS[1]) - max
local evicted = {}
if over > 0 then
  evicted = redis.call('ZRANGE', KEYS[1], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return evicted
`;

interface AdmitScript {
  deviceAdmit(key: string, member: string, max: number, nodes: string, me: string, heartbeatMs: number, setTtlMs: number): Promise<string[]>;
}

export interface DeviceConnectionsOptions {
  redis: Redis;
  /** Keys start with this (REDIS_PREFIX). */
  prefix: string;
  /** The keyed hash the limits use: Redis never holds a device id in clear. */
  keyOf: (deviceId: string) => string;
  /** Close these connections of the device if they are on this node. */
  dropHere: (deviceId: string, connIds: string[]) => void;
  /** Tell the other nodes to close these (they each close the ones they hold). */
  dropElsewhere: (deviceId: string, connIds: string[]) => void;
  log: Logger;
}

export class DeviceConnections {
  /** Random per process: a restarted node is a new node, and its predecessor's members lapse with it. */
  readonly nodeId = randomBytes(8).toString("hex");
  private readonly redis: Redis & AdmitScript;
  private readonly beat: NodeJS.Timeout;

  constructor(private readonly opts: DeviceConnectionsOptions) {
    opts.redis.defineCommand("deviceAdmit", { numberOfKeys: 1, lua: ADMIT_LUA });
    this.redis = opts.redis as Redis & AdmitScript;
    const heartbeat = () => void this.redis.set(this.nodeKey(this.nodeId), "1", "PX", NODE_HEARTBEAT_TTL_MS).catch(() => undefined);
    heartbeat();
    this.beat = setInterval(heartbeat, NODE_HEARTBEAT_TTL_MS / 3);
    this.beat.unref();
  }

  /**
   * `connId` logged in as `deviceId`: recorded, and the oldest logins of the device beyond `max` on any
   * node are closed. While Redis does not answer, only this node's own cap holds (it always does).
   */
  admitted(deviceId: string, connId: string, max: number): void {
    if (this.redis.status !== "ready") return;
    this.redis
      .deviceAdmit(this.deviceKey(deviceId), `${this.nodeId}:${connId}`, max, this.nodeKey(""), this.nodeId, NODE_HEARTBEAT_TTL_MS, DEVICE_SET_TTL_MS)
      .then((evicted) => {
        const here: string[] = [];
        const elsewhere: string[] = [];
        for (const member of evicted) {
          const at = member.indexOf(":");
          (member.slice(0, at) === this.nodeId ? here : elsewhere).push(member.slice(at + 1));
        }
        if (here.length) this.opts.dropHere(deviceId, here);
        if (elsewhere.length) this.opts.dropElsewhere(deviceId, elsewhere);
      })
      .catch((err: unknown) => this.opts.log.warn("device connection cap: redis failed", { err: describeError(err) }));
  }

  /** `connId` of `deviceId` closed on this node. */
  left(deviceId: string, connId: string): void {
    if (this.redis.status !== "ready") return;
    this.redis.zrem(this.deviceKey(deviceId), `${this.nodeId}:${connId}`).catch(() => undefined);
  }

  /** This node stops: its heartbeat goes at once, so its members lapse now rather than in seconds. */
  async close(): Promise<void> {
    clearInterval(this.beat);
    if (this.redis.status === "ready") await this.redis.del(this.nodeKey(this.nodeId)).catch(() => undefined);
  }

  private deviceKey(deviceId: string): string {
    return `${this.opts.prefix}devconns:${this.opts.keyOf(deviceId)}`;
  }

  private nodeKey(nodeId: string): string {
    return `${nodeKeyPrefix(this.opts.prefix)}${nodeId}`;
  }
}
