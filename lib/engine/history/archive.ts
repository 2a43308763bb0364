// The history archive a primary gives a newly linked device (docs/PROTOCOL.md, "History transfer"; runtime:
// the worker, Node in tests). JSON, version 1: my direct conversations with their messages (reactions,
// receipt states, edits, replies and unread counts as they stand), contacts, the address book (nicknames,
// person links), people, and the contacts' public identity keys with their verified state. Not in it: private keys, sessions, prekeys, sender keys, attachment keys or
// media (the new device has its own identity and sessions; an attachment message arrives with its preview
// but without its file), group conversations, drafts, the outbox, and messages that already disappeared.
// The archive is encrypted and uploaded like an attachment (./transfer.ts), so what checks it here is only
// that it is well formed and names nothing outside the accounts being linked.
import Dexie from "dexie";
import { z } from "zod";
import type { AddressBookRow, ContactRow, ConversationRow, IdentityRow, JunctionDB, MessageRow, PersonRow } from "../../store/db";
import { fromB64, toB64, type Address } from "../deps";
import { EngineError } from "../../worker/rpc";
import { applyAllHeld } from "../sync/apply";

export const ARCHIVE_VERSION = 1;
/** Rows per import transaction: small enough that the inbox stays live while a large history goes in. */
export const IMPORT_BATCH = 400;

const Id = z.string().min(1).max(600);
const Conversation = z.looseObject({
  id: Id,
  ourAddress: Id,
  theirAddress: Id,
  lastActivity: z.number(),
  unread: z.number().int().nonnegative(),
  hasUnread: z.union([z.literal(0), z.literal(1)]),
  groupId: z.undefined().optional(),
});
const Message = z.looseObject({
  id: Id,
  conversationId: Id,
  direction: z.enum(["in", "out"]),
  text: z.string(),
  sentAt: z.number(),
  receivedAt: z.number(),
  state: z.enum(["sent", "delivered", "read", "failed"]),
  expiresAt: z.number().optional(),
});
const Archive = z.strictObject({
  v: z.literal(ARCHIVE_VERSION),
  createdAt: z.number(),
  conversations: z.array(Conversation),
  messages: z.array(Message),
  contacts: z.array(z.looseObject({ address: Id })),
  addressBook: z.array(z.looseObject({ address: Id })),
  people: z.array(z.looseObject({ id: Id })),
  identities: z.array(z.looseObject({ id: Id, ourAddress: Id, theirAddress: Id, identityKey: z.instanceof(Uint8Array), verified: z.boolean() })),
});

export interface HistoryArchive {
  v: typeof ARCHIVE_VERSION;
  createdAt: number;
  conversations: ConversationRow[];
  messages: MessageRow[];
  contacts: ContactRow[];
  addressBook: AddressBookRow[];
  people: PersonRow[];
  /** Public keys only: the contacts' identity keys as my accounts saw them, and whether I verified them. */
  identities: IdentityRow[];
}

// bytes (thumbnails) travel as {"$b": base64url}
const replacer = (_key: string, value: unknown) => (value instanceof Uint8Array ? { $b: toB64(value) } : value);
function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$b" && typeof (value as { $b: unknown }).$b === "string") return fromB64((value as { $b: string }).$b);
  }
  return value;
}

/** Whether a message goes into the archive: not gone by its timer, not a placeholder, not still in my outbox. */
function archived(m: MessageRow, now: number): boolean {
  if (m.expiresAt !== undefined && m.expiresAt <= now) return false;
  if (m.kind === "waiting") return false;
  // my message still queued reaches the new device by itself, as my own fan-out, once it goes
  return !(m.direction === "out" && m.state === "queued");
}

/** The archive of `accounts`' history on this device, encoded. */
export async function buildArchive(db: JunctionDB, accounts: readonly Address[], now: number): Promise<{ bytes: Uint8Array; messages: number }> {
  const mine = new Set<string>(accounts);
  const conversations = (await db.conversations.toArray())
    .filter((c) => mine.has(c.ourAddress) && !c.groupId)
    // typing is of the moment, not history
    .map(({ typingUntil: _t, typingBy: _b, ...c }) => c);
  const messages: MessageRow[] = [];
  for (const c of conversations) {
    const rows = await db.messages.where("[conversationId+sentAt]").between([c.id, Dexie.minKey], [c.id, Dexie.maxKey]).toArray();
    for (const m of rows) if (archived(m, now)) messages.push(m);
  }
  const archive: HistoryArchive = {
    v: ARCHIVE_VERSION,
    createdAt: now,
    conversations,
    messages,
    contacts: await db.contacts.toArray(),
    addressBook: await db.addressBook.toArray(),
    people: await db.people.toArray(),
    identities: (await db.identities.toArray()).filter((i) => mine.has(i.ourAddress)),
  };
  return { bytes: new TextEncoder().encode(JSON.stringify(archive, replacer)), messages: messages.length };
}

