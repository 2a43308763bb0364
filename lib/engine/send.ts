// Sending one outbox row: encrypt for every device of the peer (and, for my own messages, every other
// device of my account), persist the advanced ratchet states together with the sent log, one mailbox:send,
// then mark the message sent and drop the outbox row. Envelope ids are derived from the message id and the
// device, so a resend after a crash is stored once by the relay.
//
// Each outcome tells the drain what to do with the row's conversation (every conversation is its own queue):
// sent / failed → the row is done; retry → the row waits (backoff) and holds only its conversation;
// held → the person must act first (a verified contact's new safety number); uploading → the row waits for its
// attachment's upload and holds nothing; offline → stop draining.
import { EVENTS, ProtocolError, toB64, type Address, type schemas } from "./deps";
import type { ConversationRow, OutboxRow, SentRow, SessionRow } from "../store/db";
import { randomId, SELF_QUEUE_PREFIX } from "../store/ids";
import { sessionRow } from "../store/sessions";
import { advanceState } from "../store/conversations";
import { encrypt, serializeSession, CryptoError } from "../crypto";
import { MAX_ENVELOPES_PER_SEND } from "../protocol/limits";
import type { EngineContext } from "./context";
import { IdentityHeldError, type DeviceDirectory } from "./directory";
import { DeviceListRefusedError } from "./deviceLists";
import { encodeContent, parseContent, CONTENT_VERSION, type KnownContent } from "./content/envelope";
import { envelopeId } from "./envelopes";
import { encodeDecryptionError } from "./recovery";
import { OfflineError, request } from "./relay";
import { attachmentFields } from "./attachments/content";
import { groupEnvelopes } from "./groups/service";

export type SendOutcome = "sent" | "failed" | "retry" | "held" | "uploading" | "offline";

/** Sends of one row the relay may refuse as `stale_devices` (each after fetching the devices again) before it shows "Not sent". */
export const MAX_STALE_ROUNDS = 3;
/** Attempts before a message shows "Not sent" (its Retry button queues it again). */
export const MAX_SEND_ATTEMPTS = 6;
/** Backoff after the n-th transient failure of a row. */
export const SEND_BACKOFF_MS = [2_000, 5_000, 15_000, 30_000, 60_000, 120_000];

interface Target {
  address: Address;
  content: KnownContent;
  /** Only this device of `address` (a resend). */
  device?: string;
}

