// The typed RPC between the UI thread and crypto.worker. Pure types and tiny helpers; no DOM, no I/O.
// Requests are `{ seq, method, params }`; replies `{ seq, ok: true, result }` or
// `{ seq, ok: false, error: { name, code, message } }`, rebuilt on the UI side as EngineError.
// Only public data and plaintext cross this boundary: never a private key or a ratchet state.
import type { Address, BrandId } from "../brands";
import type { Settings } from "../store/db";

/** One change to a group (see lib/engine/groups). */
export type GroupAction = { type: "add"; members: string[] } | { type: "remove"; member: string } | { type: "promote"; member: string } | { type: "demote"; member: string } | { type: "leave" } | { type: "rename"; name: string } | { type: "timer"; expiresInMs: number } | { type: "addPolicy"; addPolicy: "admins" | "members" };

export type EngineErrorCode =
  | "bad_handle"
  | "handle_taken"
  | "not_found"
  | "offline"
  | "unauthorized"
  | "rate_limited"
  | "bad_request"
  | "internal";

export interface ConnectionStatus {
  /** The relay connection is up and logged in. */
  online: boolean;
  /** This tab's worker runs the engine (holds the Web Lock). */
  leader: boolean;
}

/** One line of the worker's bounded log: counts and codes only, never plaintext or keys. */
export interface DiagnosticsLogEntry {
  at: number;
  level: "info" | "warn";
  event: string;
  detail?: Record<string, string | number | boolean>;
}

export interface Diagnostics {
  /** The engine's counters (dropped envelopes, failed sends, recoveries…); empty when no engine answers. */
  counters: Record<string, number>;
  /** The newest lines of the engine worker's log, oldest first. */
  log: DiagnosticsLogEntry[];
}

/** One message that matched a search: a piece of its text around the match, and where the match is in it. */
export interface SearchHit {
  messageId: string;
  sentAt: number;
  direction: "in" | "out";
  /** At most SNIPPET_CHARS of the text ("…" where cut). */
  snippet: string;
  /** [start, end) in UTF-16 offsets of `snippet`. */
  ranges: [number, number][];
}

/** A conversation as search shows it: who it is with, and on which brands. */
export interface SearchConversation {
  conversationId: string;
  /** The peer's name (or address when they gave none). */
  title: string;
  ourAddress: Address;
  theirAddress: Address;
  ourBrand: BrandId;
  theirBrand: BrandId;
}

/** Someone found by name whom none of my accounts has a conversation with yet. */
export interface SearchContact {
  address: Address;
  /** The name I gave them, else theirs, else the address. */
  title: string;
  brand: BrandId;
  /** Where the query's words are in the title. */
  ranges: [number, number][];
}

export interface SearchResults {
  /** The words searched for, folded (each matched as the start of a word). */
  tokens: string[];
  /** Conversations whose peer's name or address matches, newest activity first. */
  names: (SearchConversation & { ranges: [number, number][] })[];
  /** People I have no conversation with (contacts I added, names I know), by name or address. */
  contacts: SearchContact[];
  /** Matching messages, newest first, grouped by conversation (a group goes where its newest hit is). */
  groups: (SearchConversation & { hits: SearchHit[] })[];
  /** More messages match than the limit let through: asking with a larger limit shows more. */
  more: boolean;
  /** Older messages are still being indexed: more may match later. */
  indexing: boolean;
  /** The worker's time for the query (ms). */
  tookMs: number;
}

