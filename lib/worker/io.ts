// The engine's side of the I/O worker (runtime: the engine's worker): a CipherIo whose work runs in a
// worker of its own (io.worker.ts), so that on two cores the hashing and the copies into Blobs run beside
// the AEAD instead of between its chunks. The page starts that worker beside the engine's and joins the
// two with a MessageChannel (a worker's own workers are not bundled here); buffers go by transfer both
// ways, replies are matched by seq and checked with zod like every message that crosses a thread. Until the
// worker says it is ready, and for good once it failed, the same work runs inline.
// zod's mini build: the I/O worker loads this module and little else, and the classic build is most of a chunk
import * as z from "zod/mini";
import { type ChunkSealKey, sealChunksInPlace } from "../crypto/chunks";
import { AttachmentLeafHasher } from "../crypto/leaves";
import { inlineCipherIo, pushInline, pushPartsInline, type CipherIo, type CipherPiece, type CipherStream, type SealJob } from "../engine/attachments/cipherio";

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array);
const int = z.int();
const count = z.int().check(z.minimum(0));

export const IoRequest = z.discriminatedUnion("op", [
  // with `seal`, the stream's pieces may come as plaintext to be sealed here (an upload's, op "seal")
  z.object({ op: z.literal("open"), stream: int, skip: count, seal: z.optional(z.object({ key: bytes, ad: bytes })) }),
  // the bytes (and Blob) come back in the reply to `seq`, the leaves' digests later in the reply to `leavesSeq`
  z.object({ op: z.literal("push"), stream: int, seq: int, leavesSeq: int, bytes, blobFrom: z.optional(count) }),
  // plaintext sealed in place as chunks first, first + 1, …, then pushed (its replies as push's)
  z.object({ op: z.literal("seal"), stream: int, seq: int, leavesSeq: int, bytes, plainBytes: count, first: count, last: z.boolean(), blobFrom: z.optional(count) }),
  z.object({ op: z.literal("parts"), stream: int, seq: int, parts: z.array(bytes) }),
  z.object({ op: z.literal("end"), stream: int, seq: int }),
  z.object({ op: z.literal("close"), stream: int }),
]);
export type IoRequest = z.infer<typeof IoRequest>;

export const IoReply = z.union([
  z.object({ seq: int, ok: z.literal(true), leaves: z.array(bytes), blob: z.nullable(z.instanceof(Blob)), bytes: z.nullable(bytes) }),
  z.object({ seq: int, ok: z.literal(false), message: z.string() }),
  // the worker's first message: it runs, and answers on this port
  z.object({ ready: z.literal(true) }),
]);
export type IoReply = z.infer<typeof IoReply>;

type Success = Extract<IoReply, { ok: true }>;

export class IoWorkerError extends Error {
  override name = "IoWorkerError";
}

