// What an idle socket keeps of its upgrade request: nothing, once it is admitted. engine.io keeps the
// request as `conn.request`, socket.io a handshake object built from it (its headers, query and
// auth), and engine.io's stand-in response for upgrades (the one its middlewares get) stays on the TCP
// socket's "close" listeners with the request in it, for the socket's life: ~1.5 KB of each idle
// socket's ~13 KB. The relay reads the client's address from the request once, in its admission
// check (server.ts), and nothing afterwards.
import { ServerResponse } from "node:http";
import type { RelayServer, RelaySocket } from "./types";

type Handshake = RelaySocket["handshake"];

/** What every admitted socket has as its handshake: one shared, frozen, empty object. */
export const RELEASED_HANDSHAKE: Handshake = Object.freeze({
  headers: Object.freeze({}),
  time: "",
  address: "",
  xdomain: false,
  secure: false,
  issued: 0,
  url: "",
  query: Object.freeze({}),
  auth: Object.freeze({}),
}) as Handshake;

interface EngineWithMiddlewares {
  _applyMiddlewares?: (req: unknown, res: unknown, callback: (err?: unknown) => void) => void;
}

/**
 * Makes engine.io's upgrade stand-in response forget its request once engine.io's middlewares ran
 * (the relay has none; they are the only reader of it). A real http response (long-polling) is left
 * as it is. Without the internal hook (another engine.io version), nothing changes.
 */
export function releaseUpgradeRequests(io: RelayServer): void {
  const engine = io.engine as unknown as EngineWithMiddlewares;
  const apply = engine._applyMiddlewares;
  if (typeof apply !== "function") return;
  engine._applyMiddlewares = function (req, res, callback) {
    apply.call(this, req, res, (err) => {
      if (res && !(res instanceof ServerResponse) && typeof res === "object" && "req" in res) (res as { req: unknown }).req = null;
      callback(err);
    });
  };
}

/** Lets go of a socket's request and handshake: call once the admission check has read them. */
export function releaseHandshake(socket: RelaySocket): void {
  (socket.conn as unknown as { request: unknown }).request = null;
  (socket as unknown as { handshake: Handshake }).handshake = RELEASED_HANDSHAKE;
}