/** Sends one outbox row. */
export async function sendOutboxRow(
  ctx: EngineContext,
  directory: DeviceDirectory,
  myDeviceOf: (address: Address) => string | undefined,
  row: OutboxRow,
): Promise<SendOutcome> {
  const { db } = ctx;
  if (row.kind === "retryRequest") return sendRetryRequest(ctx, row);
  // the queue of my own other devices has no conversation row: it stands for my account talking to itself
  const own = ownQueueAddress(row.conversationId);
  const conv: Pick<ConversationRow, "id" | "ourAddress" | "theirAddress" | "groupId"> | undefined = own
    ? { id: row.conversationId, ourAddress: own, theirAddress: own }
    : await db.conversations.get(row.conversationId);
  const account = conv ? await db.accounts.get(conv.ourAddress) : undefined;
  if (!conv || !account || (own && row.kind !== "retryReply" && row.kind !== "sync") || (!own && row.kind === "sync")) return finish(ctx, row, "failed");

  const targets: Target[] = [];
  const msg = row.kind === "message" ? await db.messages.get(row.messageId) : undefined;
  if (row.kind === "message" && row.retryOf && row.onlyDevice && (!msg || msg.deletedAt !== undefined || (msg.expiresAt !== undefined && msg.expiresAt <= ctx.now()))) {
    // asked again for a message that is gone (deleted, or disappeared): it is never sent again; the
    // device that asked is told it is unavailable, so its placeholder stops waiting
    targets.push({
      address: row.onlyDevice.address,
      device: row.onlyDevice.deviceId,
      content: { v: CONTENT_VERSION, type: "retryReply", notMessages: [], unavailable: [row.retryOf] },
    });
  } else if (row.kind === "message") {
    if (!msg || msg.direction !== "out" || (msg.kind !== undefined && msg.kind !== "text" && msg.kind !== "attachment")) return finish(ctx, row, "failed");
    // deleted for everyone before it went (or before a resend): there is nothing left to send
    if (msg.deletedAt !== undefined) {
      if (row.seq !== undefined) await db.outbox.delete(row.seq);
      return "sent";
    }
    const timer = msg.expiresAt !== undefined ? msg.expiresAt - msg.sentAt : 0;
    let body: { type: "text"; text: string } | ({ type: "attachment" } & NonNullable<ReturnType<typeof attachmentFields>>) = { type: "text", text: msg.text };
    if (msg.kind === "attachment") {
      const keys = await db.attachmentKeys.get(msg.id);
      if (!keys) return finish(ctx, row, "failed", "its file is no longer here");
      const fields = attachmentFields(msg, keys);
      // its file is still on the way to the relay: the message waits, holding nothing (what I send after
      // it goes at once; its place in the timeline is its sentAt); the transfer runner pokes the outbox
      // when the upload is done
      if (!fields) return "uploading";
      body = { type: "attachment", ...fields };
    }
    const text = {
      v: CONTENT_VERSION,
      id: msg.id,
      sentAt: msg.sentAt,
      ...body,
      senderName: account.displayName,
      ...(msg.replyTo ? { replyTo: { id: msg.replyTo.id, author: msg.replyTo.author, text: msg.replyTo.text } } : {}),
      ...(timer > 0 ? { expiresInMs: timer } : {}),
      ...(msg.kind !== "attachment" && msg.mentions?.length ? { mentions: msg.mentions } : {}),
      ...(row.retryOf ? { retryOf: row.retryOf } : {}),
    } as const;
    const only = row.onlyDevice;
    if (!only || only.address === conv.theirAddress) targets.push({ address: conv.theirAddress, content: text, device: only?.deviceId });
    if (conv.theirAddress !== conv.ourAddress && (!only || only.address === conv.ourAddress)) {
      targets.push({ address: conv.ourAddress, content: { ...text, to: conv.theirAddress }, device: only?.deviceId });
    }
  } else if (row.kind === "change") {
    // built and checked when it was made; read back leniently like anything else
    const content = parseContent(row.change ?? "");
    if (content.type !== "reaction" && content.type !== "edit" && content.type !== "delete" && content.type !== "timer") return finish(ctx, row, "failed");
    const only = row.onlyDevice;
    const change = {
      ...content,
      // a timer line may be the first thing they get from me: it names me, as a text does
      ...(content.type === "timer" ? { senderName: account.displayName } : {}),
      ...(row.retryOf ? { retryOf: row.retryOf } : {}),
    };
    if (!only || only.address === conv.theirAddress) targets.push({ address: conv.theirAddress, content: change, device: only?.deviceId });
    if (conv.theirAddress !== conv.ourAddress && (!only || only.address === conv.ourAddress)) {
      targets.push({ address: conv.ourAddress, content: { ...change, to: conv.theirAddress }, device: only?.deviceId });
    }
  } else if (row.kind === "group") {
    // membership changes over the pairwise sessions, to the members the row names (and my other devices)
    const g = row.group;
    if (!g) return finish(ctx, row, "failed");
    const update = { v: CONTENT_VERSION, type: "groupUpdate", id: row.messageId, sentAt: row.createdAt, groupId: g.groupId, changes: g.changes, senderName: account.displayName, ...(g.names ? { names: g.names } : {}) } as const;
    for (const address of g.to) targets.push({ address, content: update });
  } else if (row.kind === "senderKey") {
    // my sender key again, as that device first got it, over our pairwise session (it asked: a message came first)
    const only = row.onlyDevice;
    const d = row.distribution;
    if (!only || !d) return finish(ctx, row, "failed");
    targets.push({
      address: only.address,
      device: only.deviceId,
      content: { v: CONTENT_VERSION, type: "senderKey", id: row.messageId, sentAt: row.createdAt, groupId: d.groupId, distribution: d.distribution, ...(row.retryOf ? { retryOf: row.retryOf } : {}) },
    });
  } else if (row.kind === "sync") {
    // to my own other devices only (built and checked when it was queued)
    const content = parseContent(row.change ?? "");
    if (content.type !== "sync") return finish(ctx, row, "failed");
    targets.push({ address: conv.ourAddress, content: { ...content, ...(row.retryOf ? { retryOf: row.retryOf } : {}) }, device: row.onlyDevice?.deviceId });
  } else if (row.kind === "retryReply") {
    const only = row.onlyDevice;
    if (!only) return finish(ctx, row, "failed");
    targets.push({
      address: only.address,
      device: only.deviceId,
      content: { v: CONTENT_VERSION, type: "retryReply", notMessages: row.envelopeIds ?? [], unavailable: row.unavailable ?? [] },
    });
  } else {
    if (!row.receiptFor?.length) return finish(ctx, row, "failed");
    const kind = row.receiptKind ?? "delivered";
    const receipt = { v: CONTENT_VERSION, type: "receipt", kind, ids: row.receiptFor, ...(kind !== "delivered" && row.readAt !== undefined ? { at: row.readAt } : {}) } as const;
    if (conv.groupId) {
      // in a group: to the author of the messages alone, over our pairwise session, naming the group
      if (row.receiptTo && row.receiptTo !== conv.ourAddress) targets.push({ address: row.receiptTo, content: { ...receipt, groupId: conv.groupId } });
      else return finish(ctx, row, "sent");
    } else {
      targets.push({ address: conv.theirAddress, content: receipt });
      // what I read here is read on my other devices too
      if (kind === "read" && conv.theirAddress !== conv.ourAddress) targets.push({ address: conv.ourAddress, content: { ...receipt, to: conv.theirAddress } });
    }
  }

  // a group's message or change: encrypted once with my sender key, the same body to every member device
  if (conv.groupId && (row.kind === "message" || row.kind === "change")) {
    if (row.onlyDevice || !targets[0]) return finish(ctx, row, "sent");
    return sendToGroup(ctx, directory, myDeviceOf, row, conv, targets[0].content);
  }

  // encrypted for the devices as I know them; a send the relay refuses as stale is encrypted again
  const encryptAll = () =>
    ctx.sessions.run(async () => {
      const out: schemas.OutgoingEnvelope[] = [];
      const rows: SessionRow[] = [];
      const sent: SentRow[] = [];
      const now = ctx.now();
      for (const target of targets) {
        const states = await directory.sessionsFor(conv.ourAddress, target.address, {
          skipDevice: target.address === conv.ourAddress ? myDeviceOf(conv.ourAddress) : undefined,
          onlyDevice: target.device,
        });
        const plaintext = encodeContent(target.content);
        for (const [device, state] of states) {
          const sealed = await encrypt(state, plaintext);
          rows.push(sessionRow(conv.ourAddress, target.address, device, serializeSession(sealed.state), now));
          const id = envelopeId(row.messageId, target.address, device, row.retryOf);
          out.push({ id, to: target.address, toDevice: device, body: toB64(sealed.ciphertext) });
          if (row.kind === "message" || row.kind === "receipt" || row.kind === "change" || row.kind === "sync") {
            sent.push({
              envelopeId: id,
              messageId: row.messageId,
              ...(row.kind === "receipt" ? { kind: "receipt" as const } : {}),
              ...(row.kind === "change" ? { kind: "change" as const, change: row.change, target: row.target } : {}),
              ...(row.kind === "sync" ? { kind: "sync" as const, change: row.change } : {}),
              conversationId: conv.id,
              to: target.address,
              toDevice: device,
              sentAt: now,
            });
          }
        }
      }
      // the advanced states are stored before the send: a message key is never used twice; and what was
      // sent to which device is logged first, so a decryption-error request for it can always be answered
      await db.transaction("rw", [db.sessions, db.sentLog], async () => {
        await db.sessions.bulkPut(rows);
        if (sent.length) await db.sentLog.bulkPut(sent);
      });
      return out;
    });

  for (let round = 1; ; round++) {
    let envelopes: schemas.OutgoingEnvelope[];
    try {
      envelopes = await encryptAll();
    } catch (error) {
      return classify(ctx, row, error);
    }
    if (row.onlyDevice) {
      // a resend to a device that is gone: nothing to do
      if (envelopes.length === 0) return finish(ctx, row, "sent");
    } else if ((row.kind === "message" || row.kind === "change") && !envelopes.some((e) => e.to === conv.theirAddress)) {
      // my message with no device to go to (the peer has none): nothing the relay could store
      return finish(ctx, row, "failed", "they have no device to receive it");
    }

    // a resend goes to chosen devices on purpose; anything else must reach every current device
    const sent = await relaySend(ctx, conv, envelopes, Boolean(row.onlyDevice));
    if (sent === "sent") return finish(ctx, row, "sent");
    if (sent instanceof ProtocolError && sent.code === "not_found") directory.invalidate(conv.theirAddress);
    if (!(sent instanceof ProtocolError && sent.code === "stale_devices")) return classify(ctx, row, sent);
    // the relay knows other devices than I do: fetch the lists and bundles again and encrypt anew (nothing was stored)
    ctx.counters.bump("stale_devices");
    for (const target of targets) directory.invalidate(target.address);
    if (round >= MAX_STALE_ROUNDS) {
      // the relay names devices the accounts' lists do not (or leaves out ones they do): it is not sent
      ctx.log.warn("send gave up on stale devices", { kind: row.kind, rounds: round });
      return finish(ctx, row, "failed", "their devices could not be checked");
    }
  }
}

