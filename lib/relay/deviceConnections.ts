// The per-device connection cap across relay nodes (Node; with REDIS_URL). One node alone keeps the
// latest MAX_CONNECTIONS_PER_DEVICE logins of a device itself (Hub.limitConnections); with several,
// a device could hold that many on every node. So each login is also recorded in Redis: a sorted set
// per device (keyed by a keyed hash, never the device id) of "node:connection" by login time on the
// Redis clock. A login that takes the set past the cap evicts the oldest members, wherever they are:
// the node that holds one closes it (the others hear of it through the adapter's serverSideEmit).
// A node that dies cannot clean up after itself: members of a node the registry no longer lists as
// alive (nodeRegistry.ts) are dropped before counting.
import type { RedisClient } from "./redisConnect";
import { describeError, type Logger } from "./log";
import { type NodeRegistry, UNKNOWN_NODE_GRACE_MS } from "./nodeRegistry";

/** A device's set lapses this long after its last login (members leave on disconnect anyway). */
const DEVICE_SET_TTL_MS = 24 * 60 * 60 * 1000;

// KEYS[1]: the device's set, the only key touched (Redis Cluster: one key, one slot). ARGV: member,
// max, the live node ids joined by ",", the grace in µs for members of a node not listed, set TTL ms.
// Returns the evicted members.
const ADMIT_LUA = `if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max, grace = tonumber(ARGV[2]), tonumber(ARGV[4])
local live = {}
for id in string.gmatch(ARGV[3], '[^,]+') do live[id] = true end
redis.call('ZADD', KEYS[1], now, ARGV[1])
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  local m, at = all[i], tonumber(all[i + 1])
  local node = string.match(m, '^([^:]+):')
  if not node or (not live[node] and at < now - grace) then redis.call('ZREM', KEYS[1], m) end
end
local over = redis.call('ZCARD', KEYS[1]) - max
local evicted = {}
if over > 0 then
  evicted = redis.call('ZRANGE', KEYS[1], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return evicted
`;

interface AdmitScript {
  deviceAdmit(key: string, member: string, max: number, live: string, graceUs: number, setTtlMs: number): Promise<string[]>;
}

export interface DeviceConnectionsOptions {
  redis: RedisClient;
  /** The live nodes; this node's id is its `nodeId`. */
  nodes: NodeRegistry;
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
  readonly nodeId: string;
  private readonly redis: RedisClient & AdmitScript;

  constructor(private readonly opts: DeviceConnectionsOptions) {
    opts.redis.defineCommand("deviceAdmit", { numberOfKeys: 1, lua: ADMIT_LUA });
    this.redis = opts.redis as RedisClient & AdmitScript;
    this.nodeId = opts.nodes.nodeId;
  }

  /**
   * `connId` logged in as `deviceId`: recorded, and the oldest logins of the device beyond `max` on any
   * node are closed. While Redis does not answer, only this node's own cap holds (it always does).
   */
  admitted(deviceId: string, connId: string, max: number): void {
    if (this.redis.status !== "ready") return;
    this.opts.nodes
      .live()
      .then((live) => this.redis.deviceAdmit(this.deviceKey(deviceId), `${this.nodeId}:${connId}`, max, live.join(","), UNKNOWN_NODE_GRACE_MS * 1000, DEVICE_SET_TTL_MS))
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

  private deviceKey(deviceId: string): string {
    return `${this.opts.prefix}devconns:${this.opts.keyOf(deviceId)}`;
  }
}
