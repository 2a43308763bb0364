// The transport's ceiling (Node): a bare socket.io server that does what the relay does on the wire
// for one message and nothing else: it acks `mailbox:send`, pushes the envelopes to the recipient's
// socket as `mailbox:deliver`, and acks `mailbox:ack`. No validation, login, storage or limits.
// Prints the relay's own "listening on" line, so the bench starts it the same way.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import { EVENTS } from "../../lib/protocol";

interface Outgoing {
  id: string;
  to: string;
  toDevice: string;
  body: string;
}

const http = createServer();
const io = new Server(http, { transports: ["websocket"], serveClient: false });
const byId = new Map<string, Socket>();

io.on("connection", (socket) => {
  const id = String((socket.handshake.auth as { id?: unknown }).id ?? socket.id);
  byId.set(id, socket);
  socket.on("disconnect", () => byId.delete(id));
  socket.on(EVENTS.send, (req: { from: string; envelopes: Outgoing[] }, ack: (res: unknown) => void) => {
    const ts = Date.now();
    ack({ ok: true, stored: req.envelopes.length, ts });
    const to = byId.get(req.envelopes[0]?.toDevice ?? "");
    to?.emit(EVENTS.deliver, { envelopes: req.envelopes.map((e) => ({ ...e, from: req.from, fromDevice: id, ts })) });
  });
  socket.on(EVENTS.ack, (req: { envelopes: unknown[] }, ack: (res: unknown) => void) => ack({ ok: true, deleted: req.envelopes.length }));
});

http.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening on http://localhost:${(http.address() as AddressInfo).port}\n`);
});
