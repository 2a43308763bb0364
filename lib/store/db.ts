// The client database (IndexedDB via Dexie): one schema class, one instance per thread.
// Runtime: browser (main thread and worker) and Node tests (fake-indexeddb).
//
// Read model (UI may read): accounts, contacts, identities, conversations, messages, outbox, meta,
// transfers, media, mediaChunks, addressBook, people.
// Secrets (worker only, never read by lib/hooks or components): device, identityKeys, prekeys, sessions,
// pendingAcks, attachmentKeys, searchBlocks.
// Never delete an old version() block; add a new one with the change.
import Dexie, { type EntityTable, type Table, type Transaction } from "dexie";
import type { Address, BrandId } from "../brands";
import { BACKFILL_KEY, searchIndexMiddleware, type BlockKey, type SearchBlock } from "./search";
import { removeMediaFiles } from "./mediaFiles";

export type MessageState = "queued" | "sent" | "delivered" | "read" | "failed";
export type Direction = "in" | "out";
/**
 * What a message row shows. Absent means "text".
 * - waiting: a message that arrived but could not be decrypted yet; recovery has asked the sender to
 *   send it again ("Waiting for this message…"). Replaced in place when it comes.
 * - undecryptable: recovery gave up (nothing came within a day).
 * - unsupported: content of a kind or version this build does not understand; `content` keeps it so a
 *   newer build can render it ("This message needs a newer version of Junction").
 * - attachment: a photo, file or voice note (`attachment` holds what it shows; `text` is its caption).
 *   The key to its blob is in attachmentKeys (worker only), its transfer in transfers, and its decrypted
 *   bytes, once here, in media.
 * - group: a line about a group's membership ("Ana added Ben (WhatsApp)"); `text` is the line.
 */
export type MessageKind = "text" | "waiting" | "undecryptable" | "unsupported" | "timer" | "attachment" | "group";

/** How long after sending I may still edit my text message. */
export const EDIT_WINDOW_MS = 15 * 60_000;
/** How long after sending I may still delete my message for everyone. */
export const DELETE_FOR_EVERYONE_WINDOW_MS = 48 * 60 * 60_000;
/** The disappearing-message timers a person can pick (0 = off). */
export const DISAPPEARING_TIMERS_MS = [0, 24 * 60 * 60_000, 7 * 24 * 60 * 60_000, 90 * 24 * 60 * 60_000] as const;
/** How long "typing…" lasts after the last typing signal. */
export const TYPING_TTL_MS = 5_000;

/** A quoted message, as the reply carries it (a snapshot: the original may later change or go). */
export interface QuoteRef {
  /** The quoted message's id (clicking the quote scrolls to it when it is still here). */
  id: string;
  /** Who wrote the quoted message. */
  author: Address;
  /** Its text when quoted, at most 200 characters ("" for a message that was not text). */
  text: string;
  /**
   * The quoted message was deleted for everyone, or disappeared: `text` is emptied and the quote reads
   * "This message was deleted" (set on this device, never taken from the wire).
   */
  deleted?: boolean;
}

/** One person's reaction to a message: one per person, the newest wins. */
export interface ReactionEntry {
  /** The reacting address (mine or theirs). */
  by: Address;
  emoji: string;
  at: number;
}

/** Settings kept in the meta table under the key "settings"; absent fields take the defaults. */
export interface Settings {
  /** Off: I neither send read receipts nor see theirs. */
  readReceipts: boolean;
  theme: "system" | "light" | "dark";
  /** "One row per person": the inbox shows each joined person once, with one timeline. */
  onePerPerson: boolean;
}
export const DEFAULT_SETTINGS: Settings = { readReceipts: true, theme: "system", onePerPerson: false };

/** One of my accounts on this device. */
export interface AccountRow {
  address: Address;
  brand: BrandId;
  handle: string;
  displayName: string;
  /** Tagged public identity key. */
  identityKey: Uint8Array;
  createdAt: number;
}

/** A person I talk to, as they named themselves. */
export interface ContactRow {
  address: Address;
  displayName: string | null;
  updatedAt: number;
}

/**
 * What I keep about an address myself (version 8): the name I gave it, the person it belongs to, and
 * whether I added it by hand. Kept on this device only: nothing of it goes to the relay or to the peer.
 */
export interface AddressBookRow {
  address: Address;
  /** The name I gave them (absent: none; the name they gave themselves shows). */
  nickname?: string;
  /** The person this address is joined to (absent: on its own). Indexed: only joined addresses are in it. */
  personId?: string;
  /** Set when I added the address myself (a contact before any conversation). */
  addedAt?: number;
  updatedAt: number;
}

