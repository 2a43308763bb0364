// The history archive a primary gives a newly linked device (docs/PROTOCOL.md, "History transfer"; runtime:
// the worker, Node in tests). JSON, version 1: my direct conversations and the groups I am in, with their
// messages (reactions, receipt states, edits, replies and unread counts as they stand), contacts, the
// address book (nicknames, person links), people, the contacts' public identity keys with their verified
// state, and each group's signed chain of changes. When the person chose "Include photos and files", also
// `media`: per attachment message whose bytes this device holds, the pointer to a fresh upload of them
// (./transfer.ts: a new key, encrypted and checked exactly as an attachment), which the new device queues
// for its transfer runner; without it an attachment message arrives with its preview but without its file.
// Not in it: private keys, sessions, prekeys, sender keys, the attachments' own keys (the original blobs may
// be gone from the relay; a fresh upload is under a key made for this transfer only), groups I left, drafts,
// the outbox, and messages that already disappeared. The archive is encrypted and uploaded like an attachment
// (./transfer.ts), so what checks it here is that it is well formed and names nothing outside the accounts
// being linked (a media pointer names a message of the archive, with that message's size); a
// group's state is never taken from it as written: the new device replays the group's signed chain
// (verifyGroups) and a group whose chain does not verify is left out, with its conversation and messages.
import Dexie from "dexie";
import { z } from "zod";
import type { AddressBookRow, ContactRow, ConversationRow, IdentityRow, JunctionDB, MessageRow, PersonRow } from "../../store/db";
import { fromB64, toB64, type Address } from "../deps";
import { EngineError } from "../../worker/rpc";
import { applyAllHeld } from "../sync/apply";
import type { EngineContext } from "../context";
import { GroupBatch } from "../groups/service";
import { groupConversation, groupConversationId, groupRowId } from "../groups/state";
import type { GroupUpdateContent } from "../content/kinds/group";
import type { GroupRow } from "../../store/db";
import { MAX_ATTACHMENT_BYTES, PointerFields } from "../content/kinds/attachment";
import { blobBytes } from "../attachments/content";
import { incomingTransfer } from "../../store/media";

export const ARCHIVE_VERSION = 1;
/** Rows per import transaction: small enough that the inbox stays live while a large history goes in. */
export const IMPORT_BATCH = 400;
/** The most groups, and the longest chain of one, an archive may carry (a bad archive cannot make the new device verify without end). */
export const MAX_GROUPS = 2_000;
export const MAX_GROUP_CHAIN = 2_000;
/** The most media pointers an archive may carry. */
export const MAX_ARCHIVE_MEDIA = 50_000;

const Id = z.string().min(1).max(600);
const Conversation = z.looseObject({
  id: Id,
  ourAddress: Id,
  theirAddress: Id,
  lastActivity: z.number(),
  unread: z.number().int().nonnegative(),
  hasUnread: z.union([z.literal(0), z.literal(1)]),
  groupId: z.string().regex(/^[0-9a-f]{64}$/).optional(),
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
  // a group's own state is not sent: the new device replays its signed chain
  groups: z.array(z.strictObject({ ourAddress: Id, groupId: z.string().regex(/^[0-9a-f]{64}$/), chain: z.array(z.instanceof(Uint8Array)).min(1).max(MAX_GROUP_CHAIN) })).max(MAX_GROUPS).default([]),
  // absent unless the person included photos and files (an older build refuses an archive with it: strict)
  media: z.array(z.strictObject({ messageId: Id, ...PointerFields, size: z.number().int().min(0).max(MAX_ATTACHMENT_BYTES) })).max(MAX_ARCHIVE_MEDIA).optional(),
});
/** An attachment's bytes sent along with the history: a fresh upload (base64url key, digest and commitment) for one message of the archive. */
export interface ArchivedMedia {
  messageId: string;
  blobId: string;
  key: string;
  digest: string;
  commitment: string;
  /** The file's own size: the same as its message's attachment.size. */
  size: number;
}
/** A group as the archive carries it: whose it is, and its signed changes from the creation on. */
export interface ArchivedGroup {
  ourAddress: Address;
  groupId: string;
  chain: Uint8Array[];
}

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
  /** The groups my accounts are in (not the ones I left): their signed chains only. */
  groups: ArchivedGroup[];
  /** The photos and files sent along, when the person chose to. */
  media?: ArchivedMedia[];
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

