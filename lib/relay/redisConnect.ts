// One Redis connection from REDIS_URL (Node): a single server (`redis://`, `rediss://`) or a Redis
// Cluster (`redis+cluster://host:port,host:port`, `rediss+cluster://…` with TLS), through ioredis's
// `Redis` or `Cluster` client. Every user of Redis (the socket.io adapter, the limits, the node
// registry, the per-device connection cap) connects through here, so one URL selects the kind for all.
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

/** Either client; both run the same commands and scripts (a script's keys hash to one slot). */
export type RedisClient = Redis | Cluster;

export interface RedisTarget {
  cluster: boolean;
  /** The seed nodes of a cluster (any reachable one is enough; the rest are discovered). */
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_SCHEMES: Record<string, boolean> = { "redis+cluster:": false, "rediss+cluster:": true };

/**
 * What a Redis URL names. `redis+cluster://[user:password@]host:port[,host:port…]`: a cluster, from
 * these seed nodes (port 6379 when left out). Anything else is passed to ioredis as one server's URL.
 * Throws a clear error for a cluster URL without a node or with a bad port.
 */
export function parseRedisUrl(url: string): RedisTarget | null {
  const scheme = /^([a-z+]+:)\/\//i.exec(url)?.[1]?.toLowerCase();
  if (!scheme || !(scheme in CLUSTER_SCHEMES)) return null;
  let rest = url.slice(scheme.length + 2);
  const slash = rest.search(/[/?#]/);
  if (slash !== -1) rest = rest.slice(0, slash);
  const at = rest.lastIndexOf("@");
  let username: string | undefined;
  let password: string | undefined;
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(":");
    const user = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
    if (user) username = user;
    if (colon !== -1) password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  const nodes = rest
    .split(",")
    .filter((part) => part !== "")
    .map((part) => {
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(part);
      const port = Number(m?.[2] ?? 6379);
      if (!m || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`REDIS_URL: bad cluster node "${part}" (want host:port)`);
      return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
    });
  if (nodes.length === 0) throw new Error("REDIS_URL: a redis+cluster:// URL needs at least one host:port");
  return { cluster: true, nodes, username, password, tls: CLUSTER_SCHEMES[scheme]! };
}

/** True when the URL selects the Cluster client. */
export function isClusterUrl(url: string): boolean {
  return parseRedisUrl(url) !== null;
}

/**
 * A client for `url`. The options are the single-server ones; for a cluster they go to each node's
 * connection, except those the cluster client itself holds (the offline queue, reconnecting).
 */
export function connectRedis(url: string, options: RedisOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  if (!target) return new Redis(url, options);
  const { enableOfflineQueue, retryStrategy, lazyConnect, ...perNode } = options;
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue: enableOfflineQueue ?? true,
    lazyConnect,
    // Like the single client: keep trying, at most every 2 s.
    clusterRetryStrategy: (times) => (retryStrategy ? retryStrategy(times) : Math.min(100 * times, 2_000)),
    redisOptions: {
      ...perNode,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
  };
  return new Cluster(target.nodes, clusterOptions);
}