/** The part of a MessagePort this needs. */
export interface IoPort {
  postMessage(message: IoRequest, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void;
  start?(): void;
}

export interface WorkerCipherIo extends CipherIo {
  /** The I/O worker's port (from the page), or null: it failed, whatever it had in hand fails too. */
  attach(port: IoPort | null): void;
}

/** A CipherIo over the I/O worker's port once attached and ready; inline before, and after a failure. */
export function workerCipherIo(): WorkerCipherIo {
  let port: IoPort | null = null;
  let ready = false;
  let broken = false;
  let nextStream = 0;
  let nextSeq = 0;
  const pending = new Map<number, { resolve(r: Success): void; reject(e: Error): void }>();
  const fail = (why: string) => {
    broken = true;
    for (const p of pending.values()) p.reject(new IoWorkerError(why));
    pending.clear();
  };
  /** The reply to `seq`, once it comes. */
  const expect = (seq: number): Promise<Success> =>
    new Promise<Success>((resolve, reject) => {
      if (broken) return reject(new IoWorkerError("the I/O worker failed"));
      pending.set(seq, { resolve, reject });
    });
  const ask = (to: IoPort, message: IoRequest & { seq: number }, transfer: Transferable[]): Promise<Success> => {
    const reply = expect(message.seq);
    if (!broken) to.postMessage(message, transfer);
    return reply;
  };
  return {
    attach(next) {
      if (!next) return fail("the I/O worker failed");
      if (port) return;
      port = next;
      next.addEventListener("message", (event) => {
        const parsed = IoReply.safeParse(event.data);
        if (!parsed.success) return fail("a malformed reply");
        const m = parsed.data;
        if ("ready" in m) {
          ready = true;
          return;
        }
        const p = pending.get(m.seq);
        pending.delete(m.seq);
        if (!p) return;
        if (m.ok) p.resolve(m);
        else p.reject(new IoWorkerError(m.message));
      });
      next.start?.();
    },
    open(skip, sealing): CipherStream {
      const to = port;
      if (!to || !ready || broken) return inlineCipherIo.open(skip);
      const stream = nextStream++;
      to.postMessage({ op: "open", stream, skip, seal: sealing && { key: sealing.key, ad: sealing.ad } });
      /** A push or a seal: the bytes (and Blob) in one reply, the leaves in a later one. */
      const piece = async (message: (seqs: { seq: number; leavesSeq: number }) => IoRequest & { seq: number }, data: Uint8Array): Promise<CipherPiece> => {
        const leavesSeq = nextSeq++;
        const leaves = expect(leavesSeq).then((r) => r.leaves);
        // the caller's to handle, once it has the piece (not an unhandled rejection meanwhile)
        leaves.catch(() => undefined);
        const r = await ask(to, message({ seq: nextSeq++, leavesSeq }), [data.buffer]);
        if (!r.bytes) throw new IoWorkerError("the bytes did not come back");
        return { leaves, blob: r.blob, bytes: r.bytes };
      };
      return {
        push: (data, blobFrom) => piece((seqs) => ({ op: "push", stream, ...seqs, bytes: data, blobFrom }), data),
        sealPush: sealing
          ? (data: Uint8Array, job: SealJob, blobFrom?: number) => piece((seqs) => ({ op: "seal", stream, ...seqs, bytes: data, ...job, blobFrom }), data)
          : undefined,
        async pushParts(parts) {
          return (await ask(to, { op: "parts", stream, seq: nextSeq++, parts }, parts.map((p) => p.buffer))).leaves;
        },
        async end() {
          return (await ask(to, { op: "end", stream, seq: nextSeq++ }, [])).leaves;
        },
        close() {
          if (!broken) to.postMessage({ op: "close", stream });
        },
      };
    },
  };
}

/** The part of a MessagePort the I/O worker needs. */
export interface Endpoint {
  postMessage(message: IoReply, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void;
  start?(): void;
}

type Done = Omit<Extract<IoReply, { ok: true }>, "seq" | "ok">;

/**
 * The I/O worker's side: serves one engine on `port`, each request's work started in the order the
 * messages came. Its buffers come by transfer and go back the same way.
 */
export function serveCipherIo(port: Endpoint): void {
  const streams = new Map<number, AttachmentLeafHasher>();
  /** The keys of the streams opened to be sealed here: dropped with their streams. */
  const keys = new Map<number, ChunkSealKey>();
  const reply = async (seq: number, work: Promise<Done>): Promise<void> => {
    try {
      const done = await work;
      port.postMessage({ seq, ok: true, ...done }, [...(done.bytes ? [done.bytes.buffer] : []), ...done.leaves.map((l) => l.buffer)]);
    } catch (error) {
      port.postMessage({ seq, ok: false, message: error instanceof Error ? error.message : "failed" });
    }
  };
  port.addEventListener("message", (event) => {
    const parsed = IoRequest.safeParse(event.data);
    if (!parsed.success) return;
    const m = parsed.data;
    if (m.op === "open") {
      streams.set(m.stream, new AttachmentLeafHasher(m.skip));
      if (m.seal) keys.set(m.stream, m.seal);
    } else if (m.op === "close") {
      streams.delete(m.stream);
      keys.delete(m.stream);
    } else {
      const hasher = streams.get(m.stream);
      if (!hasher) {
        const missing = Promise.reject(new Error("no such stream"));
        // a push is answered twice (its bytes, then its leaves): neither reply stays awaited
        if (m.op === "push" || m.op === "seal") void reply(m.leavesSeq, missing);
        return void reply(m.seq, missing);
      }
      if (m.op === "end") return void reply(m.seq, hasher.end().then((leaves) => ({ leaves, blob: null, bytes: null })));
      if (m.op === "parts") return void reply(m.seq, pushPartsInline(hasher, m.parts).then((leaves) => ({ leaves, blob: null, bytes: null })));
      let sealed = m.bytes;
      if (m.op === "seal") {
        const key = keys.get(m.stream);
        try {
          if (!key) throw new Error("this stream is not sealed here");
          // sealed before the next message is read: the hasher takes the stream's pieces in their order
          sealed = m.bytes.subarray(0, sealChunksInPlace(key, m.bytes, m.plainBytes, m.first, m.last));
        } catch (error) {
          // nothing of it is hashed or sent: the stream is no good from here on
          const failed = Promise.reject(error instanceof Error ? error : new Error("the seal failed"));
          streams.delete(m.stream);
          keys.delete(m.stream);
          void reply(m.leavesSeq, failed);
          return void reply(m.seq, failed);
        }
      }
      // started here, before the next message (a sealed chunk split across two pushes is kept by the hasher)
      const { leaves, blob } = pushInline(hasher, sealed, m.blobFrom);
      // the digests copied their input as they started: the bytes go back at once, for the engine to seal
      // into again while the digests run on the thread pool (the leaves follow in a reply of their own)
      void reply(m.seq, Promise.resolve({ leaves: [], blob, bytes: m.bytes }));
      void reply(m.leavesSeq, leaves.then((l) => ({ leaves: l, blob: null, bytes: null })));
    }
  });
  port.start?.();
  port.postMessage({ ready: true });
}
