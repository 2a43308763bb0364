// mailbox:send, mailbox:ack, mailbox:fetch. Delivery pushes live in Connection.pump.
import type { Address } from "../../brands";
import { type EVENTS, fromB64, MAX_ENVELOPES_PER_DELIVERY, ProtocolError } from "../../protocol";
import type { EnvelopeRecord } from "../storage/types";
import { envelopeKey, toWireEnvelope } from "./connection";
import type { HandlerFn } from "./types";

export const send: HandlerFn<typeof EVENTS.send> = async (conn, req) => {
  const from = req.from as Address;
  if (!conn.deviceId || !conn.accounts.has(from)) throw new ProtocolError("unauthorized", "from is not an account of this connection");
  const ts = conn.ctx.now();
  const records: EnvelopeRecord[] = req.envelopes.map((env) => ({
    id: env.id,
    from,
    fromDevice: conn.deviceId as string,
    to: env.to as Address,
    toDevice: env.toDevice,
    body: fromB64(env.body),
    ts,
  }));
  const outcome = await conn.ctx.store.storeEnvelopes(records);
  if (!outcome.ok) throw new ProtocolError("not_found", `unknown recipient device of ${outcome.unknown.to}`);
  conn.ctx.log.info("send", { conn: conn.id, device: conn.deviceId, envelopes: records.length, stored: outcome.stored });
  // Written durably above; the pushes follow the sender's ack.
  setImmediate(() => conn.ctx.hub.notify(outcome.deviceIds));
  return { stored: outcome.stored, ts };
};

export const ack: HandlerFn<typeof EVENTS.ack> = async (conn, req) => {
  const deviceId = conn.deviceId;
  if (!deviceId) throw new ProtocolError("unauthorized", "log in first");
  // Filtered by the caller's device in the store: another device's envelopes are never touched.
  const refs = req.envelopes.map((r) => ({ to: r.to as Address, id: r.id }));
  const deleted = await conn.ctx.store.deleteEnvelopes(deviceId, refs);
  conn.ctx.log.info("ack", { conn: conn.id, device: deviceId, refs: refs.length, deleted });
  if (deleted > 0) conn.ctx.scheduleScrub();
  conn.ctx.hub.acked(deviceId, refs.map((r) => envelopeKey(r.to, r.id)));
  return { deleted };
};

export const fetch: HandlerFn<typeof EVENTS.fetch> = async (conn, req) => {
  const deviceId = conn.deviceId;
  if (!deviceId) throw new ProtocolError("unauthorized", "log in first");
  const limit = req.limit ?? MAX_ENVELOPES_PER_DELIVERY;
  const rows = await conn.ctx.store.pendingEnvelopes(deviceId, 0, limit + 1);
  const page = rows.slice(0, limit);
  conn.handedOut(page);
  setImmediate(() => conn.pump());
  return { envelopes: page.map(toWireEnvelope), more: rows.length > limit };
};
