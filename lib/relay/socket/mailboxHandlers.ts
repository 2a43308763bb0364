// mailbox:send, mailbox:ack, mailbox:fetch. Delivery pushes live in Connection.pump.
import type { Address } from "../../brands";
import { type EVENTS, fromB64, MAILBOX_QUOTA, MAX_DELIVERY_BYTES_IN_FLIGHT, MAX_ENVELOPES_PER_DELIVERY, ProtocolError } from "../../protocol";
import type { Envelope, OutgoingEnvelope } from "../../protocol/schemas";
import type { StaleDevices } from "../../protocol/errors";
import type { Connection } from "./connection";
import type { EnvelopeRecord, EnvelopeRef } from "../storage/types";
import { envelopeKey, toWireEnvelope } from "./connection";
import type { HandlerFn } from "./types";

/**
 * Sesame-style consistency: the envelopes to each account of the batch go to exactly its current devices
 * (for the sender's own account, all but the sending device, which may be named too), else `stale_devices` naming what is missing
 * and what is extra, per account. So a client with an old view of someone's devices learns it before any
 * device is left without the message, and a removed device gets nothing more.
 */
async function checkCoverage(conn: Connection, from: Address, fromDevice: string, envelopes: readonly OutgoingEnvelope[]): Promise<void> {
  const named = new Map<string, Set<string>>();
  for (const env of envelopes) {
    const devices = named.get(env.to) ?? new Set<string>();
    devices.add(env.toDevice);
    named.set(env.to, devices);
  }
  const stale: StaleDevices[] = [];
  for (const [address, devices] of named) {
    const account = await conn.ctx.store.getAccount(address as Address);
    if (!account) throw new ProtocolError("not_found", "unknown recipient");
    // my own account: every other device of mine; the sending device itself may be named or not
    const missing = account.deviceIds.filter((d) => !devices.has(d) && !(address === from && d === fromDevice));
    const extra = [...devices].filter((d) => !account.deviceIds.includes(d));
    if (missing.length || extra.length) stale.push({ address, missing, extra });
  }
  if (stale.length) throw new ProtocolError("stale_devices", "the envelopes do not cover the current devices", { devices: stale });
}

export const send: HandlerFn<typeof EVENTS.send> = async (conn, req) => {
  const from = req.from as Address;
  const fromDevice = conn.deviceOf(from);
  if (!fromDevice) throw new ProtocolError("unauthorized", "from is not an account of this connection");
  if (!req.subset) await checkCoverage(conn, from, fromDevice, req.envelopes);
  const ts = conn.ctx.now();
  const records: EnvelopeRecord[] = req.envelopes.map((env) => ({
    id: env.id,
    from,
    fromDevice,
    to: env.to as Address,
    toDevice: env.toDevice,
    body: fromB64(env.body),
    ts,
  }));
  // This sender's daily share of each recipient device's mailbox, in envelopes and bytes.
  const perRecipient = new Map<string, { count: number; bytes: number }>();
  for (const r of records) {
    const key = `${r.to}\n${r.toDevice}`;
    const share = perRecipient.get(key) ?? { count: 0, bytes: 0 };
    share.count++;
    share.bytes += r.body.length;
    perRecipient.set(key, share);
  }
  for (const [recipient, share] of perRecipient) {
    const pair = conn.ctx.limitKey("send", fromDevice, recipient);
    await conn.limit("sendPerPair", pair, share.count, "quota_exceeded");
    await conn.limit("sendBytesPerPair", pair, Math.max(1, share.bytes), "quota_exceeded");
  }
  const outcome = await conn.ctx.store.storeEnvelopes(records, { perDeviceEnvelopes: MAILBOX_QUOTA.envelopes, perDeviceBytes: MAILBOX_QUOTA.bytes });
  if (!outcome.ok) {
    if (outcome.reason === "quota_exceeded") throw new ProtocolError("quota_exceeded", "the recipient's mailbox is full", { retryAfterMs: 60 * 60 * 1000 });
    throw new ProtocolError("not_found", "unknown recipient device");
  }
  conn.ctx.log.debug("send", { conn: conn.id, envelopes: records.length, stored: outcome.stored });
  conn.ctx.metrics.envelopesAt("stored", outcome.stored);
  // Written durably above; the pushes follow the sender's ack.
  setImmediate(() => conn.ctx.hub.notify(outcome.deviceIds));
  return { stored: outcome.stored, ts };
};

export const ack: HandlerFn<typeof EVENTS.ack> = async (conn, req) => {
  // Each ref is deleted only from the mailbox of the device that holds its `to` on this connection:
  // another device's envelopes are never touched, and refs for anyone else's address are ignored.
  const byDevice = new Map<string, EnvelopeRef[]>();
  for (const ref of req.envelopes) {
    const deviceId = conn.deviceOf(ref.to);
    if (!deviceId) continue;
    const refs = byDevice.get(deviceId) ?? [];
    // with the sender's device, only that sender's envelope of the id goes (another may have picked it too)
    refs.push(ref.fromDevice === undefined ? { to: ref.to as Address, id: ref.id } : { to: ref.to as Address, id: ref.id, fromDevice: ref.fromDevice });
    byDevice.set(deviceId, refs);
  }
  let deleted = 0;
  for (const [deviceId, refs] of byDevice) {
    deleted += await conn.ctx.store.deleteEnvelopes(deviceId, refs);
    conn.ctx.hub.acked(deviceId, refs.map((r) => ({ key: envelopeKey(r.to, r.id), fromDevice: r.fromDevice })));
  }
  conn.ctx.log.debug("ack", { conn: conn.id, refs: req.envelopes.length, deleted });
  conn.ctx.metrics.envelopesAt("acked", deleted);
  if (deleted > 0) conn.ctx.scheduleScrub();
  return { deleted };
};

export const fetch: HandlerFn<typeof EVENTS.fetch> = async (conn, req) => {
  // A connection whose answers pile up unread gets no more of them.
  if (conn.backedUp()) throw new ProtocolError("rate_limited", "read what was sent first", { retryAfterMs: 1000 });
  const limit = req.limit ?? MAX_ENVELOPES_PER_DELIVERY;
  const out: Envelope[] = [];
  let bytes = MAX_DELIVERY_BYTES_IN_FLIGHT;
  let more = false;
  for (const deviceId of conn.deviceIds) {
    const room = limit - out.length;
    if (room <= 0 || bytes <= 0) {
      more = true;
      break;
    }
    const page = await conn.ctx.store.pendingEnvelopes(deviceId, 0, room, bytes);
    conn.handedOut(deviceId, page);
    for (const env of page) {
      bytes -= env.body.length;
      out.push(toWireEnvelope(env));
    }
    // cut by the count or by the byte budget: whether anything waits behind the page is asked apart
    const last = page[page.length - 1];
    if (last && (await conn.ctx.store.pendingEnvelopes(deviceId, last.seq, 1)).length > 0) more = true;
  }
  setImmediate(() => conn.pump());
  return { envelopes: out, more };
};