export interface RpcMethods {
  /** Creates an account on a brand for this device and registers it with the relay. */
  createAccount(params: { brand: BrandId; handle: string; displayName: string }): { address: Address };
  /**
   * First run, on a new device: the link code (text; the QR code shows the same) for the device that holds
   * the accounts. The accounts appear here once that device has linked this one.
   */
  startLink(params: { name: string }): { code: string };
  /**
   * On the device that created my accounts: opens the link with the device showing `code` and returns its
   * name, for the person to confirm with confirmLink (nothing is issued to it before that), and the photos
   * and files of my history this device holds (how many, their bytes), which the history may carry.
   */
  linkDevice(params: { code: string }): { name: string; linkId: string; media: { count: number; bytes: number } };
  /**
   * Confirms (or cancels) the link linkDevice opened; `linked` says whether the device is now linked.
   * `history` (default true): send my message history; `media` (default false): with the photos and files.
   */
  confirmLink(params: { linkId: string; confirm: boolean; history?: boolean; media?: boolean }): { linked: boolean };
  /** On the device that created my accounts: removes a linked device (it wipes itself back to first run). */
  removeDevice(params: { deviceId: string }): null;
  /** Asks the directory whether an address exists (does not consume prekeys). */
  lookup(params: { address: string }): { address: Address; exists: boolean };
  /**
   * Creates a group held by my account `from` with members of any brand (each must exist; at most 1,024
   * members with me). Returns the group's conversation.
   */
  createGroup(params: { from: Address; name: string; members: string[] }): { conversationId: string; groupId: string };
  /** Changes a group I am in: add, remove, make admin, rename (admins) or leave (anyone); bad_request with a clear message when refused. */
  changeGroup(params: { conversationId: string; action: GroupAction }): null;
  /** Opens (or creates) the conversation between one of my accounts and any address. */
  startChat(params: { from: Address; to: string }): { conversationId: string };
  /**
   * Queues a text message; it shows as queued until the relay stores it. `replyTo` quotes a message of
   * the same conversation (not_found when it is not there).
   */
  sendMessage(params: { conversationId: string; text: string; replyTo?: string; mentions?: string[] }): { messageId: string };
  /**
   * Marks messages read: with `messageIds`, only those incoming messages (they have been on screen);
   * without, the whole conversation. Lowers the unread count accordingly, and queues read receipts for
   * them when read receipts are on.
   */
  markRead(params: { conversationId: string; messageIds?: string[] }): null;
  /** I played this incoming voice note: marked played, and its sender told when read receipts are on. */
  markListened(params: { conversationId: string; messageId: string }): null;
  /** My reaction to a message (one per person: replaces my earlier one); null removes it. */
  react(params: { conversationId: string; messageId: string; emoji: string | null }): null;
  /** Replaces the text of my own text message; bad_request when it is not mine, not text, deleted or older than EDIT_WINDOW_MS. */
  editMessage(params: { conversationId: string; messageId: string; text: string }): null;
  /**
   * Deletes a message: for me (any message: the row goes from this device), or for everyone (my own,
   * within DELETE_FOR_EVERYONE_WINDOW_MS: both sides keep "This message was deleted").
   */
  deleteMessage(params: { conversationId: string; messageId: string; forEveryone: boolean }): null;
  /** Sets the conversation's disappearing-message timer (one of DISAPPEARING_TIMERS_MS) on both sides. */
  setDisappearing(params: { conversationId: string; expiresInMs: number }): null;
  /** Tells the peer's online devices that I am typing (or stopped); best effort, never queued. */
  setTyping(params: { conversationId: string; typing: boolean }): null;
  /** Pins, archives or mutes a conversation (only the given fields change). */
  updateConversation(params: { conversationId: string; pinned?: boolean; archived?: boolean; muted?: boolean }): null;
  /** Keeps what I was writing (an empty text removes the draft). */
  saveDraft(params: { conversationId: string; text: string; replyTo?: string }): null;
  /** Changes settings (only the given fields). */
  updateSettings(params: Partial<Settings>): null;
  /** Renames one of my accounts; the peers learn the new name inside my next message to them. */
  setDisplayName(params: { address: Address; displayName: string }): null;
  /**
   * Logs this device out: the engine stops and the database is deleted. The page then clears Cache
   * Storage and the service worker registration and returns to first run.
   */
  logOut(params: Record<string, never>): null;
  /** The 60-digit safety number and the bytes for its QR code. */
  safetyNumber(params: { conversationId: string }): { digits: string; qr: Uint8Array; verified: boolean };
  markVerified(params: { conversationId: string; verified: boolean }): null;
  /** Queues my failed message again (state "queued", a fresh outbox row); bad_request unless it is mine and failed. */
  retryMessage(params: { conversationId: string; messageId: string }): null;
  /**
   * Accepts a verified contact's new identity key: the held messages go. Accepting is not verifying,
   * so the contact stays unverified until the numbers are compared again.
   */
  acceptIdentity(params: { conversationId: string }): null;
  /** Adds an address to my contacts (no relay look-up), with the name I give it if any. */
  addContact(params: { address: string; nickname?: string }): { address: Address };
  /** The name I give an address (null or "" removes it). Kept on this device only. */
  setNickname(params: { address: string; nickname: string | null }): null;
  /** Joins `to` to the person of `address` (people merge when both belong to one). Kept on this device only. */
  linkAddresses(params: { address: string; to: string }): { personId: string };
  /** Takes an address out of its person (a person of one address is dissolved). */
  unlinkAddress(params: { address: string }): null;
  /**
   * Queues files as attachment messages (one message per file, the caption with the first). The Blobs are
   * structured-cloned to the worker and read there in slices; images are re-encoded without their
   * metadata and get a thumbnail. They show at once; the upload and the send follow when the relay is
   * reachable (also after a reload).
   */
  sendAttachments(params: { conversationId: string; files: { blob: Blob; name: string }[]; caption?: string; voice?: { durationMs: number; waveform: number[] } }): { messageIds: string[] };
  /** Fetches an attachment (again): its transfer shows progress, then its media is here (or an error). */
  downloadAttachment(params: { conversationId: string; messageId: string }): null;
  /** Stops an upload (the message shows "Not sent"; Retry resumes it) or a download (back to "Download"). */
  cancelTransfer(params: { conversationId: string; messageId: string }): null;
  /** Deletes decrypted media on this device (of one conversation, or all); the messages stay and can fetch it again. */
  deleteMedia(params: { conversationId?: string }): { deleted: number };
  /** The engine's counters and recent log lines, for the Diagnostics view. */
  diagnostics(params: Record<string, never>): Diagnostics;
  status(params: Record<string, never>): ConnectionStatus;
  /**
   * Full-text search of every message on this device, and of conversations by the peer's name or address.
   * Every word of the query must start a word of the message (case and accents ignored). bad_request for a
   * query over 500 characters or a limit outside 1–200 (the most messages returned; default 50).
   */
  search(params: { query: string; limit?: number }): SearchResults;
  /** A newly linked device: stops receiving the history (what was imported stays); the inbox goes on. */
  skipHistory(params: Record<string, never>): null;
  /** Renames one of my devices (any of them, from any of them); the name reaches my other devices end-to-end encrypted. */
  renameDevice(params: { deviceId: string; name: string }): null;
  /**
   * A newly linked device whose history failed or never came: asks the primary to send it again (bad_request
   * while one is on its way or none failed).
   */
  askHistory(params: Record<string, never>): null;
}

