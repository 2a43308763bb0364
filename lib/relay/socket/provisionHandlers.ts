// provision:listen and provision:send — the short-lived channel over which a new device is linked (issue
// "Linked devices"). The new device picks a random channel id, shows it in its link code and listens;
// the primary, given the code, listens on the same channel and the two exchange sealed messages
// (lib/crypto/devices.ts: only the code's key opens them). The relay pushes each message to the other
// connections on the channel, on every node (a socket.io room), and stores nothing: a message for a
// channel no one else listens on is gone. Neither side needs to be logged in; both spend the per-address
// `provisionPerIp` share. The room is named by a keyed hash, so neither Redis nor a log sees the id.
import { type EVENTS, PROVISIONING_LISTEN_MS } from "../../protocol";
import type { Connection } from "./connection";
import type { HandlerFn } from "./types";

interface Listening {
  room: string;
  timer: ReturnType<typeof setTimeout>;
}

function roomOf(conn: Connection, channel: string): string {
  return `prov:${conn.ctx.limitKey("provision", channel)}`;
}

export const provisionListen: HandlerFn<typeof EVENTS.provisionListen> = async (conn, req) => {
  await conn.limit("provisionPerIp", conn.ctx.limitKey("ip", conn.clientKey));
  const data = conn.socket.data as { provisioning?: Listening };
  // one channel per connection at a time, for at most PROVISIONING_LISTEN_MS
  if (data.provisioning) {
    clearTimeout(data.provisioning.timer);
    await conn.socket.leave(data.provisioning.room);
  }
  const room = roomOf(conn, req.channel);
  await conn.socket.join(room);
  const timer = setTimeout(() => {
    void conn.socket.leave(room);
    if (data.provisioning?.room === room) delete data.provisioning;
  }, PROVISIONING_LISTEN_MS);
  timer.unref();
  data.provisioning = { room, timer };
  conn.socket.once("disconnect", () => clearTimeout(timer));
  return { expiresInMs: PROVISIONING_LISTEN_MS };
};

export const provisionSend: HandlerFn<typeof EVENTS.provisionSend> = async (conn, req) => {
  await conn.limit("provisionPerIp", conn.ctx.limitKey("ip", conn.clientKey));
  // to the others on the channel (this connection need not listen on it), never back to the sender
  conn.socket.to(roomOf(conn, req.channel)).emit("provision:deliver", { channel: req.channel, body: req.body });
  return {};
};