/** One person across brands: two or more addresses I joined (see AddressBookRow.personId). */
export interface PersonRow {
  id: string;
  createdAt: number;
}

/** A remote identity key as seen from one of my accounts, with its verification state. */
export interface IdentityRow {
  /** `${ourAddress}|${theirAddress}` */
  id: string;
  ourAddress: Address;
  theirAddress: Address;
  identityKey: Uint8Array;
  verified: boolean;
  /** Set when the key changed after first use; cleared when the person dismisses or re-verifies. */
  changedAt: number | null;
  firstSeenAt: number;
  /**
   * The key changed while it was verified: nothing is sent to this person until I accept the new
   * safety number (their conversation's outbox waits; other conversations go on).
   */
  awaitingAcceptance?: boolean;
}

export interface ConversationRow {
  /** `${ourAddress}|${theirAddress}` — see conversationId(). */
  id: string;
  ourAddress: Address;
  theirAddress: Address;
  ourBrand: BrandId;
  theirBrand: BrandId;
  /** ms since the epoch of the newest message (or creation); the inbox sorts by it, newest first. */
  lastActivity: number;
  lastMessageId: string | null;
  lastPreview: string;
  lastDirection: Direction | null;
  /** Delivery state of my last message when lastDirection is "out". */
  lastState: MessageState | null;
  unread: number;
  /** 1 when unread > 0, for the Unread filter index. */
  hasUnread: 0 | 1;
  createdAt: number;
  /** Pinned conversations sort first (by pinnedAt, newest pin first); absent = not pinned. */
  pinnedAt?: number;
  /** 1 = in the "Archived" view only; a new incoming message does not unarchive a muted conversation. */
  archived?: 0 | 1;
  /** No notification and no badge while set. */
  muted?: boolean;
  /** The disappearing-message timer both sides agreed on (ms; absent or 0 = off). */
  expiresInMs?: number;
  /**
   * The timer change that set `expiresInMs`: its sender's clock and its id. The newest change by that
   * clock wins on both sides (ties: the larger id), whichever side made it and in whatever order they arrive.
   */
  timerSetAt?: number;
  timerSetBy?: string;
  /** The peer is typing until this time (ms); absent or past = not typing. */
  typingUntil?: number;
  /** In a group: who is typing (the line reads "Ana is typing…"). */
  typingBy?: Address;
  /** In a group: the newest unread message that mentions me (it notifies even while the group is muted). */
  mentionedIn?: string;
  /**
   * Set on a group's conversation (version 10): the group's id (hex). Its `theirAddress` is then my own
   * address (a group has no single peer); the members are in the groups table.
   */
  groupId?: string;
  /** For a group: its name, the brands of its members (the inbox shows the mix) and whether I am still in it. */
  groupName?: string;
  groupBrands?: BrandId[];
  groupLeft?: boolean;
  /** For a group: the name of whoever wrote the last message (the preview reads "Ben: hi"). */
  lastAuthorName?: string;
}

export interface MessageRow {
  /** Chosen by the sender; writes are idempotent by it. */
  id: string;
  conversationId: string;
  direction: Direction;
  text: string;
  /** The sender's clock, ms. Messages are ordered by it, then by receivedAt. */
  sentAt: number;
  /** When this device stored it. */
  receivedAt: number;
  state: MessageState;
  /** For outgoing: ms when the relay stored it / when a delivery receipt came back. */
  sentToRelayAt: number | null;
  deliveredAt: number | null;
  kind?: MessageKind;
  /** For "unsupported": the decrypted content as received (JSON text), re-read by newer builds. */
  content?: string;
  /** For outgoing "failed": a short reason a person can act on ("their keys could not be verified"). */
  error?: string;
  /** Who wrote it (my account for "out", the peer for "in"); rows of earlier builds lack it. */
  author?: Address;
  /** In a group: the name the author gave itself in this message (the bubble and the preview show it). */
  authorName?: string;
  /** The message this one replies to. */
  replyTo?: QuoteRef;
  /** Reactions, one per person. */
  reactions?: ReactionEntry[];
  /** When the text was last edited (the sender's clock); the message shows "Edited". */
  editedAt?: number;
  /** Deleted for everyone: the text is gone and the message reads "This message was deleted". */
  deletedAt?: number;
  /** Outgoing: when the peer read it (state "read"). Incoming: when I saw it on screen. */
  readAt?: number;
  /** A voice note. Outgoing: when the peer first played it ("listened" receipt). Incoming: when I first played it. */
  listenedAt?: number;
  /** In a group: the members the message mentions (`@name`), by address. */
  mentions?: Address[];
  /** My message in a group: when each member's device said it was delivered, and (read receipts on) read. */
  memberReceipts?: Record<string, MemberReceipt>;
  /** Disappearing: the row (and everything about it) is removed at this time. */
  expiresAt?: number;
  /** For kind "timer": the new disappearing-message timer (ms, 0 = off) the line announces. */
  timerMs?: number;
  /** For kind "attachment": what the message shows of its file (nothing secret: the key is elsewhere). */
  attachment?: AttachmentInfo;
}

