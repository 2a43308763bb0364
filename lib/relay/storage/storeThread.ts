// The SQLite store's own thread (runtime: Node worker_thread). better-sqlite3 is synchronous, so on
// the event loop every statement of a commit group stops the sockets; here the store (with group
// commit) runs beside the event loop, on the second core. Calls arrive in frames (the calls of one
// event-loop turn) and are answered in frames; group commit gathers the calls of one of this thread's
// turns, as it did on the event loop, and every write is answered only after its shared fsync.
import { parentPort, workerData } from "node:worker_threads";
import { withGroupCommit } from "./groupCommit";
import { openSqliteStore } from "./sqlite";
import { crossError, isStoreMethod, type StoreAnswer, type StoreCall, type StoreThreadData, type ThreadFrame } from "./threadMessages";
import type { RelayStore } from "./types";

const port = parentPort;
if (!port) throw new Error("storeThread runs as a worker thread");

const data = workerData as StoreThreadData;
const post = (frame: ThreadFrame) => port.postMessage(frame);

let answers: StoreAnswer[] = [];
let flushing = false;

/** Answers go out together once per turn of this thread: one message for all that settled in it. */
function answer(a: StoreAnswer): void {
  answers.push(a);
  if (flushing) return;
  flushing = true;
  setImmediate(() => {
    flushing = false;
    const out = answers;
    answers = [];
    post({ kind: "answers", answers: out });
  });
}

async function serve(store: RelayStore, call: StoreCall): Promise<void> {
  try {
    if (call.method === "close") {
      await store.close();
      answer({ seq: call.seq, value: undefined });
      return;
    }
    if (!isStoreMethod(call.method) || !Array.isArray(call.args)) throw new TypeError("invalid store call");
    const method = store[call.method] as (...args: unknown[]) => Promise<unknown>;
    answer({ seq: call.seq, value: await method.apply(store, call.args) });
  } catch (err) {
    answer({ seq: call.seq, error: crossError(err) });
  }
}

try {
  const raw = await openSqliteStore(data.dataDir);
  const store: RelayStore = data.groupCommit
    ? withGroupCommit(raw, { onGroup: (envelopes, calls) => post({ kind: "group", envelopes, calls }) })
    : raw;
  port.on("message", (frame: unknown) => {
    if (!Array.isArray(frame)) return;
    for (const call of frame as StoreCall[]) void serve(store, call);
  });
  post({ kind: "ready" });
} catch (err) {
  post({ kind: "failed", error: crossError(err) });
}