/** The conversations of `accounts` an archive carries: mine, and of groups only the ones I am still in. */
async function archivedConversations(db: JunctionDB, accounts: readonly Address[]): Promise<{ conversations: ConversationRow[]; groups: GroupRow[] }> {
  const mine = new Set<string>(accounts);
  const groups = (await db.groups.toArray()).filter((g) => mine.has(g.ourAddress) && !g.left);
  const inGroups = new Set(groups.map((g) => g.conversationId));
  const conversations = (await db.conversations.toArray()).filter((c) => mine.has(c.ourAddress) && (!c.groupId || inGroups.has(c.id)));
  return { conversations, groups };
}

/** The archive of `accounts`' history on this device, not yet encoded (`media` is set by the caller that uploaded them). */
export async function collectArchive(db: JunctionDB, accounts: readonly Address[], now: number): Promise<HistoryArchive> {
  const mine = new Set<string>(accounts);
  const held = await archivedConversations(db, accounts);
  // typing is of the moment, not history
  const conversations = held.conversations.map(({ typingUntil: _t, typingBy: _b, ...c }) => c);
  const messages: MessageRow[] = [];
  for (const c of conversations) {
    const rows = await db.messages.where("[conversationId+sentAt]").between([c.id, Dexie.minKey], [c.id, Dexie.maxKey]).toArray();
    for (const m of rows) if (archived(m, now)) messages.push(m);
  }
  return {
    v: ARCHIVE_VERSION,
    createdAt: now,
    conversations,
    messages,
    contacts: await db.contacts.toArray(),
    addressBook: await db.addressBook.toArray(),
    people: await db.people.toArray(),
    identities: (await db.identities.toArray()).filter((i) => mine.has(i.ourAddress)),
    groups: held.groups.map((g) => ({ ourAddress: g.ourAddress, groupId: g.groupId, chain: g.chain })),
  };
}

/**
 * The archive as bytes. Media pointers for messages it does not carry (deleted or gone while their bytes were
 * uploaded) are left out: the new device refuses an archive with one.
 */
export function encodeArchive(archive: HistoryArchive): Uint8Array {
  const carried = new Set(archive.messages.map((m) => m.id));
  const media = archive.media?.filter((p) => carried.has(p.messageId));
  const { media: _all, ...rest } = archive;
  return new TextEncoder().encode(JSON.stringify(media && media.length > 0 ? { ...rest, media } : rest, replacer));
}

/** The archive of `accounts`' history on this device, encoded (without media). */
export async function buildArchive(db: JunctionDB, accounts: readonly Address[], now: number): Promise<{ bytes: Uint8Array; messages: number }> {
  const archive = await collectArchive(db, accounts, now);
  return { bytes: encodeArchive(archive), messages: archive.messages.length };
}

/** An attachment whose decrypted bytes this device holds, as the history would send it. */
export interface HeldMedia {
  messageId: string;
  conversationId: string;
  /** My account the conversation is of (its upload goes under it: the relay's quota and limits are per device). */
  our: Address;
  /** The file's own size (its message's attachment.size). */
  size: number;
}

/**
 * The photos and files of `accounts`' history that this device holds whole (what "Include photos and files"
 * sends, and the size it shows): attachment messages the archive carries, not deleted, whose media row is
 * here with the message's size. One this device never downloaded is left as it is (preview only).
 */
export async function heldMedia(db: JunctionDB, accounts: readonly Address[], now: number): Promise<HeldMedia[]> {
  const rows = await db.media.toArray();
  if (rows.length === 0) return [];
  const { conversations } = await archivedConversations(db, accounts);
  const ours = new Map(conversations.map((c) => [c.id, c.ourAddress]));
  const mine = rows.filter((r) => ours.has(r.conversationId));
  const messages = await db.messages.bulkGet(mine.map((r) => r.messageId));
  return mine.flatMap((r, i) => {
    const m = messages[i];
    if (!m || m.kind !== "attachment" || !m.attachment || m.deletedAt !== undefined || !archived(m, now) || m.attachment.size !== r.size) return [];
    return [{ messageId: r.messageId, conversationId: r.conversationId, our: ours.get(r.conversationId) as Address, size: r.size }];
  });
}

