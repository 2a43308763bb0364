// RPC methods that need only the database and public keys: every tab's worker can serve them,
// leader or not. A follower's queued message is picked up by the leader's outbox drain.
import { isAddressError, parseAddress, type Address } from "../brands";
import type { JunctionDB } from "../store/db";
import { markConversationRead, StoreError } from "../store/conversations";
import { MAX_TEXT_CHARS, queueText } from "../store/outbox";
import { knownIdentity } from "../store/identities";
import { identityId } from "../store/ids";
import { EngineError } from "../worker/rpc";
import { safetyNumber } from "../crypto";

export async function sendMessageLocal(db: JunctionDB, params: { conversationId: string; text: string }, now: number): Promise<{ messageId: string }> {
  if (typeof params.text !== "string" || params.text.trim().length === 0) throw new EngineError("bad_request", "message is empty");
  if (params.text.length > MAX_TEXT_CHARS) throw new EngineError("bad_request", `message is longer than ${MAX_TEXT_CHARS} characters`);
  try {
    const message = await queueText(db, params.conversationId, params.text, now);
    return { messageId: message.id };
  } catch (error) {
    if (error instanceof StoreError) throw new EngineError("not_found", error.message, { cause: error });
    throw error;
  }
}

export async function markReadLocal(db: JunctionDB, params: { conversationId: string }): Promise<null> {
  try {
    await markConversationRead(db, params.conversationId);
  } catch (error) {
    if (error instanceof StoreError) throw new EngineError("not_found", error.message, { cause: error });
    throw error;
  }
  return null;
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
    // verifying (or explicitly un-verifying) is the person acknowledging the current key: the warning goes
    await db.identities.put({ ...row, verified: params.verified, changedAt: null });
  });
  return null;
}

/** Canonical form of a typed address, or the brand's rule as a bad_handle error. */
export function canonicalAddress(input: string): Address {
  const parsed = parseAddress(input);
  if (isAddressError(parsed)) throw new EngineError("bad_handle", parsed.message);
  return parsed.address;
}