/** What an attachment message shows before (and after) its bytes are here. */
export interface AttachmentInfo {
  /** The file's name as the sender gave it (never used as a path). */
  name: string;
  mime: string;
  /** The file's own size in bytes. */
  size: number;
  width?: number;
  height?: number;
  /** A small JPEG or WebP shown at once, blurred, until the full image is here. */
  thumb?: Uint8Array;
  /** For a voice note: its length and a waveform made when it was recorded (0–31 per bar). */
  durationMs?: number;
  waveform?: number[];
}

/**
 * Where an attachment's bytes are (read model: the UI shows progress and errors from it).
 * Outgoing: uploading → uploaded (or failed: the message shows "Not sent"). Incoming: remote (on the
 * relay; "Download") → queued (asked for, or small enough to fetch by itself) → downloading → ready, or
 * failed (may be tried again) or tampered (refused for good: nothing is shown).
 */
export interface TransferRow {
  messageId: string;
  conversationId: string;
  direction: Direction;
  state: "uploading" | "uploaded" | "remote" | "queued" | "downloading" | "ready" | "failed" | "tampered";
  /** Bytes moved and in all (ciphertext), for the progress bar. */
  done: number;
  total: number;
  /** A short reason a person can read ("the attachment was altered on the relay"). */
  error?: string;
}

/**
 * Decrypted media kept on this device (read model): an attachment's bytes, once authenticated. My own
 * files (and media stored before version 11) are kept whole in `blob`; a download is kept in a file of
 * the origin-private file system (`file`, lib/store/mediaFiles.ts), or where the worker cannot write one as
 * `pieces` rows of mediaChunks, written as it came and shown (assembled into one Blob, lib/store/media.ts)
 * only once this row exists, after the whole ciphertext checked out.
 */
export interface MediaRow {
  messageId: string;
  conversationId: string;
  blob?: Blob;
  /** How many mediaChunks rows hold the bytes (when `blob` and `file` are absent). */
  pieces?: number;
  /** The bytes are in the media file named by `messageId` (lib/store/mediaFiles.ts). */
  file?: true;
  /** The type the assembled Blob gets. */
  mime?: string;
  size: number;
  storedAt: number;
}

/**
 * One piece of a download's plaintext (read model, but shown only through its media row): DOWNLOAD_PIECE_BYTES
 * each, the last shorter. Pieces without a media row are a download still under way (or interrupted, to
 * resume from): never shown.
 */
export interface MediaChunkRow {
  messageId: string;
  index: number;
  data: Blob;
}

/**
 * An attachment's secrets (worker only): the key (made before the upload starts, so a reload resumes the
 * same ciphertext), the relay's blob id once granted, and the digest and commitment once uploaded.
 */
export interface AttachmentKeyRow {
  messageId: string;
  key: Uint8Array;
  blobId?: string;
  digest?: Uint8Array;
  commitment?: Uint8Array;
}

/** One peer device: the target of a resend or a decryption-error request. */
export interface DeviceRef {
  address: Address;
  deviceId: string;
}

/**
 * What is waiting to go out. Each conversation is its own queue, in `seq` order: a row that cannot go
 * yet holds only the rows of its own conversation.
 */
