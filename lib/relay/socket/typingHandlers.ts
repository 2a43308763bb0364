// typing:send — an encrypted typing signal per device of the peer, pushed to the live connections of
// those devices only. Nothing is stored (no mailbox row, no ledger entry, no log line naming anyone); the
// answer lists the devices that were reached, so a sender stops typing to a peer who is not there.
import type { Address } from "../../brands";
import { type EVENTS, ProtocolError } from "../../protocol";
import type { TypingDeliver } from "../../protocol/schemas";
import type { HandlerFn } from "./types";

export const typing: HandlerFn<typeof EVENTS.typing> = async (conn, req) => {
  const from = req.from as Address;
  const fromDevice = conn.deviceOf(from);
  if (!fromDevice) throw new ProtocolError("unauthorized", "from is not an account of this connection");
  await conn.limit("typingPerDevice", conn.ctx.limitKey("typing", fromDevice));
  const signals: TypingDeliver[] = req.signals.map((s) => ({ from, fromDevice, to: s.to, toDevice: s.toDevice, body: s.body }));
  const reached = await conn.ctx.signals.push(signals);
  conn.ctx.log.debug("typing", { conn: conn.id, signals: signals.length, reached: reached.length });
  return { reached };
};