/** Reads an archive; refuses one that is not well formed or names a conversation of an account not linked here. */
export function parseArchive(bytes: Uint8Array, accounts: readonly Address[]): HistoryArchive {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes), reviver);
  } catch {
    throw new EngineError("bad_request", "the history archive is not readable");
  }
  const parsed = Archive.safeParse(json);
  if (!parsed.success) throw new EngineError("bad_request", "the history archive is not readable");
  const archive = parsed.data as unknown as HistoryArchive;
  const mine = new Set<string>(accounts);
  const ids = new Set<string>();
  for (const c of archive.conversations) {
    if (!mine.has(c.ourAddress) || c.id !== `${c.ourAddress}|${c.theirAddress}`) throw new EngineError("bad_request", "the history archive names another account");
    ids.add(c.id);
  }
  if (archive.identities.some((i) => !mine.has(i.ourAddress) || i.id !== `${i.ourAddress}|${i.theirAddress}`)) throw new EngineError("bad_request", "the history archive names another account");
  if (archive.messages.some((m) => !ids.has(m.conversationId))) throw new EngineError("bad_request", "the history archive has a message outside its conversations");
  return archive;
}

export interface ImportCounts {
  conversations: number;
  messages: number;
}

/**
 * Stores an archive: what this device already holds (a message that came since the link) is kept, the
 * rest goes in IMPORT_BATCH rows a transaction (the search index middleware indexes them in the same
 * commit). Conversations go last, so the inbox shows each with its messages already there.
 */
export async function importArchive(
  db: JunctionDB,
  archive: HistoryArchive,
  now: number,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<ImportCounts> {
  // what disappeared while the archive travelled does not come back
  const messages = archive.messages.filter((m) => m.expiresAt === undefined || m.expiresAt > now);
  const total = messages.length;
  await db.transaction("rw", [db.contacts, db.addressBook, db.people, db.identities], async () => {
    await putMissing(db.contacts, archive.contacts, (r) => r.address);
    await putMissing(db.addressBook, archive.addressBook, (r) => r.address);
    await putMissing(db.people, archive.people, (r) => r.id);
    await importIdentities(db, archive.identities);
  });
  let imported = 0;
  for (let i = 0; i < messages.length; i += IMPORT_BATCH) {
    signal?.throwIfAborted();
    // one receivedAt a batch: this device stored them now, and the batch shares one search block
    const storedAt = Math.max(now, Date.now());
    const batch = messages.slice(i, i + IMPORT_BATCH).map((m) => ({ ...m, receivedAt: storedAt }));
    await db.transaction("rw", db.messages, async () => {
      imported += await putMissing(db.messages, batch, (m) => m.id);
    });
    onProgress?.(Math.min(i + IMPORT_BATCH, total), total);
  }
  signal?.throwIfAborted();
  await db.transaction("rw", db.conversations, async () => {
    const held = await db.conversations.bulkGet(archive.conversations.map((c) => c.id));
    const rows = archive.conversations.map((c, i) => merged(c, held[i]));
    await db.conversations.bulkPut(rows);
  });
  // what my other devices synced while the archive travelled (a delete for me, a group's pin) holds over it
  await applyAllHeld(db);
  onProgress?.(total, total);
  return { conversations: archive.conversations.length, messages: imported };
}

/**
 * A conversation this device already has (a message came since the link) keeps its own state, with the
 * archive's last message when that is newer; of the two unread counts the larger (a message that came to
 * both devices is in both).
 */
function merged(from: ConversationRow, held: ConversationRow | undefined): ConversationRow {
  if (!held) return from;
  const unread = Math.max(held.unread, from.unread);
  const last = held.lastActivity >= from.lastActivity ? held : from;
  return {
    ...held,
    lastActivity: last.lastActivity,
    lastMessageId: last.lastMessageId,
    lastPreview: last.lastPreview,
    lastDirection: last.lastDirection,
    lastState: last.lastState,
    unread,
    hasUnread: unread > 0 ? 1 : 0,
  };
}

/**
 * Identities this device has not seen come as they are; one it has seen since the link keeps its own state,
 * and takes "verified" only when it is the very key I verified on the primary.
 */
async function importIdentities(db: JunctionDB, rows: IdentityRow[]): Promise<void> {
  const held = await db.identities.bulkGet(rows.map((r) => r.id));
  const put = rows.flatMap((r, i) => {
    const h = held[i];
    if (!h) return [r];
    const same = h.identityKey.length === r.identityKey.length && h.identityKey.every((b, k) => b === r.identityKey[k]);
    return same && r.verified && !h.verified ? [{ ...h, verified: true }] : [];
  });
  if (put.length > 0) await db.identities.bulkPut(put);
}

/** The rows of `rows` whose key `table` does not hold yet, stored; how many. */
async function putMissing<T, K>(table: { bulkGet(keys: K[]): Promise<(T | undefined)[]>; bulkPut(rows: T[]): Promise<unknown> }, rows: T[], keyOf: (row: T) => K): Promise<number> {
  if (rows.length === 0) return 0;
  const held = await table.bulkGet(rows.map(keyOf));
  const missing = rows.filter((_, i) => held[i] === undefined);
  if (missing.length > 0) await table.bulkPut(missing);
  return missing.length;
}