async function sendToGroup(
  ctx: EngineContext,
  directory: DeviceDirectory,
  myDeviceOf: (address: Address) => string | undefined,
  row: OutboxRow,
  conv: Pick<ConversationRow, "ourAddress" | "groupId">,
  content: KnownContent,
): Promise<SendOutcome> {
  const myDevice = myDeviceOf(conv.ourAddress);
  if (!myDevice) return "offline";
  for (let round = 1; ; round++) {
    let send: Awaited<ReturnType<typeof groupEnvelopes>>;
    try {
      send = await ctx.sessions.run(async () => {
        const rows: SessionRow[] = [];
        const now = ctx.now();
        return groupEnvelopes(
          ctx,
          directory,
          conv,
          myDevice,
          row.messageId,
          content,
          async (our, their, device, state, plaintext) => {
            const sealed = await encrypt(state, plaintext);
            rows.push(sessionRow(our, their, device, serializeSession(sealed.state), now));
            return toB64(sealed.ciphertext);
          },
          () => (rows.length ? ctx.db.sessions.bulkPut(rows) : Promise.resolve()),
        );
      });
    } catch (error) {
      return classify(ctx, row, error);
    }
    if (send === "left") return finish(ctx, row, "failed", "you are no longer in this group");
    const sent = await relaySend(ctx, conv, send.envelopes, false);
    if (sent === "sent") {
      await send.sent();
      return finish(ctx, row, "sent");
    }
    if (!(sent instanceof ProtocolError && sent.code === "stale_devices")) return classify(ctx, row, sent);
    // a member has other devices than I know: their lists and bundles again, and the same body anew
    ctx.counters.bump("stale_devices");
    for (const address of new Set(send.envelopes.map((e) => e.to))) directory.invalidate(address as Address);
    if (round >= MAX_STALE_ROUNDS) {
      ctx.log.warn("group send gave up on stale devices", { rounds: round });
      return finish(ctx, row, "failed", "their devices could not be checked");
    }
  }
}