/** Their count, and the bytes they weigh (the files' own sizes, as shown to the person). */
export async function heldMediaSize(db: JunctionDB, accounts: readonly Address[], now: number): Promise<{ count: number; bytes: number; cipherBytes: number }> {
  const held = await heldMedia(db, accounts, now);
  return { count: held.length, bytes: held.reduce((n, h) => n + h.size, 0), cipherBytes: held.reduce((n, h) => n + blobBytes(h.size), 0) };
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
  const groups = new Set<string>();
  for (const g of archive.groups) {
    if (!mine.has(g.ourAddress)) throw new EngineError("bad_request", "the history archive names another account");
    if (groups.has(groupRowId(g.ourAddress, g.groupId))) throw new EngineError("bad_request", "the history archive has a group twice");
    groups.add(groupRowId(g.ourAddress, g.groupId));
  }
  for (const c of archive.conversations) {
    if (!mine.has(c.ourAddress)) throw new EngineError("bad_request", "the history archive names another account");
    if (ids.has(c.id)) throw new EngineError("bad_request", "the history archive has a conversation twice");
    if (c.groupId === undefined ? c.id !== `${c.ourAddress}|${c.theirAddress}` : c.id !== groupConversationId(c.ourAddress, c.groupId) || c.theirAddress !== c.ourAddress) {
      throw new EngineError("bad_request", "the history archive has a conversation that is not named as it should be");
    }
    // a group conversation comes only with its group's chain
    if (c.groupId !== undefined && !groups.has(groupRowId(c.ourAddress, c.groupId))) throw new EngineError("bad_request", "the history archive has a group conversation without its group");
    ids.add(c.id);
  }
  if (archive.identities.some((i) => !mine.has(i.ourAddress) || i.id !== `${i.ourAddress}|${i.theirAddress}`)) throw new EngineError("bad_request", "the history archive names another account");
  if (archive.messages.some((m) => !ids.has(m.conversationId))) throw new EngineError("bad_request", "the history archive has a message outside its conversations");
  if (archive.media) {
    // each pointer names an attachment message of the archive, once, with that message's size
    const attachments = new Map(archive.messages.flatMap((m) => (m.kind === "attachment" && m.attachment ? [[m.id, m.attachment.size] as const] : [])));
    const pointed = new Set<string>();
    for (const p of archive.media) {
      if (attachments.get(p.messageId) !== p.size) throw new EngineError("bad_request", "the history archive has media for a message it does not carry");
      if (pointed.has(p.messageId)) throw new EngineError("bad_request", "the history archive has media for a message twice");
      pointed.add(p.messageId);
    }
  }
  return archive;
}

/** An archive's groups as this device checked them (verifyGroups): the rows to store, and which conversations may come. */
export interface VerifiedGroups {
  rows: GroupRow[];
  /** The change lines as the verified chains say them (stored only where the archive lacks one). */
  lines: MessageRow[];
  /** Conversation ids of the groups that verified (or that this device holds already at that point or later). */
  accepted: Set<string>;
  refused: number;
}

/**
 * The groups of an archive as this device makes them: each signed chain replayed from the creation, every
 * link's author and signature checked with the authors' account keys as a group update from my own other
 * device is checked (../groups/service). So the archive cannot make up a member, an admin, a name or a
 * group I am not in. A group whose chain does not verify whole is left out, with its conversation and
 * messages; one this device holds already at that point or later stays as it is. No sender key comes: this
 * device makes its own, and members' keys come from their devices.
 */
export async function verifyGroups(ctx: EngineContext, archive: HistoryArchive): Promise<VerifiedGroups> {
  const out: VerifiedGroups = { rows: [], lines: [], accepted: new Set(), refused: 0 };
  if (archive.groups.length === 0) return out;
  const keys = new Map((await ctx.db.accounts.toArray()).map((a) => [a.address as string, a.identityKey]));
  const batch = new GroupBatch(ctx, async () => undefined, new Map(), (our) => keys.get(our));
  for (const g of archive.groups) {
    const update = { type: "groupUpdate", groupId: g.groupId, changes: g.chain.map((c) => toB64(c)) } as unknown as GroupUpdateContent;
    await batch.update(g.ourAddress, g.ourAddress, update);
  }
  const writes = batch.writes();
  const written = new Map(writes.groups.map((r) => [r.id, r]));
  for (const g of archive.groups) {
    const id = groupRowId(g.ourAddress, g.groupId);
    const row = written.get(id);
    const whole = (r: GroupRow | undefined) => r !== undefined && !r.left && r.version >= g.chain.length && sameBytes(r.chain[g.chain.length - 1], g.chain[g.chain.length - 1]);
    if (row && whole(row)) out.rows.push(row);
    else if (row || !whole(await ctx.db.groups.get(id))) {
      out.refused++;
      continue;
    }
    out.accepted.add(groupConversationId(g.ourAddress, g.groupId));
  }
  out.lines = writes.lines.filter((l) => out.accepted.has(l.conversationId));
  return out;
}

export interface ImportCounts {
  conversations: number;
  messages: number;
  /** Groups of the archive left out because their chain did not verify. */
  groupsRefused: number;
  /** The attachment messages whose bytes came along: queued for this device's transfer runner. */
  media: string[];
}

/**
 * Stores an archive: what this device already holds (a message that came since the link) is kept, the
 * rest goes in IMPORT_BATCH rows a transaction (the search index middleware indexes them in the same
 * commit). Conversations go last, so the inbox shows each with its messages already there. Groups come
 * only as `groups` (verifyGroups) has them; the archive's other groups are left out with their messages.
 */
