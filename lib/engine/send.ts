// Draining the outbox, strictly in order: encrypt for every device of the peer (and, for my own
// messages, every other device of my account), persist the advanced ratchet states, one mailbox:send,
// then mark the message sent and drop the outbox row. Envelope ids are derived from the message id
// and the device, so a resend after a crash is stored once by the relay.
import { sha256 } from "@noble/hashes/sha2.js";
import { EVENTS, ProtocolError, toB64, type Address, type schemas } from "./deps";
import type { OutboxRow } from "../store/db";
import { sessionRow } from "../store/sessions";
import { advanceState } from "../store/conversations";
import { encrypt, serializeSession, CryptoError } from "../crypto";
import { MAX_ENVELOPES_PER_SEND } from "../protocol/limits";
import type { EngineContext } from "./context";
import type { DeviceDirectory } from "./directory";
import { encodePayload, PAYLOAD_VERSION, type Payload } from "./payload";
import { OfflineError, request } from "./relay";

export function envelopeId(messageId: string, to: string, toDevice: string): string {
  return toB64(sha256(new TextEncoder().encode(`junction/envelope/v1\0${messageId}\0${to}\0${toDevice}`)).subarray(0, 18));
}

export type SendOutcome = "sent" | "failed" | "retry";

interface Target {
  address: Address;
  payload: Payload;
}

/** Sends one outbox row. "retry" leaves it queued (offline, rate-limited); the caller stops draining. */
export async function sendOutboxRow(ctx: EngineContext, directory: DeviceDirectory, myDeviceId: string, row: OutboxRow): Promise<SendOutcome> {
  const { db } = ctx;
  const conv = await db.conversations.get(row.conversationId);
  const account = conv ? await db.accounts.get(conv.ourAddress) : undefined;
  if (!conv || !account) return finish(ctx, row, "failed");

  const targets: Target[] = [];
  if (row.kind === "message") {
    const msg = await db.messages.get(row.messageId);
    if (!msg) return finish(ctx, row, "failed");
    const text = { v: PAYLOAD_VERSION, type: "text", id: msg.id, sentAt: msg.sentAt, text: msg.text, senderName: account.displayName } as const;
    targets.push({ address: conv.theirAddress, payload: text });
    if (conv.theirAddress !== conv.ourAddress) targets.push({ address: conv.ourAddress, payload: { ...text, to: conv.theirAddress } });
  } else {
    if (!row.receiptFor?.length) return finish(ctx, row, "failed");
    targets.push({ address: conv.theirAddress, payload: { v: PAYLOAD_VERSION, type: "receipt", kind: "delivered", ids: row.receiptFor } });
  }

  let envelopes: schemas.OutgoingEnvelope[];
  try {
    envelopes = await ctx.sessions.run(async () => {
      const out: schemas.OutgoingEnvelope[] = [];
      const rows = [];
      const now = ctx.now();
      for (const target of targets) {
        const states = await directory.sessionsFor(conv.ourAddress, target.address, target.address === conv.ourAddress ? myDeviceId : undefined);
        const plaintext = encodePayload(target.payload);
        for (const [device, state] of states) {
          const sealed = await encrypt(state, plaintext);
          rows.push(sessionRow(conv.ourAddress, target.address, device, serializeSession(sealed.state), now));
          out.push({ id: envelopeId(row.messageId, target.address, device), to: target.address, toDevice: device, body: toB64(sealed.ciphertext) });
        }
      }
      // the advanced states are stored before the send: a message key is never used twice
      await db.sessions.bulkPut(rows);
      return out;
    });
  } catch (error) {
    return classify(ctx, row, error);
  }
  // my message with no device to go to (the peer has none): nothing the relay could store
  if (!envelopes.some((e) => e.to === conv.theirAddress)) return finish(ctx, row, "failed");

  try {
    for (let i = 0; i < envelopes.length; i += MAX_ENVELOPES_PER_SEND) {
      await request(ctx.socket(), EVENTS.send, { from: conv.ourAddress, envelopes: envelopes.slice(i, i + MAX_ENVELOPES_PER_SEND) });
    }
  } catch (error) {
    if (error instanceof ProtocolError && error.code === "not_found") directory.invalidate(conv.theirAddress);
    return classify(ctx, row, error);
  }
  return finish(ctx, row, "sent");
}

async function classify(ctx: EngineContext, row: OutboxRow, error: unknown): Promise<SendOutcome> {
  if (error instanceof OfflineError) return "retry";
  if (error instanceof ProtocolError && (error.code === "rate_limited" || error.code === "internal" || error.code === "unavailable" || error.code === "unauthorized")) {
    await bumpAttempts(ctx, row);
    return "retry";
  }
  if (error instanceof ProtocolError && error.code === "not_found" && row.attempts < 2) {
    // a device that vanished between lookup and send: refresh the device list and try again
    await bumpAttempts(ctx, row);
    return "retry";
  }
  ctx.counters.bump("send_failed");
  ctx.log.warn("send failed", { kind: row.kind, error: error instanceof CryptoError ? error.code : error instanceof Error ? error.name : "unknown" });
  return finish(ctx, row, "failed");
}

async function bumpAttempts(ctx: EngineContext, row: OutboxRow): Promise<void> {
  if (row.seq !== undefined) await ctx.db.outbox.update(row.seq, { attempts: row.attempts + 1 });
}

async function finish(ctx: EngineContext, row: OutboxRow, outcome: "sent" | "failed"): Promise<SendOutcome> {
  const { db } = ctx;
  await db.transaction("rw", [db.messages, db.conversations, db.outbox], async () => {
    if (row.kind === "message") await advanceState(db, row.messageId, row.conversationId, outcome, ctx.now());
    if (row.seq !== undefined) await db.outbox.delete(row.seq);
  });
  return outcome;
}
