"use client";
// What a person can ask the engine to do, and the words shown when it refuses.
import type { Address, BrandId } from "../brands";
import type { Settings } from "../store/db";
import { EngineError, type Diagnostics, type EngineErrorCode, type GroupAction } from "../worker/rpc";
import { callEngine } from "./engine";

export function startLink(name: string): Promise<{ code: string }> {
  return callEngine("startLink", { name });
}

export function linkDevice(code: string): Promise<{ name: string; linkId: string; media: { count: number; bytes: number } }> {
  return callEngine("linkDevice", { code });
}

export function confirmLink(linkId: string, confirm: boolean, history = true, media = false): Promise<{ linked: boolean }> {
  return callEngine("confirmLink", { linkId, confirm, history, media });
}

export async function removeDevice(deviceId: string): Promise<void> {
  await callEngine("removeDevice", { deviceId });
}

export async function renameDevice(deviceId: string, name: string): Promise<void> {
  await callEngine("renameDevice", { deviceId, name });
}

export function createAccount(brand: BrandId, handle: string, displayName: string): Promise<{ address: Address }> {
  return callEngine("createAccount", { brand, handle, displayName });
}

export async function addressExists(address: string): Promise<boolean> {
  const found = await callEngine("lookup", { address });
  return found.exists;
}

/** Creates a group held by my account `from`; returns its conversation. */
export async function createGroup(from: Address, name: string, members: string[]): Promise<string> {
  const { conversationId } = await callEngine("createGroup", { from, name, members });
  return conversationId;
}

/** Adds, removes, makes admin, renames or leaves; refused with a message a person can read. */
export async function changeGroup(conversationId: string, action: GroupAction): Promise<void> {
  await callEngine("changeGroup", { conversationId, action });
}

export async function startChat(from: Address, to: string): Promise<string> {
  const { conversationId } = await callEngine("startChat", { from, to });
  return conversationId;
}

export async function sendMessage(conversationId: string, text: string, replyTo?: string, mentions?: string[]): Promise<string> {
  const { messageId } = await callEngine("sendMessage", { conversationId, text, ...(replyTo ? { replyTo } : {}), ...(mentions?.length ? { mentions } : {}) });
  return messageId;
}

/** Marks these incoming messages read (they have been on screen); without ids, the whole conversation. */
export async function markRead(conversationId: string, messageIds?: string[]): Promise<void> {
  await callEngine("markRead", messageIds ? { conversationId, messageIds } : { conversationId });
}

/** I played this incoming voice note (its sender sees "Listened" when read receipts are on). */
export async function markListened(conversationId: string, messageId: string): Promise<void> {
  await callEngine("markListened", { conversationId, messageId });
}

/** My reaction to a message; null removes it. */
export async function react(conversationId: string, messageId: string, emoji: string | null): Promise<void> {
  await callEngine("react", { conversationId, messageId, emoji });
}

export async function editMessage(conversationId: string, messageId: string, text: string): Promise<void> {
  await callEngine("editMessage", { conversationId, messageId, text });
}

export async function deleteMessage(conversationId: string, messageId: string, forEveryone: boolean): Promise<void> {
  await callEngine("deleteMessage", { conversationId, messageId, forEveryone });
}

export async function setDisappearing(conversationId: string, expiresInMs: number): Promise<void> {
  await callEngine("setDisappearing", { conversationId, expiresInMs });
}

/** Best effort: a typing signal that does not arrive is no loss. */
export function setTyping(conversationId: string, typing: boolean): void {
  void callEngine("setTyping", { conversationId, typing }).catch(() => undefined);
}

export async function updateConversation(conversationId: string, change: { pinned?: boolean; archived?: boolean; muted?: boolean }): Promise<void> {
  await callEngine("updateConversation", { conversationId, ...change });
}

export async function saveDraft(conversationId: string, text: string, replyTo?: string): Promise<void> {
  await callEngine("saveDraft", replyTo ? { conversationId, text, replyTo } : { conversationId, text });
}

export async function updateSettings(change: Partial<Settings>): Promise<void> {
  await callEngine("updateSettings", change);
}

export async function setDisplayName(address: Address, displayName: string): Promise<void> {
  await callEngine("setDisplayName", { address, displayName });
}

/**
 * Logs this device out: the engine stops and deletes the database, then everything else this origin
 * keeps goes too (Cache Storage, the service worker, local storage), so nothing of the accounts is left.
 */
export async function logOutAndWipe(): Promise<void> {
  await callEngine("logOut", {});
  await wipeOriginStorage();
}

async function wipeOriginStorage(): Promise<void> {
  if (typeof caches !== "undefined") {
    for (const key of await caches.keys()) await caches.delete(key);
  }
  const registrations = (await navigator.serviceWorker?.getRegistrations()) ?? [];
  await Promise.all(registrations.map((r) => r.unregister()));
  try {
    localStorage.clear();
    sessionStorage.clear();
  } catch {
    // storage access may be refused (private modes); nothing of ours is left there in that case
  }
}