export interface OutboxRow {
  seq?: number;
  /**
   * message: my message (to every device, or `onlyDevice` for a resend after a decryption-error request);
   * receipt: delivery receipts for `receiptFor`; retryRequest: ask `onlyDevice` to send `envelopeIds` again;
   * retryReply: tell `onlyDevice` which envelopes it asked for were no messages (`envelopeIds`) or are no
   * longer held (`unavailable`); change: a reaction, edit, delete or timer change (`change`, to the peer
   * and my own other devices); senderKey: my sender key's distribution (`distribution`) again, to `onlyDevice`;
   * sync: what I changed here, for my own other devices (`change` holds the sync content; queue `self|<address>`).
   */
  kind: "message" | "receipt" | "retryRequest" | "retryReply" | "change" | "group" | "senderKey" | "sync";
  /** The queue the row belongs to: a conversation id, or `self|<my address>` for my own other devices. */
  conversationId: string;
  /** The message (kind "message") or a random id naming this row (other kinds). */
  messageId: string;
  receiptFor?: string[];
  /** For a receipt: which one (absent: "delivered"). */
  receiptKind?: "delivered" | "read" | "listened";
  /** For a read (or listened) receipt: when I read (or played) them. */
  readAt?: number;
  /** For a receipt in a group: the author of the messages (each author gets its own, over our pairwise session). */
  receiptTo?: Address;
  /** For a change: the content as it goes on the wire (JSON), built when the change was made. */
  change?: string;
  /** For a change: the message it is about (the disappearing sweep drops changes of expired messages). */
  target?: string;
  onlyDevice?: DeviceRef;
  /** For a resend: the envelope the peer could not decrypt. */
  retryOf?: string;
  envelopeIds?: string[];
  /** For a retryRequest: the groups whose sender key `onlyDevice` should send again (a message came before it). */
  senderKeys?: string[];
  unavailable?: string[];
  /** For kind "senderKey": the group and the distribution (base64) as first sent to that device. */
  distribution?: { groupId: string; distribution: string };
  /** For kind "group": membership changes to send over the pairwise sessions (see GroupOutgoing). */
  group?: GroupOutgoing;
  createdAt: number;
  attempts: number;
  /** Not before this time (ms): backoff after a transient failure. */
  notBefore?: number;
}

/** Signed membership changes of a group for some of its members (oldest first, base64). */
export interface GroupOutgoing {
  groupId: string;
  to: Address[];
  changes: string[];
  /** Names I know for the members the changes name. */
  names?: Record<string, string>;
}

/** Small shared state: connection status (written by the engine leader), settings. */
export interface MetaRow {
  key: string;
  value: unknown;
}

// ---- worker-only ----

/**
 * A relay device: its id and login key. Every account has its own (`id` = the account's address), so
 * the relay cannot link one person's brands by device; `self` is the one device that accounts made
 * before that shared, and those accounts keep using it.
 */
export interface DeviceRow {
  id: "self" | Address;
  deviceId: string;
  authPublicKey: Uint8Array;
  authPrivateKey: Uint8Array;
  createdAt: number;
}

