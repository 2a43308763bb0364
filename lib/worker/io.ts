// The engine's side of the I/O worker (runtime: the engine's worker): a CipherIo whose work runs in a
// worker of its own (io.worker.ts), so that on two cores the hashing and the copies into Blobs run beside
// the AEAD instead of between its chunks. Buffers go by transfer both ways; replies are matched by seq and
// checked with zod like every message that crosses a thread. Where a worker cannot start here, or fails,
// the same work runs inline.
import { z } from "zod";
import { inlineCipherIo, type CipherIo, type CipherPiece, type CipherStream } from "../engine/attachments/cipherio";

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array);

export const IoRequest = z.discriminatedUnion("op", [
  z.object({ op: z.literal("open"), stream: z.number().int(), skip: z.number().int().min(0) }),
  z.object({ op: z.literal("push"), stream: z.number().int(), seq: z.number().int(), bytes, blobFrom: z.number().int().min(0).optional() }),
  z.object({ op: z.literal("end"), stream: z.number().int(), seq: z.number().int() }),
  z.object({ op: z.literal("close"), stream: z.number().int() }),
]);
export type IoRequest = z.infer<typeof IoRequest>;

export const IoReply = z.discriminatedUnion("ok", [
  z.object({ seq: z.number().int(), ok: z.literal(true), leaves: z.array(bytes), blob: z.instanceof(Blob).nullable(), bytes: bytes.nullable() }),
  z.object({ seq: z.number().int(), ok: z.literal(false), message: z.string() }),
]);
export type IoReply = z.infer<typeof IoReply>;

type Success = Extract<IoReply, { ok: true }>;

export class IoWorkerError extends Error {
  override name = "IoWorkerError";
}

/** The part of a Worker this needs. */
export interface IoPort {
  postMessage(message: IoRequest, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void;
  addEventListener(type: "error", listener: (event: Event) => void): void;
}

/** A CipherIo over a worker made by `start` (at the first transfer); inline once the worker failed. */
export function workerCipherIo(start: () => IoPort): CipherIo {
  let port: IoPort | null = null;
  let broken = false;
  let nextStream = 0;
  let nextSeq = 0;
  const pending = new Map<number, { resolve(r: Success): void; reject(e: Error): void }>();
  const fail = (why: string) => {
    broken = true;
    for (const p of pending.values()) p.reject(new IoWorkerError(why));
    pending.clear();
  };
  const connect = (): IoPort | null => {
    if (port || broken) return port;
    try {
      port = start();
    } catch {
      broken = true;
      return null;
    }
    port.addEventListener("message", (event) => {
      const parsed = IoReply.safeParse(event.data);
      if (!parsed.success) return fail("a malformed reply");
      const p = pending.get(parsed.data.seq);
      pending.delete(parsed.data.seq);
      if (!p) return;
      if (parsed.data.ok) p.resolve(parsed.data);
      else p.reject(new IoWorkerError(parsed.data.message));
    });
    port.addEventListener("error", () => fail("the worker failed"));
    return port;
  };
  const ask = (to: IoPort, message: IoRequest & { seq: number }, transfer: Transferable[]): Promise<Success> =>
    new Promise<Success>((resolve, reject) => {
      if (broken) return reject(new IoWorkerError("the worker failed"));
      pending.set(message.seq, { resolve, reject });
      to.postMessage(message, transfer);
    });
  return {
    open(skip): CipherStream {
      const to = connect();
      if (!to) return inlineCipherIo.open(skip);
      const stream = nextStream++;
      to.postMessage({ op: "open", stream, skip });
      return {
        async push(data, blobFrom): Promise<CipherPiece> {
          const r = await ask(to, { op: "push", stream, seq: nextSeq++, bytes: data, blobFrom }, [data.buffer]);
          if (!r.bytes) throw new IoWorkerError("the bytes did not come back");
          return { leaves: r.leaves, blob: r.blob, bytes: r.bytes };
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
