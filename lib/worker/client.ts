// UI side of the worker RPC: one module worker per tab, created lazily, browser only.
// Calls are matched to replies by seq; a failed call rejects with an EngineError rebuilt from the reply.
import {
  EngineError,
  isEngineErrorCode,
  type ConnectionStatus,
  type IoPortEvent,
  type PageEvent,
  type RpcMethod,
  type RpcParams,
  type RpcReply,
  type RpcRequest,
  type RpcResult,
  type WorkerEvent,
} from "./rpc";

export interface EngineClient {
  call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>>;
  onStatus(cb: (s: ConnectionStatus) => void): () => void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** The part of a Worker this client needs; a MessagePort fits too. */
export interface WorkerLike {
  postMessage(message: RpcRequest | PageEvent): void;
  addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void;
  addEventListener(type: "error", listener: (event: Event) => void): void;
}

function isReply(data: unknown): data is RpcReply {
  return typeof data === "object" && data !== null && "seq" in data && "ok" in data;
}

function isEvent(data: unknown): data is WorkerEvent {
  return typeof data === "object" && data !== null && (data as { type?: unknown }).type === "status";
}

export function createEngineClient(worker: WorkerLike): EngineClient {
  let seq = 0;
  const pending = new Map<number, Pending>();
  const listeners = new Set<(s: ConnectionStatus) => void>();
  let lastStatus: ConnectionStatus | null = null;

  worker.addEventListener("message", (event) => {
    const data = event.data;
    if (isEvent(data)) {
      lastStatus = data.status;
      for (const cb of listeners) cb(data.status);
      return;
    }
    if (!isReply(data)) return;
    const waiting = pending.get(data.seq);
    if (!waiting) return;
    pending.delete(data.seq);
    if (data.ok) waiting.resolve(data.result);
    else {
      const code = isEngineErrorCode(data.error.code) ? data.error.code : "internal";
      waiting.reject(new EngineError(code, data.error.message));
    }
  });
  worker.addEventListener("error", () => {
    // a worker that failed to load never answers: fail every call instead of hanging the UI
    for (const [id, waiting] of pending) {
      pending.delete(id);
      waiting.reject(new EngineError("internal", "engine worker failed"));
    }
  });

  return {
    call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
      seq += 1;
      const request = { seq, method, params } as RpcRequest;
      return new Promise<RpcResult<M>>((resolve, reject) => {
        pending.set(request.seq, { resolve: (v) => resolve(v as RpcResult<M>), reject });
        worker.postMessage(request);
      });
    },
    onStatus(cb) {
      listeners.add(cb);
      if (lastStatus) cb(lastStatus);
      return () => {
        listeners.delete(cb);
      };
    },
  };
}

let engine: EngineClient | null = null;

/**
 * Starts the I/O worker (attachments' ciphertext work, lib/worker/io.ts) and joins it to the engine's
 * worker with a MessageChannel: a worker's own workers are not bundled by the build, the page's are.
 */
function startIoWorker(engineWorker: Worker): void {
  let io: Worker;
  try {
    io = new Worker(new URL("./io.worker.ts", import.meta.url), { type: "module", name: "junction-io" });
  } catch {
    return;
  }
  const channel = new MessageChannel();
  io.postMessage({ port: channel.port1 }, [channel.port1]);
  const joined: IoPortEvent = { type: "io", port: channel.port2 };
  engineWorker.postMessage(joined, [channel.port2]);
  const failed: IoPortEvent = { type: "io", port: null };
  io.addEventListener("error", () => engineWorker.postMessage(failed));
}

/** This tab's engine client; starts the worker on first use. */
export function getEngine(): EngineClient {
  if (typeof window === "undefined" || typeof Worker === "undefined") {
    throw new EngineError("internal", "the engine runs only in a browser");
  }
  if (!engine) {
    const worker = new Worker(new URL("./crypto.worker.ts", import.meta.url), { type: "module", name: "junction-engine" });
    engine = createEngineClient(worker);
    startIoWorker(worker);
    // the page's view of connectivity goes to the worker first, before any socket could open
    const tell = () => worker.postMessage({ type: "network", online: navigator.onLine });
    tell();
    window.addEventListener("online", tell);
    window.addEventListener("offline", tell);
  }
  return engine;
}
