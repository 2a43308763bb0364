// The SQLite store on a thread of its own (runtime: Node). The relay's event loop runs socket.io, the
// handlers and the checks; the store's statements, its group commits and their fsyncs run in
// storeThread.ts, so on two cores the two halves run side by side instead of taking turns. The
// contract is unchanged (the same suite runs through this proxy): a write is answered once it is on
// disk, because the thread answers only then.
//
// Calls of one event-loop turn go in one message (a turn of socket frames makes many), answers come
// back likewise; a thread hop per call, not per statement (a worker that ran each statement for the
// event loop was tried before and lost: a group's statements each paid a hop).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { rebuildError, type StoreCall, type StoreMethod, type StoreThreadData, type ThreadFrame } from "./threadMessages";
import type { RelayStore } from "./types";

export interface StoreThreadOptions {
  /** Group-commit concurrent sends and acks (default true). */
  groupCommit?: boolean;
  /** After each committed store group: its envelopes and calls (for the batch-size metrics). */
  onGroup?: (envelopes: number, calls: number) => void;
  /** The thread stopped other than by `close` (the store then refuses every call). */
  onExit?: (err: Error) => void;
}

/**
 * The thread: `storeThread.mjs` beside a bundled relay (`bundleRelay` builds it next to `main.mjs`),
 * else this folder's TypeScript entry, loaded through tsx's loader. A worker does not inherit the
 * loader hooks that `--import tsx` gave the main thread, so a small script registers them first.
 */
function startThread(data: StoreThreadData): Worker {
  const bundled = new URL("./storeThread.mjs", import.meta.url);
  if (existsSync(fileURLToPath(bundled))) return new Worker(bundled, { workerData: data });
  const entry = new URL("./storeThread.ts", import.meta.url).href;
  // tsx's `register` (its ESM API, `tsx/esm/api`, by path: an eval'd script resolves no packages)
  const tsx = new URL("dist/esm/api/index.mjs", pathToFileURL(createRequire(import.meta.url).resolve("tsx/package.json"))).href;
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: data });
}

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
}

class ThreadStore implements RelayStore {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private queue: StoreCall[] = [];
  private flushing = false;
  private stopped: Error | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly worker: Worker,
    private readonly opts: StoreThreadOptions,
  ) {
    worker.on("message", (frame: ThreadFrame) => this.receive(frame));
    worker.on("error", (err) => this.stop(err));
    worker.on("exit", (code) => this.stop(new Error(`store thread exited (${code})`)));
  }

  private receive(frame: ThreadFrame): void {
    if (frame.kind === "group") {
      this.opts.onGroup?.(frame.envelopes, frame.calls);
      return;
    }
    if (frame.kind !== "answers") return;
    for (const answer of frame.answers) {
      const waiting = this.pending.get(answer.seq);
      if (!waiting) continue;
      this.pending.delete(answer.seq);
      if ("error" in answer) waiting.reject(rebuildError(answer.error));
      else waiting.resolve(answer.value as never);
    }
  }

  private stop(err: Error): void {
    if (this.stopped) return;
    this.stopped = this.closing ? new Error("store closed") : err;
    for (const waiting of this.pending.values()) waiting.reject(this.stopped);
    this.pending.clear();
    if (!this.closing) this.opts.onExit?.(err);
  }

  /** `method` of the store on the thread, with `args` (structured-cloned there), answered as it answers. */
  private call<M extends StoreMethod | "close">(method: M, args: Parameters<RelayStore[M]>): ReturnType<RelayStore[M]>;
  private call(method: StoreMethod | "close", args: unknown[]): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      const seq = ++this.seq;
      this.pending.set(seq, { resolve: resolve as (value: never) => void, reject });
      this.queue.push({ seq, method, args });
      if (this.flushing) return;
      this.flushing = true;
      // after the poll phase: the calls that this turn's socket frames made go in one message
      setImmediate(() => {
        this.flushing = false;
        const frame = this.queue;
        this.queue = [];
        if (this.stopped) {
          for (const c of frame) this.pending.get(c.seq)?.reject(this.stopped);
          return;
        }
        try {
          this.worker.postMessage(frame);
        } catch (err) {
          // an argument that cannot be cloned fails its frame's calls, not the process
          for (const c of frame) {
            this.pending.get(c.seq)?.reject(err instanceof Error ? err : new Error(String(err)));
            this.pending.delete(c.seq);
          }
        }
      });
    });
  }

  getDevice(...args: Parameters<RelayStore["getDevice"]>) {
    return this.call("getDevice", args);
  }

  registerAccount(...args: Parameters<RelayStore["registerAccount"]>) {
    return this.call("registerAccount", args);
  }

  addCompanion(...args: Parameters<RelayStore["addCompanion"]>) {
    return this.call("addCompanion", args);
  }

  removeDevices(...args: Parameters<RelayStore["removeDevices"]>) {
    return this.call("removeDevices", args);
  }

  accountsOfDevice(...args: Parameters<RelayStore["accountsOfDevice"]>) {
    return this.call("accountsOfDevice", args);
  }

  getAccount(...args: Parameters<RelayStore["getAccount"]>) {
    return this.call("getAccount", args);
  }

  putDeviceList(...args: Parameters<RelayStore["putDeviceList"]>) {
    return this.call("putDeviceList", args);
  }

  claimBundles(...args: Parameters<RelayStore["claimBundles"]>) {
    return this.call("claimBundles", args);
  }

  updateKeys(...args: Parameters<RelayStore["updateKeys"]>) {
    return this.call("updateKeys", args);
  }

  keyStatus(...args: Parameters<RelayStore["keyStatus"]>) {
    return this.call("keyStatus", args);
  }

  storeEnvelopes(...args: Parameters<RelayStore["storeEnvelopes"]>) {
    return this.call("storeEnvelopes", args);
  }

  pendingEnvelopes(...args: Parameters<RelayStore["pendingEnvelopes"]>) {
    return this.call("pendingEnvelopes", args);
  }

  deleteEnvelopes(...args: Parameters<RelayStore["deleteEnvelopes"]>) {
    return this.call("deleteEnvelopes", args);
  }

  deleteExpired(...args: Parameters<RelayStore["deleteExpired"]>) {
    return this.call("deleteExpired", args);
  }

  mailboxStats(...args: Parameters<RelayStore["mailboxStats"]>) {
    return this.call("mailboxStats", args);
  }

  scrub(...args: Parameters<RelayStore["scrub"]>) {
    return this.call("scrub", args);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // a thread that already stopped has nothing left to close
      if (this.stopped) return;
      // Calls already made are answered (their groups committed) before the database closes.
      try {
        await this.call("close", []);
      } finally {
        await this.worker.terminate();
      }
    })();
    return this.closing;
  }
}

/** The SQLite store under `dataDir`, opened and run on a worker thread; see the top of this file. */
export async function openSqliteStoreThread(dataDir: string, opts: StoreThreadOptions = {}): Promise<RelayStore> {
  const worker = startThread({ dataDir, groupCommit: opts.groupCommit ?? true });
  try {
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`store thread exited while opening (${code})`));
      worker.once("error", reject);
      worker.once("exit", onExit);
      worker.once("message", (frame: ThreadFrame) => {
        worker.off("error", reject);
        worker.off("exit", onExit);
        if (frame.kind === "ready") resolve();
        else if (frame.kind === "failed") reject(rebuildError(frame.error));
        else reject(new Error("store thread answered before it was ready"));
      });
    });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return new ThreadStore(worker, opts);
}
