// RPC methods that need only the database and public keys: every tab's worker can serve them,
// leader or not. A follower's queued message is picked up by the leader's outbox drain.
import { isAddressError, parseAddress, type Address } from "../brands";
import type { JunctionDB, MessageRow } from "../store/db";
import { StoreError } from "../store/conversations";
import { MAX_TEXT_CHARS, queueText } from "../store/outbox";
import { knownIdentity } from "../store/identities";
import { identityId } from "../store/ids";
import { EngineError } from "../worker/rpc";
import { safetyNumber } from "../crypto";
import { MAX_MENTIONS } from "./content/kinds/text";

export async function sendMessageLocal(
  db: JunctionDB,
  params: { conversationId: string; text: string; replyTo?: string; mentions?: string[] },
  now: number,
): Promise<{ messageId: string }> {
  if (typeof params.text !== "string" || params.text.trim().length === 0) throw new EngineError("bad_request", "message is empty");
  if (params.text.length > MAX_TEXT_CHARS) throw new EngineError("bad_request", `message is longer than ${MAX_TEXT_CHARS} characters`);
  const mentions = params.mentions?.length ? await mentionsOf(db, params.conversationId, params.mentions) : [];
  try {
    const message = await queueText(db, params.conversationId, params.text, now, {
      ...(params.replyTo !== undefined ? { replyTo: params.replyTo } : {}),
      ...(mentions.length ? { mentions } : {}),
    });
    return { messageId: message.id };
  } catch (error) {
    if (error instanceof StoreError) throw new EngineError("not_found", error.message, { cause: error });
    throw error;
  }
}

/** The members a message mentions: only in a group, only its members (not me), each once, at most MAX_MENTIONS. */
async function mentionsOf(db: JunctionDB, conversationId: string, asked: string[]): Promise<Address[]> {
  if (!Array.isArray(asked) || asked.length > MAX_MENTIONS) throw new EngineError("bad_request", `A message mentions at most ${MAX_MENTIONS} people.`);
  const conv = await db.conversations.get(conversationId);
  const group = conv?.groupId ? await db.groups.get(`${conv.ourAddress}|${conv.groupId}`) : undefined;
  if (!conv || !group) throw new EngineError("bad_request", "Only members of a group can be mentioned.");
  const out: Address[] = [];
  for (const a of asked) {
    const address = typeof a === "string" ? canonicalAddress(a) : undefined;
    if (!address || address === conv.ourAddress || !group.members.some((m) => m.address === address)) throw new EngineError("bad_request", "Only members of this group can be mentioned.");
    if (!out.includes(address)) out.push(address);
  }
  return out;
}

export async function safetyNumberLocal(db: JunctionDB, params: { conversationId: string }): Promise<{ digits: string; qr: Uint8Array; verified: boolean }> {
  const conv = await db.conversations.get(params.conversationId);
  if (!conv) throw new EngineError("not_found", "no such conversation");
  const account = await db.accounts.get(conv.ourAddress);
  const theirs = await knownIdentity(db, conv.ourAddress, conv.theirAddress);
  if (!account || !theirs) throw new EngineError("not_found", "their identity key is not known yet");
  const { digits, qr } = safetyNumber({
    ourIdentityKey: account.identityKey,
    ourAddress: conv.ourAddress,
    theirIdentityKey: theirs.identityKey,
    theirAddress: conv.theirAddress,
  });
  return { digits, qr, verified: theirs.verified };
}

export async function markVerifiedLocal(db: JunctionDB, params: { conversationId: string; verified: boolean }): Promise<null> {
  const conv = await db.conversations.get(params.conversationId);
  if (!conv) throw new EngineError("not_found", "no such conversation");
  await db.transaction("rw", db.identities, async () => {
    const row = await db.identities.get(identityId(conv.ourAddress, conv.theirAddress));
    if (!row) throw new EngineError("not_found", "their identity key is not known yet");
    // verifying (or explicitly un-verifying) is the person acknowledging the current key: the warning goes;
    // verifying the new key also says more than accepting it, so messages held for them may go
    await db.identities.put({
      ...row,
      verified: params.verified,
      changedAt: null,
      ...(params.verified && row.awaitingAcceptance ? { awaitingAcceptance: false } : {}),
    });
  });
  return null;
}

/**
 * Sends my failed message again. The message, its conversation's mirror of the state and the new outbox
 * row commit together: a reload in between shows it either still failed or queued and on its way.
 */
export async function retryMessageLocal(db: JunctionDB, params: { conversationId: string; messageId: string }, now: number): Promise<null> {
  await db.transaction("rw", [db.messages, db.conversations, db.outbox, db.transfers], async () => {
    const msg = await db.messages.get(params.messageId);
    if (!msg || msg.conversationId !== params.conversationId) throw new EngineError("not_found", "no such message in this conversation");
    if (msg.direction !== "out") throw new EngineError("bad_request", "only my own messages can be sent again");
    if (msg.state !== "failed") throw new EngineError("bad_request", "only a message that was not sent can be sent again");
    // the reason belonged to the failed attempt
    const { error: _reason, ...rest } = msg;
    const queued: MessageRow = { ...rest, state: "queued", sentToRelayAt: null, deliveredAt: null };
    await db.messages.put(queued);
    const conv = await db.conversations.get(msg.conversationId);
    if (conv && conv.lastMessageId === msg.id) await db.conversations.put({ ...conv, lastState: "queued" });
    // a leftover row for the same message (there should be none once it failed) must not send it twice
    await db.outbox.where("messageId").equals(msg.id).filter((row) => row.kind === "message").delete();
    await db.outbox.add({ kind: "message", conversationId: msg.conversationId, messageId: msg.id, createdAt: now, attempts: 0 });
    // an attachment whose upload failed: it resumes from what the relay holds
    const transfer = await db.transfers.get(msg.id);
    if (transfer?.state === "failed") await db.transfers.put({ ...transfer, state: "uploading", error: undefined });
  });
  return null;
}

/**
 * The person accepts a verified contact's new identity key: what the engine held for them may go.
 * Accepting is not verifying: `verified` stays false until the numbers are compared again.
 */
export async function acceptIdentityLocal(db: JunctionDB, params: { conversationId: string }): Promise<null> {
  const conv = await db.conversations.get(params.conversationId);
  if (!conv) throw new EngineError("not_found", "no such conversation");
  await db.transaction("rw", db.identities, async () => {
    const row = await db.identities.get(identityId(conv.ourAddress, conv.theirAddress));
    if (!row) throw new EngineError("not_found", "their identity key is not known yet");
    await db.identities.put({ ...row, awaitingAcceptance: false, changedAt: null });
  });
  return null;
}

/** Canonical form of a typed address, or the brand's rule as a bad_handle error. */
export function canonicalAddress(input: string): Address {
  const parsed = parseAddress(input);
  if (isAddressError(parsed)) throw new EngineError("bad_handle", parsed.message);
  return parsed.address;
}
