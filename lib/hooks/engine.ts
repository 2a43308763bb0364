"use client";
// The UI's single way to the worker: typed calls and the connection status.
import { useEffect, useState } from "react";
import { getEngine } from "../worker/client";
import type { ConnectionStatus, RpcMethod, RpcParams, RpcResult } from "../worker/rpc";

export function callEngine<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
  return getEngine().call(method, params);
}

// The worker starts as soon as this module is evaluated in a browser, before hydration renders anything:
// its own start-up (loading its bundle, opening the database, the leader election, the relay login)
// then runs beside hydration instead of after it, and a queued backlog starts arriving that much sooner.
if (typeof window !== "undefined" && typeof Worker !== "undefined") getEngine();

/** Starts the worker (and with it the engine election) if it has not started yet, once the app mounts. */
export function useEngineBoot(): void {
  useEffect(() => {
    getEngine();
  }, []);
}

/** null until the worker first reports; then whether the relay connection is up and who leads. */
export function useConnectionStatus(): ConnectionStatus | null {
  const [status, setStatus] = useState<ConnectionStatus | null>(null);
  useEffect(() => {
    let live = true;
    const engine = getEngine();
    const stop = engine.onStatus((next) => {
      if (live) setStatus(next);
    });
    engine
      .call("status", {})
      .then((next) => {
        if (live) setStatus((prev) => prev ?? next);
      })
      .catch(() => {
        // the pushed status will arrive anyway; a failed poll only means the worker is still starting
      });
    return () => {
      live = false;
      stop();
    };
  }, []);
  return status;
}
