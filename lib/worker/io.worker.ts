// The I/O worker's entry (runtime: a worker the page starts beside the engine's, joined to it by a
// MessagePort): the ciphertext side of attachment transfers, hashed and made into Blobs on a thread of its
// own (serveCipherIo in ./io), and some of an upload's pieces sealed there (with that file's AEAD key, the
// only key it ever gets; see lib/engine/attachments/cipherio.ts).
import { serveCipherIo } from "./io";

const scope = self as unknown as { addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void };
scope.addEventListener("message", (event) => {
  const port = (event.data as { port?: unknown } | null)?.port;
  if (port instanceof MessagePort) serveCipherIo(port);
});