export function safetyNumber(conversationId: string): Promise<{ digits: string; qr: Uint8Array; verified: boolean }> {
  return callEngine("safetyNumber", { conversationId });
}

export async function setVerified(conversationId: string, verified: boolean): Promise<void> {
  await callEngine("markVerified", { conversationId, verified });
}

/** Sends my message that was not sent once more. */
export async function retryMessage(conversationId: string, messageId: string): Promise<void> {
  await callEngine("retryMessage", { conversationId, messageId });
}

/**
 * Sends files (one message each; the caption goes with the first). The File objects are handed to the
 * worker as they are: they are never read whole here.
 */
export async function sendAttachments(conversationId: string, files: File[], caption?: string): Promise<string[]> {
  const { messageIds } = await callEngine("sendAttachments", { conversationId, files: files.map((f) => ({ blob: f, name: f.name })), ...(caption ? { caption } : {}) });
  return messageIds;
}

export async function sendVoiceNote(conversationId: string, blob: Blob, durationMs: number, waveform: number[]): Promise<void> {
  const ext = blob.type.includes("ogg") ? "ogg" : "webm";
  await callEngine("sendAttachments", { conversationId, files: [{ blob, name: `Voice message.${ext}` }], voice: { durationMs, waveform } });
}

export async function downloadAttachment(conversationId: string, messageId: string): Promise<void> {
  await callEngine("downloadAttachment", { conversationId, messageId });
}

export async function cancelTransfer(conversationId: string, messageId: string): Promise<void> {
  await callEngine("cancelTransfer", { conversationId, messageId });
}

/** Deletes decrypted media on this device (one conversation's, or all); returns how many files went. */
export async function deleteMedia(conversationId?: string): Promise<number> {
  const { deleted } = await callEngine("deleteMedia", conversationId ? { conversationId } : {});
  return deleted;
}

/** Accepts a verified contact's new safety number, so the messages held for them go out. */
export async function acceptIdentity(conversationId: string): Promise<void> {
  await callEngine("acceptIdentity", { conversationId });
}

/** Adds an address to my contacts; returns it in canonical form. */
export async function addContact(address: string, nickname?: string): Promise<Address> {
  const added = await callEngine("addContact", nickname ? { address, nickname } : { address });
  return added.address;
}

/** The name I give someone; null or "" gives them back their own. */
export async function setNickname(address: string, nickname: string | null): Promise<void> {
  await callEngine("setNickname", { address, nickname });
}

/** Joins `to` to the person of `address`; returns the person's id. */
export async function linkAddresses(address: string, to: string): Promise<string> {
  const { personId } = await callEngine("linkAddresses", { address, to });
  return personId;
}

export async function unlinkAddress(address: string): Promise<void> {
  await callEngine("unlinkAddress", { address });
}

/** The engine's counters and recent log lines. */
export function diagnostics(): Promise<Diagnostics> {
  return callEngine("diagnostics", {});
}

const MESSAGES: Record<EngineErrorCode, string> = {
  bad_handle: "That handle does not follow the brand's rule.",
  handle_taken: "That handle is taken. Try another one.",
  not_found: "No account exists at that address.",
  offline: "You are offline. Try again once the connection is back.",
  unauthorized: "The relay did not accept this device. Reload and try again.",
  rate_limited: "Too many attempts. Wait a moment and try again.",
  bad_request: "That was refused.",
  internal: "Something went wrong. Try again.",
};

export function errorCode(error: unknown): EngineErrorCode | null {
  if (error instanceof EngineError) return error.code;
  // errors rebuilt across the worker boundary may not share this realm's class
  if (error instanceof Error && "code" in error && typeof error.code === "string" && error.code in MESSAGES) {
    return error.code as EngineErrorCode;
  }
  return null;
}

/** A group action's refusal: the engine's own words ("Only admins of this group can do that."). */
export function describeGroupError(error: unknown): string {
  const code = errorCode(error);
  if (code === "not_found" && error instanceof Error && error.message) return asSentence(error.message);
  return describeError(error);
}

/**
 * A sentence for a person, never an internal detail. A refusal says why in the refuser's own short words
 * (the engine's checks, or the relay's, which never carry payload contents); without them, that it was refused.
 */
export function describeError(error: unknown): string {
  const code = errorCode(error);
  if (code === "bad_request" && error instanceof Error && error.message) return asSentence(error.message);
  return code ? MESSAGES[code] : MESSAGES.internal;
}

function asSentence(words: string): string {
  const text = `${words[0].toUpperCase()}${words.slice(1)}`;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** A newly linked device: no (more) history; what came stays. Also dismisses a failed transfer. */
export async function skipHistory(): Promise<void> {
  await callEngine("skipHistory", {});
}

/** A newly linked device whose history failed or never came: asks the primary to send it again. */
export async function askHistory(): Promise<void> {
  await callEngine("askHistory", {});
}
