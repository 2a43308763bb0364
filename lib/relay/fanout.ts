// Several relay processes: socket.io's Redis adapter connects them, and `serverSideEmit` carries the
// hub's two signals to every other node — "these devices have new mail" (each node's connections of
// those devices pull it from the shared database) and "these envelopes were acked". The database is
// the truth: a signal lost while Redis is down costs only latency, since every node has all its
// connections look for missed mail as soon as Redis is back, and a reconnecting device catches up.
import { createAdapter } from "@socket.io/redis-adapter";
import { z } from "zod";
import { DeviceConnections } from "./deviceConnections";
import { NodeRegistry } from "./nodeRegistry";
import { connectRedis } from "./redisConnect";
import type { Logger } from "./log";
import type { AckedRef } from "./socket/connection";
import type { Hub } from "./socket/hub";
import type { RelayServer } from "./socket/types";

const NOTIFY = "relay:notify";
const ACKED = "relay:acked";
const EVICT = "relay:evict";
const REMOVED = "relay:removed";

// What other nodes send is checked like anything else that arrives: a bad message is dropped.
const DeviceIds = z.array(z.string().max(64)).max(10_000);
const ConnIds = z.array(z.string().max(64)).max(1_000);
const Removed = z.object({ deviceIds: DeviceIds, address: z.string().max(200), list: z.string().max(64 * 1024) });
const AckedRefs = z.array(z.object({ key: z.string().max(400), fromDevice: z.string().max(64).optional() })).max(1_000);

export interface Fanout {
  /** This node's id in Redis (its heartbeat; slot ids of its connections start with it). */
  nodeId: string;
  /** The live nodes' ids (nodeRegistry.ts). */
  liveNodes(): Promise<string[]>;
  /** Both Redis connections answer. */
  ready(): boolean;
  close(): Promise<void>;
}

export interface NodesOptions {
  redisUrl: string;
  prefix: string;
  log: Logger;
  /** The limits' keyed hash (the per-device connection cap keys Redis by it). */
  keyOf: (deviceId: string) => string;
}

export function connectNodes(io: RelayServer, hub: Hub, opts: NodesOptions): Fanout {
  // No retry limit: with one, ioredis rejects a command it queued while reconnecting, and a rejection
  // nobody handles (the adapter's own commands) ends the process. Our signals are not queued while
  // Redis is down (see `linked`), so the queue holds no more than the adapter's few commands.
  const pub = connectRedis(opts.redisUrl, { maxRetriesPerRequest: null });
  const sub = pub.duplicate();
  let down = false;
  for (const client of [pub, sub]) {
    client.on("error", () => {
      if (!down) opts.log.warn("fanout: redis unreachable, pushes across nodes wait for it");
      down = true;
    });
  }
  // Back after an outage (or a restart of Redis): whatever was signalled meanwhile is in the database.
  sub.on("ready", () => {
    if (down) opts.log.info("fanout: redis back, every connection looks for missed mail");
    down = false;
    hub.pumpAll();
  });
  io.adapter(createAdapter(pub, sub, { key: `${opts.prefix}io`, requestsTimeout: 2000 }));

  const serverSide = io as unknown as {
    serverSideEmit(event: string, ...args: unknown[]): boolean;
    on(event: string, listener: (...args: unknown[]) => void): void;
  };
  // While Redis is down a signal is dropped, not queued for a replay: the mail is in the database, and
  // every node pumps all its connections when Redis is back (an outage of minutes at full rate would
  // otherwise pile up in memory).
  const linked = () => pub.status === "ready";
  const nodes = new NodeRegistry(pub, opts.prefix);
  const devices = new DeviceConnections({
    redis: pub,
    nodes,
    prefix: opts.prefix,
    keyOf: opts.keyOf,
    log: opts.log,
    dropHere: (deviceId, connIds) => hub.dropHere(deviceId, connIds),
    dropElsewhere: (deviceId, connIds) => {
      if (linked()) serverSide.serverSideEmit(EVICT, deviceId, connIds);
    },
  });
  hub.peers = {
    admitted: (deviceId, connId, max) => devices.admitted(deviceId, connId, max),
    left: (deviceId, connId) => devices.left(deviceId, connId),
    notify: (deviceIds) => {
      if (linked()) serverSide.serverSideEmit(NOTIFY, deviceIds);
    },
    acked: (deviceId, refs) => {
      if (linked()) serverSide.serverSideEmit(ACKED, deviceId, refs);
    },
    // a removed device not reached now (Redis down) finds out at its next login, which its registration no longer allows
    removed: (deviceIds, address, list) => {
      if (linked()) serverSide.serverSideEmit(REMOVED, { deviceIds, address, list });
    },
  };
  serverSide.on(NOTIFY, (ids: unknown) => {
    const parsed = DeviceIds.safeParse(ids);
    if (parsed.success) hub.notifyHere(parsed.data);
  });
  serverSide.on(ACKED, (deviceId: unknown, refs: unknown) => {
    const parsed = AckedRefs.safeParse(refs);
    if (typeof deviceId === "string" && parsed.success) hub.ackedHere(deviceId, parsed.data as AckedRef[]);
  });

  serverSide.on(REMOVED, (payload: unknown) => {
    const parsed = Removed.safeParse(payload);
    if (parsed.success) hub.removedHere(parsed.data.deviceIds, parsed.data.address, parsed.data.list);
  });

  serverSide.on(EVICT, (deviceId: unknown, connIds: unknown) => {
    const parsed = ConnIds.safeParse(connIds);
    if (typeof deviceId === "string" && parsed.success) hub.dropHere(deviceId, parsed.data);
  });

  return {
    nodeId: nodes.nodeId,
    liveNodes: () => nodes.live(),
    ready: () => pub.status === "ready" && sub.status === "ready",
    close: async () => {
      hub.peers = null;
      await nodes.close();
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