export async function importArchive(
  db: JunctionDB,
  archive: HistoryArchive,
  now: number,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
  groups: VerifiedGroups = { rows: [], lines: [], accepted: new Set(), refused: 0 },
): Promise<ImportCounts> {
  const kept = (conversation: ConversationRow | undefined) => conversation !== undefined && (!conversation.groupId || groups.accepted.has(conversation.id));
  const conversations = archive.conversations.filter(kept);
  const wanted = new Set(conversations.map((c) => c.id));
  // what disappeared while the archive travelled does not come back
  const messages = archive.messages.filter((m) => wanted.has(m.conversationId) && (m.expiresAt === undefined || m.expiresAt > now));
  const total = messages.length;
  await db.transaction("rw", [db.contacts, db.addressBook, db.people, db.identities, db.messages], async () => {
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
  await db.transaction("rw", [db.conversations, db.groups, db.messages], async () => {
    // a change line the archive lacks, as the verified chain says it (the archive's own read better: they name the authors)
    await putMissing(db.messages, groups.lines, (m) => m.id);
    // a group that moved on here while the archive travelled keeps what it has
    const heldGroups = await db.groups.bulkGet(groups.rows.map((r) => r.id));
    const newer = groups.rows.filter((r, i) => (heldGroups[i]?.version ?? 0) < r.version);
    if (newer.length > 0) await db.groups.bulkPut(newer);
    const groupRows = new Map<string, GroupRow>();
    for (const g of await db.groups.bulkGet(conversations.filter((c) => c.groupId).map((c) => groupRowId(c.ourAddress, c.groupId as string)))) if (g) groupRows.set(g.conversationId, g);
    const held = await db.conversations.bulkGet(conversations.map((c) => c.id));
    const rows = conversations.flatMap((c, i) => {
      const row = merged(c, held[i]);
      if (!c.groupId) return [row];
      // the group's name, members' brands, timer and whether I am in it: as the verified chain says
      const group = groupRows.get(c.id);
      return group ? [groupConversation(row, group, now)] : [];
    });
    await db.conversations.bulkPut(rows);
  });
  // what my other devices synced while the archive travelled (a delete for me, a group's pin) holds over it
  await applyAllHeld(db);
  const media = await queueMedia(db, archive.media ?? [], new Set(messages.map((m) => m.id)));
  onProgress?.(total, total);
  return { conversations: conversations.length, messages: imported, groupsRefused: groups.refused, media };
}

/**
 * The archive's media, for the messages it brought here: each a key row and a queued download, so the
 * transfer runner fetches it as any attachment (progress per message; nothing shown before the whole
 * ciphertext authenticated and matched its digest and commitment). A message deleted here meanwhile, or
 * whose attachment this device already has a transfer for (it came since the link), stays as it is.
 */
async function queueMedia(db: JunctionDB, pointers: ArchivedMedia[], brought: Set<string>): Promise<string[]> {
  const wanted = pointers.filter((p) => brought.has(p.messageId));
  if (wanted.length === 0) return [];
  const ids = wanted.map((p) => p.messageId);
  return db.transaction("rw", [db.messages, db.transfers, db.attachmentKeys], async () => {
    const [rows, held] = await Promise.all([db.messages.bulkGet(ids), db.transfers.bulkGet(ids)]);
    const fresh = wanted.flatMap((p, i) => {
      const m = rows[i];
      return m?.kind === "attachment" && m.attachment?.size === p.size && !held[i] ? [{ p, m, attachment: m.attachment }] : [];
    });
    await db.attachmentKeys.bulkPut(fresh.map(({ p }) => ({ messageId: p.messageId, key: fromB64(p.key), blobId: p.blobId, digest: fromB64(p.digest), commitment: fromB64(p.commitment) })));
    await db.transfers.bulkPut(fresh.map(({ p, m, attachment }) => ({ ...incomingTransfer(p.messageId, m.conversationId, attachment, blobBytes(p.size)), state: "queued" as const })));
    return fresh.map(({ p }) => p.messageId);
  });
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

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The rows of `rows` whose key `table` does not hold yet, stored; how many. */
async function putMissing<T, K>(table: { bulkGet(keys: K[]): Promise<(T | undefined)[]>; bulkPut(rows: T[]): Promise<unknown> }, rows: T[], keyOf: (row: T) => K): Promise<number> {
  if (rows.length === 0) return 0;
  const held = await table.bulkGet(rows.map(keyOf));
  const missing = rows.filter((_, i) => held[i] === undefined);
  if (missing.length > 0) await table.bulkPut(missing);
  return missing.length;
}