async function relaySend(ctx: EngineContext, conv: Pick<ConversationRow, "ourAddress">, envelopes: schemas.OutgoingEnvelope[], subset: boolean): Promise<"sent" | unknown> {
  try {
    for (let i = 0; i < envelopes.length; i += MAX_ENVELOPES_PER_SEND) {
      await request(ctx.socket(), EVENTS.send, { from: conv.ourAddress, envelopes: envelopes.slice(i, i + MAX_ENVELOPES_PER_SEND), ...(subset ? { subset: true as const } : {}) });
    }
    return "sent";
  } catch (error) {
    return error;
  }
}

function ownQueueAddress(queue: string): Address | undefined {
  return queue.startsWith(SELF_QUEUE_PREFIX) ? (queue.slice(SELF_QUEUE_PREFIX.length) as Address) : undefined;
}

/** A decryption-error request: a plaintext frame to one device, needing no session (the session is what failed). */
async function sendRetryRequest(ctx: EngineContext, row: OutboxRow): Promise<SendOutcome> {
  const target = row.onlyDevice;
  const ours = ownQueueAddress(row.conversationId) ?? row.conversationId.slice(0, row.conversationId.indexOf("|"));
  if (!target || !(row.envelopeIds?.length || row.senderKeys?.length) || !(await ctx.db.accounts.get(ours as Address))) return finish(ctx, row, "failed");
  const body = toB64(encodeDecryptionError(row.envelopeIds ?? [], row.senderKeys ?? []));
  const sent = await relaySend(ctx, { ourAddress: ours as Address }, [{ id: randomId(18), to: target.address, toDevice: target.deviceId, body }], true);
  if (sent === "sent") return finish(ctx, row, "sent");
  // the device is gone: there is no one left to ask
  if (sent instanceof ProtocolError && sent.code === "not_found") return finish(ctx, row, "failed");
  return classify(ctx, row, sent);
}