export type RpcMethod = keyof RpcMethods;
export type RpcParams<M extends RpcMethod> = Parameters<RpcMethods[M]>[0];
export type RpcResult<M extends RpcMethod> = ReturnType<RpcMethods[M]>;

export type RpcRequest = { [M in RpcMethod]: { seq: number; method: M; params: RpcParams<M> } }[RpcMethod];

export type RpcReply =
  | { seq: number; ok: true; result: unknown }
  | { seq: number; ok: false; error: { name: string; code: EngineErrorCode; message: string } };

/** What the worker implements: every method, async. */
export type RpcHandlers = { [M in RpcMethod]: (params: RpcParams<M>) => Promise<RpcResult<M>> };

const ENGINE_ERROR_CODES: readonly EngineErrorCode[] = [
  "bad_handle", "handle_taken", "not_found", "offline", "unauthorized", "rate_limited", "bad_request", "internal",
];

export function isEngineErrorCode(value: unknown): value is EngineErrorCode {
  return typeof value === "string" && (ENGINE_ERROR_CODES as readonly string[]).includes(value);
}

/** Pushed by the worker without a request. */
export type WorkerEvent = { type: "status"; status: ConnectionStatus };

/** Told to the worker by its page without a reply: the page's own view of connectivity. */
export type PageEvent = { type: "network"; online: boolean };

export function isPageEvent(data: unknown): data is PageEvent {
  return typeof data === "object" && data !== null && (data as { type?: unknown }).type === "network" && typeof (data as { online?: unknown }).online === "boolean";
}

/** The page joins the engine's worker to the I/O worker (lib/worker/io.ts), or says it failed (null). */
export type IoPortEvent = { type: "io"; port: MessagePort | null };

export function isIoPortEvent(data: unknown): data is IoPortEvent {
  const port = (data as { port?: unknown } | null)?.port;
  return typeof data === "object" && data !== null && (data as { type?: unknown }).type === "io" && (port === null || (typeof MessagePort !== "undefined" && port instanceof MessagePort));
}

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EngineError";
    this.code = code;
  }
}
