// The I/O worker's entry (runtime: a worker the page starts beside the engine's, joined to it by a
// MessagePort): the ciphertext side of attachment transfers, hashed and made into Blobs on a thread of its
// own (serveCipherIo in ./io), and a share of each file's chunks sealed or opened. It gets the ciphertext,
// the plaintext of the chunks it seals or opens and that one file's attachment key, never an identity,
// session or prekey.
import { serveCipherIo } from "./io";

const scope = self as unknown as { addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void };
scope.addEventListener("message", (event) => {
  const port = (event.data as { port?: unknown } | null)?.port;
  if (port instanceof MessagePort) serveCipherIo(port);
});
