// Types shared by the socket layer: the typed socket, the relay-wide context and handler signatures.
import type { Server, Socket } from "socket.io";
import type { z } from "zod";
import type { ClientEvent, ClientToServerEvents, RateClass, RelayLimitName, ServerToClientEvents, SCHEMAS } from "../../protocol";
import type { BlobStore } from "../blobs/types";
import type { Limiter, RateRule } from "../limits/types";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import type { BucketSpec } from "../rateLimit";
import type { RelayStore } from "../storage/types";
import type { Connection } from "./connection";
import type { Hub } from "./hub";
import type { LiveSignals } from "../liveSignals";

export type RelayServer = Server<ClientToServerEvents, ServerToClientEvents>;
export type RelaySocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export interface RelayContext {
  store: RelayStore;
  /** Attachment ciphertext (see lib/relay/blobs). */
  blobs: BlobStore;
  /** Attachment bytes one device may hold, complete or under way. */
  blobQuotaBytes: number;
  log: Logger;
  metrics: Metrics;
  hub: Hub;
  /** Pushes that are never stored (typing), to live connections on every node. */
  signals: LiveSignals;
  now: () => number;
  /** Per-connection flood buckets. */
  rateLimits: Record<RateClass, BucketSpec>;
  /** Limits across connections (and processes), with their rules. */
  limiter: Limiter;
  limits: Record<RelayLimitName, RateRule>;
  /**
   * A limiter key for parts that name parties (devices, addresses, pairs): a keyed hash, so the
   * limiter's memory (or Redis) never holds who asked for whom in clear.
   */
  limitKey: (...parts: string[]) => string;
  /** A connection closed: frees what it held (its slot of the per-address cap). */
  onClosed: (conn: Connection) => void;
  /** Called after envelopes were deleted, so the storage can drop stale copies of them soon. */
  scheduleScrub: () => void;
  /** True once shutdown began: in-flight events finish, new ones are refused. */
  closing: () => boolean;
}

export type RequestOf<E extends ClientEvent> = z.output<(typeof SCHEMAS)[E]["request"]>;
export type ResponseOf<E extends ClientEvent> = z.output<(typeof SCHEMAS)[E]["response"]>;
export type HandlerFn<E extends ClientEvent> = (conn: Connection, req: RequestOf<E>) => Promise<ResponseOf<E>>;
export type Handlers = { [E in ClientEvent]: HandlerFn<E> };