export interface IdentityKeyRow {
  address: Address;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export interface PrekeyRow {
  /** `${address}|${kind}|${id}` */
  key: string;
  address: Address;
  /** kem: the signed last-resort ML-KEM prekey; kemOneTime: signed one-time ML-KEM prekeys. */
  kind: "signed" | "onetime" | "kem" | "kemOneTime";
  id: number;
  /** Serialised record from lib/crypto. */
  record: Uint8Array;
  createdAt: number;
}

export interface SessionRow {
  /** `${ourAddress}|${theirAddress}|${theirDevice}` */
  key: string;
  ourAddress: Address;
  theirAddress: Address;
  theirDevice: string;
  /** Serialised session state from lib/crypto. */
  state: Uint8Array;
  updatedAt: number;
}

/** Older session states with one peer device, still good for receiving (lib/crypto serializeArchive). */
export interface ArchivedSessionRow {
  /** Same key as the session row. */
  key: string;
  ourAddress: Address;
  theirAddress: Address;
  theirDevice: string;
  states: Uint8Array;
  updatedAt: number;
}

/** A first message that started a session on last-resort prekeys only: it must never start another. */
export interface BaseKeyRow {
  /** `${address}|${signedPrekeyId}|${kemPrekeyId}|${baseKey b64}` */
  key: string;
  address: Address;
  signedPrekeyId: number;
  kemPrekeyId: number;
  at: number;
}

/** One member's receipts for one of my group messages. */
export interface MemberReceipt {
  deliveredAt?: number;
  readAt?: number;
}

/** A message that could not be decrypted and was asked for again; its placeholder row is `messageId`. */
export interface WaitingRow {
  /** The undecryptable envelope's id: the sender's resend names it, and so does envelopeId(message id). */
  envelopeId: string;
  messageId: string;
  conversationId: string;
  from: Address;
  fromDevice: string;
  createdAt: number;
}

/**
 * A group message that came before its sender's key (or its group): held as it came until the key (or the
 * group) arrives, then opened with the same checks as any other (worker only).
 */
export interface HeldGroupRow {
  /** `${ourAddress}|${fromDevice}|${envelopeId}`. */
  key: string;
  ourAddress: Address;
  groupId: string;
  envelopeId: string;
  from: Address;
  fromDevice: string;
  /** The envelope body as it came (base64). */
  body: string;
  ts: number;
  receivedAt: number;
  /**
   * Held for a group I had never heard of (no placeholder, no key asked; at most HELD_UNKNOWN_PER_SENDER per
   * sender). Cleared when the group arrives and the message still waits for its key.
   */
  unknownGroup?: true;
}

/** Held group messages kept at most (beyond it, one more is refused as before). */
export const HELD_GROUP_MAX = 2_000;

/** What I sent, per envelope, for a while: a decryption-error request names an envelope, this finds the message. */
export interface SentRow {
  envelopeId: string;
  /**
   * The message; for a receipt the outbox row's id (`kind: "receipt"`: nothing to resend); for a change
   * its id (`kind: "change"`, resent from `change`).
   */
  messageId: string;
  kind?: "receipt" | "change" | "senderKey" | "sync";
  /** For kind "senderKey": my sender key's distribution as this device got it (resent as it was when asked). */
  senderKey?: { groupId: string; distribution: string };
  /** For a change: its content (JSON) and the message it is about. */
  change?: string;
  target?: string;
  conversationId: string;
  to: Address;
  toDevice: string;
  sentAt: number;
}

/** An envelope as an ack names it. */
export interface EnvelopeRef {
  to: Address;
  id: string;
  /** The sending device: the relay then deletes only that sender's envelope of the id (rows of older builds lack it). */
  fromDevice?: string;
}

/**
 * Relay acks owed after a commit; written in the same transaction as the messages. A receive batch
 * writes one row for all its envelopes (`envelopes`, key `batch:<random id>`); rows of earlier builds
 * name one envelope each (`to` and `id`, key `${to}|${id}`). Both are sent again at login.
 */
export interface PendingAckRow {
  key: string;
  envelopes?: EnvelopeRef[];
  to?: Address;
  id?: string;
}

/** The envelopes a pending-ack row owes, whichever form it has. */
export function owedEnvelopes(row: PendingAckRow): EnvelopeRef[] {
  if (row.envelopes) return row.envelopes;
  return row.to !== undefined && row.id !== undefined ? [{ to: row.to, id: row.id }] : [];
}

/**
 * A change (reaction, edit, delete) that arrived before the message it names: held until that message
 * comes (then applied, in arrival order), for at most a week, and at most PENDING_CHANGES_MAX of them.
 */
export interface PendingChangeRow {
  /** The change's id. */
  id: string;
  /** The message it waits for. */
  target: string;
  conversationId: string;
  ourAddress: Address;
  theirAddress: Address;
  direction: Direction;
  /** The content as received (JSON). */
  change: string;
  receivedAt: number;
}

/** Most changes held for messages that have not come (a peer cannot fill the disk with orphans). */
export const PENDING_CHANGES_MAX = 2_000;
/** How long a change waits for its message. */
export const PENDING_CHANGE_TTL_MS = 7 * 24 * 60 * 60_000;

/** A member of a group as the read model shows it. */
export interface GroupMemberRow {
  address: Address;
  admin: boolean;
  since: number;
}

/**
 * A group one of my accounts is in (version 10; the UI reads it): its membership state as the signed
 * chain left it, and the chain itself (worker business: sent whole to a new member).
 */
export interface GroupRow {
  /** `${ourAddress}|${groupId}` */
  id: string;
  ourAddress: Address;
  /** 32 random bytes, hex. */
  groupId: string;
  conversationId: string;
  name: string;
  members: GroupMemberRow[];
  timerMs: number;
  addPolicy: "admins" | "members";
  /** Head of the chain. */
  version: number;
  headHash: Uint8Array;
  /** Every signed change so far, oldest first. */
  chain: Uint8Array[];
  /** I was removed or left: nothing more is sent, and sender-key messages are no longer opened. */
  left?: boolean;
  /** Members that hold my current sender key (each gets it over our pairwise session before my next message). */
  keySentTo: Address[];
  /** A member left or was removed: my sender key is replaced before my next message. */
  rotate?: boolean;
  updatedAt: number;
}

/** A sender key (worker only): mine or a member device's, for one group. */
export interface SenderKeyRow {
  /** `${ourAddress}|${groupId}|${sender}`, sender = `${address}/${deviceId}`. */
  key: string;
  ourAddress: Address;
  groupId: string;
  record: Uint8Array;
}

/** What I was writing in a conversation, kept across reloads. */
export interface DraftRow {
  conversationId: string;
  text: string;
  /** The message I was replying to, if any. */
  replyTo?: string;
  updatedAt: number;
}

/**
 * The newest device list of an account that I checked (lib/crypto/devices.ts), mine included: the account
 * key it opened under, its version and digest (an older version or a fork is refused), and its devices.
 * Senders encrypt only to devices on it; receivers accept only from them. Public data; worker only.
 */
export interface DeviceListRow {
  address: Address;
  accountKey: Uint8Array;
  version: number;
  digest: Uint8Array;
  devices: { deviceId: string; identityKey: Uint8Array; linkedAt: number }[];
  /** The signed list as it travels (base64url), kept to publish mine again. */
  signed: string;
  /** Mine only: whether the relay has stored this version. */
  published?: boolean;
  /** Mine only: the names of my linked devices, as they gave them when linked or renamed since (by device id). */
  names?: Record<string, string>;
  /** Mine only: when each of my other devices was last heard from (the relay's time of its newest envelope to me). */
  seen?: Record<string, number>;
  /** Mine only: which device on the list is this one (set at login). */
  thisDevice?: string;
  checkedAt: number;
}

/**
 * The clock of the newest change applied to one synced item (lib/engine/sync.ts), mine or from another of
 * my devices: an older one arriving late is not applied (version 15; worker only). Keys: `conv|<conv id>|<field>`,
 * `read|<conv id>` (the read position another device of mine sent: `at` is the newest sentAt read there), `setting|<name>`, `contact|<address>`,
 * `person|<address>`, `deviceName|<device id>`.
 */
export interface SyncClockRow {
  key: string;
  at: number;
}

/**
 * A sync item from another device of mine that names what this device does not hold yet (version 16; worker
 * only; lib/engine/sync/apply.ts). A delete for me of a message that has not come is a tombstone: the message
 * is removed in the commit that stores it, so it never shows, and one sent again later is removed again (the
 * tombstone stays until it expires). A pin, archive or mute of a group conversation not here yet is applied
 * when the conversation is made, then goes. At most SYNC_PENDING_MAX per account (the oldest go first), each
 * for SYNC_PENDING_TTL_MS: a flood of them does not grow storage without bound.
 */
export interface SyncPendingRow {
  /** `deleteForMe|<message id>`, or the conversation item's clock key (`conv|<conv id>|<field>`). */
  key: string;
  /** What it waits for: the message id, or the conversation id. */
  target: string;
  ourAddress: Address;
  /** The conversation the message must be in to be removed (a tombstone names no message of another one). */
  conversationId: string;
  /** A conversation item's field, value and clock. */
  field?: "pinned" | "archived" | "muted";
  on?: boolean;
  at?: number;
  receivedAt: number;
}

/** Most sync items held per account for what has not come. */
export const SYNC_PENDING_MAX = 5_000;
/** How long one is held: as long as the relay keeps undelivered mail. */
export const SYNC_PENDING_TTL_MS = 30 * 24 * 60 * 60_000;

/** One version of the schema as written below: what it changes, and its upgrade if it has one. */
interface SchemaStep {
  version: number;
  stores: Record<string, string | null>;
  upgrade?: (tx: Transaction) => Promise<void>;
}

/**
 * The schema's history, every version block as written, handed to Dexie in few declarations. Dexie's
 * `version()` and `stores()` each parse every version declared so far and rebuild every table object, so
 * declaring 15 versions one by one costs O(versions²): ~35 ms per construction, on the page's first long
 * task and in the worker before its login (against well under 1 ms for one declaration). Dexie (since 3)
 * reads the installed schema from the database itself and needs a declared version only where an
 * upgrade runs; so only those and the newest are declared, each with the whole schema as of that
 * version (everything before it folded in), which upgrades from any older version exactly as the full
 * chain does (`db.test.ts` checks both).
 */
export class SchemaHistory {
  readonly steps: SchemaStep[] = [];

