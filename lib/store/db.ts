// The client database (IndexedDB via Dexie): one schema class, one instance per thread.
// Runtime: browser (main thread and worker) and Node tests (fake-indexeddb).
//
// Read model (UI may read): accounts, contacts, identities, conversations, messages, outbox, meta.
// Secrets (worker only, never read by lib/hooks or components): device, identityKeys, prekeys, sessions, pendingAcks.
// Never delete an old version() block; add a new one with the change.
import Dexie, { type EntityTable, type Table } from "dexie";
import type { Address, BrandId } from "../brands";

export type MessageState = "queued" | "sent" | "delivered" | "read" | "failed";
export type Direction = "in" | "out";

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
}

/** What is waiting to go out, in order. */
export interface OutboxRow {
  seq?: number;
  kind: "message" | "receipt";
  conversationId: string;
  /** The message (kind "message") or the message ids being acknowledged (kind "receipt"). */
  messageId: string;
  receiptFor?: string[];
  createdAt: number;
  attempts: number;
}

/** Small shared state: connection status (written by the engine leader), settings. */
export interface MetaRow {
  key: string;
  value: unknown;
}

// ---- worker-only ----

export interface DeviceRow {
  id: "self";
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
  kind: "signed" | "onetime" | "kem";
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

/** Relay acks owed after a commit; written in the same transaction as the message. */
export interface PendingAckRow {
  /** `${to}|${id}` */
  key: string;
  to: Address;
  id: string;
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

  constructor(name = "junction") {
    super(name);
    this.version(1).stores({
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
