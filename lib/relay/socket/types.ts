// Types shared by the socket layer: the typed socket, the relay-wide context and handler signatures.
import type { Server, Socket } from "socket.io";
import type { z } from "zod";
import type { ClientEvent, ClientToServerEvents, RateClass, ServerToClientEvents, SCHEMAS } from "../../protocol";
import type { Logger } from "../log";
import type { BucketSpec } from "../rateLimit";
import type { RelayStore } from "../storage/types";
import type { Connection } from "./connection";
import type { Hub } from "./hub";

export type RelayServer = Server<ClientToServerEvents, ServerToClientEvents>;
export type RelaySocket = Socket<ClientToServerEvents, ServerToClientEvents>;

export interface RelayContext {
  store: RelayStore;
  log: Logger;
  hub: Hub;
  now: () => number;
  rateLimits: Record<RateClass, BucketSpec>;
  /** Called after envelopes were deleted, so the storage can drop stale copies of them soon. */
  scheduleScrub: () => void;
  /** True once shutdown began: in-flight events finish, new ones are refused. */
  closing: () => boolean;
}

export type RequestOf<E extends ClientEvent> = z.output<(typeof SCHEMAS)[E]["request"]>;
export type ResponseOf<E extends ClientEvent> = z.output<(typeof SCHEMAS)[E]["response"]>;
export type HandlerFn<E extends ClientEvent> = (conn: Connection, req: RequestOf<E>) => Promise<ResponseOf<E>>;
export type Handlers = { [E in ClientEvent]: HandlerFn<E> };