  version(version: number) {
    const step: SchemaStep = { version, stores: {} };
    this.steps.push(step);
    const api = {
      stores(stores: Record<string, string | null>) {
        Object.assign(step.stores, stores);
        return api;
      },
      upgrade(fn: (tx: Transaction) => Promise<void>) {
        step.upgrade = fn;
        return api;
      },
    };
    return api;
  }

  /** Declares the versions with an upgrade and the newest, each with the schema as of it. */
  declareOn(db: Dexie): void {
    const steps = [...this.steps].sort((a, b) => a.version - b.version);
    const schema: Record<string, string | null> = {};
    steps.forEach((step, i) => {
      Object.assign(schema, step.stores);
      if (!step.upgrade && i < steps.length - 1) return;
      const declared = db.version(step.version).stores({ ...schema });
      if (step.upgrade) declared.upgrade(step.upgrade);
    });
  }
}

export class JunctionDB extends Dexie {
  accounts!: EntityTable<AccountRow, "address">;
  contacts!: EntityTable<ContactRow, "address">;
  identities!: EntityTable<IdentityRow, "id">;
  conversations!: EntityTable<ConversationRow, "id">;
  messages!: EntityTable<MessageRow, "id">;
  outbox!: Table<OutboxRow, number>;
  meta!: EntityTable<MetaRow, "key">;
  device!: EntityTable<DeviceRow, "id">;
  identityKeys!: EntityTable<IdentityKeyRow, "address">;
  prekeys!: EntityTable<PrekeyRow, "key">;
  sessions!: EntityTable<SessionRow, "key">;
  pendingAcks!: EntityTable<PendingAckRow, "key">;
  archivedSessions!: EntityTable<ArchivedSessionRow, "key">;
  baseKeys!: EntityTable<BaseKeyRow, "key">;
  waiting!: EntityTable<WaitingRow, "envelopeId">;
  sentLog!: EntityTable<SentRow, "envelopeId">;
  drafts!: EntityTable<DraftRow, "conversationId">;
  pendingChanges!: EntityTable<PendingChangeRow, "id">;
  transfers!: EntityTable<TransferRow, "messageId">;
  media!: EntityTable<MediaRow, "messageId">;
  mediaChunks!: Table<MediaChunkRow, [string, number]>;
  attachmentKeys!: EntityTable<AttachmentKeyRow, "messageId">;
  addressBook!: EntityTable<AddressBookRow, "address">;
  people!: EntityTable<PersonRow, "id">;
  groups!: EntityTable<GroupRow, "id">;
  /** Worker only. */
  senderKeys!: EntityTable<SenderKeyRow, "key">;
  deviceLists!: EntityTable<DeviceListRow, "address">;
  heldGroup!: EntityTable<HeldGroupRow, "key">;
  /** Worker only: the clocks of synced items (version 15). */
  syncClock!: EntityTable<SyncClockRow, "key">;
  /** Worker only: the full-text index of the messages (search.ts keeps it; the UI asks the worker). */
  searchBlocks!: Table<SearchBlock, BlockKey>;
  /** Worker only: sync items waiting for their message or conversation (version 16). */
  syncPending!: EntityTable<SyncPendingRow, "key">;

