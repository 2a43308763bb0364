// The I/O worker's entry (runtime: a worker the engine's worker starts): the ciphertext side of attachment
// transfers, hashed and made into Blobs on a thread of its own (lib/engine/attachments/cipherio). It gets
// ciphertext only, never a key or a plaintext byte; its buffers come by transfer and go back the same way.
import { AttachmentLeafHasher } from "../crypto";
import { pushInline } from "../engine/attachments/cipherio";
import { IoRequest, type IoReply } from "./io";

interface IoScope {
  postMessage(message: IoReply, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void;
}

const scope = self as unknown as IoScope;
const streams = new Map<number, AttachmentLeafHasher>();

/** Answers once the work started now is done; the work starts in the order the messages came. */
async function reply(seq: number, work: () => Promise<Omit<Extract<IoReply, { ok: true }>, "seq" | "ok">>, transfer: (r: Omit<Extract<IoReply, { ok: true }>, "seq" | "ok">) => Transferable[]): Promise<void> {
  try {
    const result = await work();
    scope.postMessage({ seq, ok: true, ...result }, transfer(result));
  } catch (error) {
    scope.postMessage({ seq, ok: false, message: error instanceof Error ? error.message : "failed" });
  }
}

scope.addEventListener("message", (event) => {
  const parsed = IoRequest.safeParse(event.data);
  if (!parsed.success) return;
  const m = parsed.data;
  if (m.op === "open") {
    streams.set(m.stream, new AttachmentLeafHasher(m.skip));
    return;
  }
  if (m.op === "close") {
    streams.delete(m.stream);
    return;
  }
  const hasher = streams.get(m.stream);
  if (m.op === "push") {
    // started here, in the messages' order (a chunk split across two pushes is kept by the hasher)
    const started = hasher ? pushInline(hasher, m.bytes, m.blobFrom) : null;
    void reply(
      m.seq,
      async () => {
        if (!started) throw new Error("no such stream");
        return { leaves: await started.leaves, blob: started.blob, bytes: m.bytes };
      },
      (r) => [...(r.bytes ? [r.bytes.buffer] : []), ...r.leaves.map((l) => l.buffer)],
    );
    return;
  }
  const ended = hasher ? hasher.end() : null;
  void reply(
    m.seq,
    async () => {
      if (!ended) throw new Error("no such stream");
      return { leaves: await ended, blob: null, bytes: null };
    },
    (r) => r.leaves.map((l) => l.buffer),
  );
});