async function classify(ctx: EngineContext, row: OutboxRow, error: unknown): Promise<SendOutcome> {
  if (error instanceof OfflineError) return "offline";
  if (error instanceof IdentityHeldError) return "held";
  // a device that vanished between lookup and send: the directory is refreshed and the next try fixes it
  const reason = error instanceof ProtocolError && error.code === "not_found" && row.attempts < 1 ? null : failureReason(error);
  if (reason === null) {
    // transient: the row waits and holds only its own conversation
    const attempts = row.attempts + 1;
    if (attempts >= MAX_SEND_ATTEMPTS) {
      ctx.counters.bump("send_gave_up");
      ctx.log.warn("send gave up", { kind: row.kind, attempts, error: errorName(error) });
      const full = error instanceof ProtocolError && error.code === "quota_exceeded";
      return finish(ctx, row, "failed", full ? "their mailbox is full" : "the relay kept refusing it");
    }
    ctx.counters.bump("send_retry");
    ctx.log.info("send will be retried", { kind: row.kind, attempts, error: errorName(error) });
    // the relay may say when a retry can succeed (a limit or a full mailbox): never earlier than that
    const backoff = Math.max(SEND_BACKOFF_MS[Math.min(attempts - 1, SEND_BACKOFF_MS.length - 1)] ?? 0, error instanceof ProtocolError ? (error.retryAfterMs ?? 0) : 0);
    if (row.seq !== undefined) await ctx.db.outbox.update(row.seq, { attempts, notBefore: ctx.now() + backoff });
    return "retry";
  }
  ctx.counters.bump("send_failed");
  ctx.log.warn("send failed", { kind: row.kind, error: errorName(error) });
  return finish(ctx, row, "failed", reason);
}

/** A reason a person can act on for a permanent failure, or null when trying again may work. */
function failureReason(error: unknown): string | null {
  if (error instanceof CryptoError) {
    if (error.code === "downgrade") return "their keys lack the post-quantum part, so the relay may have tampered with them";
    if (error.code === "bad_signature") return "their keys could not be verified";
    return "their keys could not be used";
  }
  if (error instanceof DeviceListRefusedError) {
    return error.why === "older" ? "the relay served an older list of their devices" : "their list of devices could not be verified";
  }
  if (error instanceof ProtocolError) {
    if (error.code === "not_found") return "this address no longer exists";
    if (error.code === "too_large") return "the message is too large";
    if (error.code === "bad_request") return "the relay refused it";
  }
  return null;
}

function errorName(error: unknown): string {
  if (error instanceof CryptoError || error instanceof ProtocolError) return error.code;
  return error instanceof Error ? error.name : "unknown";
}

async function finish(ctx: EngineContext, row: OutboxRow, outcome: "sent" | "failed", reason?: string): Promise<SendOutcome> {
  const { db } = ctx;
  await db.transaction("rw", [db.messages, db.conversations, db.outbox], async () => {
    // a resend (to one device) does not change what the message shows: it was sent before
    if (row.kind === "message" && !row.onlyDevice) {
      await advanceState(db, row.messageId, row.conversationId, outcome, ctx.now());
      if (outcome === "failed" && reason) await db.messages.update(row.messageId, { error: reason });
    }
    if (row.seq !== undefined) await db.outbox.delete(row.seq);
  });
  return outcome;
}