  constructor(name = "junction") {
    super(name);
    JunctionDB.schemaHistory().declareOn(this);
    // the index is written in the same transaction as every message write
    this.use(searchIndexMiddleware);
    this.removeFilesWithRows();
  }

  /**
   * A media row kept in a file, or an incoming transfer (whose download may have left part of a file),
   * takes its file with it once the transaction that deleted it commits. A file still open stays (its
   * download removes it; the sweep at start otherwise).
   */
  private removeFilesWithRows(): void {
    const pending = new WeakMap<Transaction, Set<string>>();
    const later = (id: string, tx: Transaction) => {
      let ids = pending.get(tx);
      if (!ids) {
        const batch = new Set<string>();
        pending.set(tx, (ids = batch));
        tx.on("complete", () => void removeMediaFiles(this, batch));
      }
      ids.add(id);
    };
    this.media.hook("deleting", (id, row, tx) => {
      if (row?.file) later(id, tx);
    });
    this.transfers.hook("deleting", (id, row, tx) => {
      if (row?.direction === "in") later(id, tx);
    });
  }

  /** Every version of the schema as written: never delete a block; add a new one with the change. */
  static schemaHistory(): SchemaHistory {
    const history = new SchemaHistory();
    history.version(1).stores({
      accounts: "address, brand",
      contacts: "address",
      identities: "id, ourAddress, theirAddress",
      conversations: "id, lastActivity, [ourBrand+lastActivity], [hasUnread+lastActivity], ourAddress, theirAddress",
      messages: "id, [conversationId+sentAt], conversationId",
      outbox: "++seq, conversationId, messageId",
      meta: "key",
      device: "id",
      identityKeys: "address",
      prekeys: "key, [address+kind]",
      sessions: "key, [ourAddress+theirAddress]",
      pendingAcks: "key",
    });
    // Sessions heal: archived states, replay guards, placeholders and the sent log for resends; messages
    // indexed by kind (only rows that have one: waiting, undecryptable, unsupported).
    history.version(2).stores({
      messages: "id, [conversationId+sentAt], conversationId, kind",
      archivedSessions: "key, [ourAddress+theirAddress]",
      baseKeys: "key, address",
      waiting: "envelopeId, createdAt",
      sentLog: "envelopeId, sentAt",
    });
    // Conversations as people expect them: messages that disappear (swept by expiresAt), drafts, and the
    // archived view.
    history.version(3).stores({
      messages: "id, [conversationId+sentAt], conversationId, kind, expiresAt",
      conversations: "id, lastActivity, [ourBrand+lastActivity], [hasUnread+lastActivity], ourAddress, theirAddress, archived",
      drafts: "conversationId",
    });
    // Changes that came before their message wait for it (worker only).
    history.version(4).stores({
      pendingChanges: "id, target, receivedAt",
    });
    // Pinned conversations by their pin: few rows, read whole to put them first without walking the inbox.
    history.version(5).stores({
      conversations: "id, lastActivity, [ourBrand+lastActivity], [hasUnread+lastActivity], ourAddress, theirAddress, archived, pinnedAt",
    });
    // Attachments: transfers (found by state by the worker's transfer runner), decrypted media (summed per
    // conversation by Settings → Storage) and the attachments' keys (worker only). New tables only.
    history.version(6).stores({
      transfers: "messageId, state, conversationId",
      media: "messageId, conversationId",
      attachmentKeys: "messageId",
    });
    // Full-text search: a row per searchable message, keyed by [sentAt+id] (newest matches first), with a
    // multi-entry index on its words (search.ts). Messages stored before it wait for the worker's backfill,
    // which starts from the first id.
    history.version(7)
      .stores({
        searchIndex: "[sentAt+id], *tokens",
      })
      .upgrade(async (tx) => {
        if ((await tx.table("messages").count()) > 0) await tx.table("meta").put({ key: BACKFILL_KEY, value: "" });
      });
    // People across brands: my own names for addresses and
    // the addresses I joined into one person, in tables of their own so no existing index changes. Only
    // joined addresses are in the personId index, so the merged inbox reads them whole in one request.
    history.version(8).stores({
      addressBook: "address, personId",
      people: "id",
    });
    // Linked devices: the newest checked device list per account (a new table only).
    history.version(9).stores({
      deviceLists: "address",
    });
    // Groups across brands: each group's membership state and signed chain, and the sender keys (worker
    // only). New tables only.
    history.version(10).stores({
      groups: "id, ourAddress",
      senderKeys: "key",
    });
    // Downloads stored as they come: a row per piece of plaintext, keyed by message and position, so a
    // reload resumes after the last piece kept and a message's pieces go in one key range.
    history.version(11).stores({
      mediaChunks: "[messageId+index]",
    });
    // Search index in blocks: the messages a commit stored share one row and one index
    // entry per distinct word (search.ts), in place of a row and ~10 index entries per message; everything is
    // indexed again in the background. The messages' own conversationId index goes: the compound
    // [conversationId+sentAt] answers where("conversationId") the same, and a message write costs one index
    // entry less.
    history.version(12)
      .stores({
        searchIndex: null,
        searchBlocks: "receivedAt, *tokens",
        messages: "id, [conversationId+sentAt], kind, expiresAt",
      })
      .upgrade(async (tx) => {
        if ((await tx.table("messages").count()) > 0) await tx.table("meta").put({ key: BACKFILL_KEY, value: "" });
      });
    // Group messages that came before their sender key, found by group when a key comes (worker only).
    history.version(13).stores({
      heldGroup: "key, [ourAddress+groupId], receivedAt",
    });
    // Sync between my own devices: the clock of the newest change per synced item (a new table only).
    history.version(15).stores({
      syncClock: "key",
    });
    // Sync items that came before their message or conversation: found by what they wait for, pruned by age,
    // bounded per account (a new table only).
    history.version(16).stores({
      syncPending: "key, target, receivedAt, [ourAddress+receivedAt]",
    });
    return history;
  }
}

export function conversationId(ourAddress: Address, theirAddress: Address): string {
  return `${ourAddress}|${theirAddress}`;
}

let instance: JunctionDB | null = null;

/** The one database instance of this thread. */
export function getDb(): JunctionDB {
  instance ??= new JunctionDB();
  return instance;
}
