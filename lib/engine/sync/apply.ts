// Sync between my own devices, incoming (docs/PROTOCOL.md, "Sync between my devices"). Runs inside the
// receive commit's transaction (awaiting only Dexie requests), item by item: each applies only when it is
// newer than the clock held for its item, so a late, older sync never undoes a newer state and a copy
// applied twice changes nothing. Who may send one is checked before this (receive.ts): a device on my own
// account's list, never a peer. An item that names a message or a (group) conversation this device does not
// hold yet is kept (syncPending) and applied in the commit that stores it: my devices' mail and a peer's
// come in no fixed order.
import Dexie from "dexie";
import type { Address } from "../../brands";
import { conversationId, SYNC_PENDING_MAX, type ConversationRow, type JunctionDB, type MessageRow, type SyncPendingRow } from "../../store/db";
import { markIncomingRead, newConversation } from "../../store/conversations";
import { addContact, linkAddresses, PeopleError, setNickname, unlinkAddress } from "../../store/people";
import { getSettings, SETTINGS_KEY } from "../../store/settings";
import { mediaTables } from "../../store/media";
import { inTransaction } from "../../store/transactions";
import { SyncItem, type SyncContent } from "../content/kinds/sync";
import { deleteForMe } from "../actions";
import { clockKey, queueHistoryDone } from "./queue";
import { blobList, HISTORY_ASK_KEY, HISTORY_DONE_KEY, historyAsks, keepOffer, MAX_HISTORY_BLOBS, pendingHistory, setPendingHistory } from "../../store/history";

/** `held`: it names what is not here yet, and waits for it (syncPending). */
export type SyncOutcome = "applied" | "stale" | "refused" | "held";

/** The tables applySync writes, besides those of the receive commit. */
export function syncApplyTables(db: JunctionDB) {
  return [db.syncClock, db.deviceLists, db.accounts, db.addressBook, db.people, db.drafts, db.sentLog, db.meta, db.syncPending];
}

/** Applies the items of one sync from another device of `our`, in order; counts what each came to. */
export async function applySync(db: JunctionDB, our: Address, content: SyncContent, now: number): Promise<Record<SyncOutcome | "skipped", number>> {
  const counts = { applied: 0, stale: 0, refused: 0, held: 0, skipped: 0 };
  for (const raw of content.items) {
    // an item this build does not know (or cannot read) is skipped: the others still apply
    const item = SyncItem.safeParse(raw);
    if (!item.success) {
      counts.skipped += 1;
      continue;
    }
    counts[await applyItem(db, our, item.data, now)] += 1;
  }
  return counts;
}

async function applyItem(db: JunctionDB, our: Address, item: SyncItem, now: number): Promise<SyncOutcome> {
  switch (item.t) {
    case "read":
      return readUpTo(db, conversationId(our, item.c as Address), item.upTo, now);
    case "conv":
      return conversationField(db, our, item, now);
    case "deleteForMe":
      return deleteItem(db, our, item, now);
    case "setting": {
      if (!(await newer(db, clockKey.setting(item.name), item.at))) return "stale";
      // written here, not through updateSettings: that opens a transaction of its own
      await db.meta.put({ key: SETTINGS_KEY, value: { ...(await getSettings(db)), readReceipts: item.on } });
      return "applied";
    }
    case "contact":
      if ((await db.accounts.get(item.address as Address)) || !(await newer(db, clockKey.contact(item.address), item.at))) return "stale";
      return people(async () => {
        if (item.added) await addContact(db, item.address as Address, null, now);
        await setNickname(db, item.address as Address, item.nickname, now);
      });
    case "person": {
      const to = item.to as Address | null;
      if (!(await newer(db, clockKey.person(item.address), item.at))) return "stale";
      if (to !== null && !(await newer(db, clockKey.person(to), item.at))) return "stale";
      return people(async () => {
        if (to === null) await unlinkAddress(db, item.address as Address, now);
        else await linkAddresses(db, item.address as Address, to, now);
      });
    }
    case "deviceName":
      return deviceName(db, item.device, item.name, item.at);
    case "history": {
      // for one device of mine: the others ignore it
      if ((await db.deviceLists.get(our))?.thisDevice !== item.device) return "stale";
      // skipped before it came: not fetched; the primary hears it may delete the archive
      const pending = await pendingHistory(db);
      if (pending?.skipped) {
        await setPendingHistory(db, null);
        if (item.offer.t === "history") await queueHistoryDone(db, our, item.offer.blobId, now);
        return "stale";
      }
      return (await keepOffer(db, item.offer)) ? "applied" : "stale";
    }
    case "historyAsk": {
      // an ask that took longer than a link's wait to come is not acted on
      if (item.at < now - HISTORY_ASK_MAX_AGE_MS) return "stale";
      const asks = (await historyAsks(db)).filter((a) => !(a.our === our && a.device === item.device));
      await db.meta.put({ key: HISTORY_ASK_KEY, value: [...asks, { our, device: item.device, at: item.at }].slice(-MAX_HISTORY_ASKS) });
      return "applied";
    }
    case "historyDone": {
      const done = await blobList<string>(db, HISTORY_DONE_KEY);
      if (done.includes(item.blobId)) return "stale";
      await db.meta.put({ key: HISTORY_DONE_KEY, value: [...done, item.blobId].slice(-MAX_HISTORY_BLOBS) });
      return "applied";
    }
  }
}

/** How old an ask for the history may be and still be answered; how many wait at once. */
const HISTORY_ASK_MAX_AGE_MS = 60 * 60_000;
const MAX_HISTORY_ASKS = 16;

/** Records `at` for `key` when it is newer than the clock held; false (nothing recorded) when it is not. */
async function newer(db: JunctionDB, key: string, at: number): Promise<boolean> {
  const held = await db.syncClock.get(key);
  if (held && held.at >= at) return false;
  await db.syncClock.put({ key, at });
  return true;
}

async function people(work: () => Promise<void>): Promise<SyncOutcome> {
  try {
    await work();
    return "applied";
  } catch (error) {
    if (error instanceof PeopleError) return "refused";
    throw error;
  }
}

/**
 * Read on another device up to `upTo` (the newest sentAt read there): every incoming message of the
 * conversation up to it is read here too, and so is one that reaches this device later (readOnArrival).
 */
async function readUpTo(db: JunctionDB, convId: string, upTo: number, now: number): Promise<SyncOutcome> {
  // the clock of a read position is the position itself: it only moves forward
  if (!(await newer(db, clockKey.read(convId), upTo))) return "stale";
  await markReadThrough(db, convId, upTo, now);
  return "applied";
}

async function markReadThrough(db: JunctionDB, convId: string, upTo: number, now: number): Promise<void> {
  const unread = await db.messages
    .where("[conversationId+sentAt]")
    .between([convId, Dexie.minKey], [convId, upTo], true, true)
    .filter((m) => m.direction === "in" && m.state !== "read")
    .primaryKeys();
  if (unread.length === 0) return;
  await markIncomingRead(db, convId, unread, now);
  const conv = await db.conversations.get(convId);
  if (conv?.mentionedIn && unread.includes(conv.mentionedIn)) await db.conversations.update(convId, { mentionedIn: undefined });
}

/**
 * Messages stored by a receive commit that another of my devices has read already (its read position came
 * first: my devices' mail and a peer's arrive in no fixed order) are stored read. Only positions from my
 * other devices count (what I read here is not kept as one): a message from a peer whose clock runs behind,
 * arriving after I read here, still shows unread.
 */
export async function readOnArrival(db: JunctionDB, fresh: readonly MessageRow[], now: number): Promise<void> {
  const convIds = [...new Set(fresh.filter((m) => m.direction === "in" && m.state !== "read").map((m) => m.conversationId))];
  if (convIds.length === 0) return;
  const positions = await db.syncClock.bulkGet(convIds.map(clockKey.read));
  for (const [i, convId] of convIds.entries()) {
    const upTo = positions[i]?.at;
    if (upTo !== undefined) await markReadThrough(db, convId, upTo, now);
  }
}

/**
 * Deleted for me on another device: removed here too. One that has not reached this device yet gets a
 * tombstone, so that it is removed in the commit that stores it and never shows.
 */
async function deleteItem(db: JunctionDB, our: Address, item: Extract<SyncItem, { t: "deleteForMe" }>, now: number): Promise<SyncOutcome> {
  const convId = conversationId(our, item.c as Address);
  const ids = [...new Set(item.ids)];
  const found = await db.messages.bulkGet(ids);
  // a message of another conversation is not this item's to delete, now or later
  const rows = found.filter((m): m is MessageRow => !!m && m.conversationId === convId);
  const missing = ids.filter((_, i) => !found[i]);
  // a copy of a delete already held (sent again, or by two of my devices) is held once and counted once
  const already = await db.syncPending.bulkGet(missing.map(pendingKey.deleted));
  const newly = missing.filter((_, i) => !already[i]);
  await hold(db, our, newly.map((id) => ({ key: pendingKey.deleted(id), target: id, ourAddress: our, conversationId: convId, receivedAt: now })));
  const conv = rows.length > 0 ? await db.conversations.get(convId) : undefined;
  if (conv) await deleteForMe(db, conv, rows);
  return conv ? "applied" : newly.length > 0 ? "held" : "stale";
}

async function conversationField(db: JunctionDB, our: Address, item: Extract<SyncItem, { t: "conv" }>, now: number): Promise<SyncOutcome> {
  const convId = conversationId(our, item.c as Address);
  const key = clockKey.conv(convId, item.field);
  let conv = await db.conversations.get(convId);
  // pinned (say) before its first message reached this device: a direct conversation is made for it
  if (!conv && !item.c.startsWith("group:") && item.c !== our) {
    conv = newConversation(our, item.c as Address, now);
    await db.conversations.add(conv);
  }
  if (!conv && !item.c.startsWith("group:")) return "stale";
  if (!(await newer(db, key, item.at))) return "stale";
  if (conv) {
    await db.conversations.put(withField(conv, item.field, item.on, item.at));
    return "applied";
  }
  // a group that has not reached this device yet: its conversation takes the field when it is made
  await hold(db, our, [{ key, target: convId, ourAddress: our, conversationId: convId, field: item.field, on: item.on, at: item.at, receivedAt: now }]);
  return "held";
}

function withField(conv: ConversationRow, field: "pinned" | "archived" | "muted", on: boolean, at: number): ConversationRow {
  const next: ConversationRow = { ...conv };
  if (field === "pinned") {
    if (on) next.pinnedAt = at;
    else delete next.pinnedAt;
  } else if (field === "archived") next.archived = on ? 1 : 0;
  else next.muted = on;
  return next;
}

/** Keys of held items (SyncPendingRow); a conversation item is held under its clock key. */
const pendingKey = {
  deleted: (messageId: string) => `deleteForMe|${messageId}`,
};

/**
 * Holds `rows` for what has not come; past SYNC_PENDING_MAX for the account, its oldest go: delete
 * tombstones first (a flood of them is cheap to make), so a group's held pin, archive or mute (three at most
 * per group) is not pushed out by them.
 */
async function hold(db: JunctionDB, our: Address, rows: SyncPendingRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.syncPending.bulkPut(rows);
  const mine = () => db.syncPending.where("[ourAddress+receivedAt]").between([our, Dexie.minKey], [our, Dexie.maxKey]);
  let excess = (await mine().count()) - SYNC_PENDING_MAX;
  if (excess <= 0) return;
  const tombstones = await mine()
    .filter((p) => p.field === undefined)
    .limit(excess)
    .primaryKeys();
  await db.syncPending.bulkDelete(tombstones);
  excess -= tombstones.length;
  if (excess > 0) await db.syncPending.bulkDelete(await mine().limit(excess).primaryKeys());
}

/**
 * Held sync items whose message or conversation is here now, applied: a message deleted for me on another
 * device goes again at once (in the receive commit that stored it: it never shows), and a group conversation
 * takes the pin, archive or mute set there, unless a newer change of that field was made since (its clock
 * moved on). Tombstones stay until they expire, so a message sent again is removed again; a conversation item
 * goes once applied. `messages`: messages just stored (all of them when undefined: a sweep);
 * `conversations`: conversations that may be new. Returns how many messages went and fields were set.
 */
export async function applyHeld(db: JunctionDB, messages: readonly MessageRow[] | undefined, conversations: readonly string[]): Promise<number> {
  const targets = messages === undefined ? undefined : [...new Set([...messages.map((m) => m.id), ...conversations])];
  if (targets?.length === 0) return 0;
  const held = targets === undefined ? await db.syncPending.toArray() : await db.syncPending.where("target").anyOf(targets).toArray();
  if (held.length === 0) return 0;
  return (await heldFields(db, held)) + (await heldDeletes(db, held, messages));
}

/**
 * Every held item whose message or conversation came by another way (a history import, a group made here),
 * applied in a transaction of its own; how many messages went and fields were set.
 */
export async function applyAllHeld(db: JunctionDB): Promise<number> {
  if ((await db.syncPending.count()) === 0) return 0;
  return inTransaction(db, [db.conversations, db.messages, db.outbox, ...mediaTables(db), ...syncApplyTables(db)], (tx) => applyHeld(tx, undefined, []));
}

/** Conversation items held for conversations that are here now: set, unless the field changed since; gone. */
async function heldFields(db: JunctionDB, held: SyncPendingRow[]): Promise<number> {
  let n = 0;
  for (const p of held) {
    if (p.field === undefined || p.at === undefined) continue;
    const [conv, clock] = await Promise.all([db.conversations.get(p.target), db.syncClock.get(p.key)]);
    if (!conv) continue;
    await db.syncPending.delete(p.key);
    if (clock?.at !== p.at) continue;
    await db.conversations.put(withField(conv, p.field, p.on === true, p.at));
    n += 1;
  }
  return n;
}

/** Messages here now that were deleted for me on another device (in their own conversation only): removed. */
async function heldDeletes(db: JunctionDB, held: SyncPendingRow[], messages: readonly MessageRow[] | undefined): Promise<number> {
  const tombstones = held.filter((p) => p.field === undefined);
  if (tombstones.length === 0) return 0;
  const stored = messages === undefined ? await db.messages.bulkGet(tombstones.map((p) => p.target)) : undefined;
  const fresh = new Map(messages?.map((m) => [m.id, m]));
  const gone = new Map<string, MessageRow[]>();
  for (const [i, p] of tombstones.entries()) {
    const m = stored ? stored[i] : fresh.get(p.target);
    if (m && m.conversationId === p.conversationId) gone.set(m.conversationId, [...(gone.get(m.conversationId) ?? []), m]);
  }
  let n = 0;
  for (const [convId, rows] of gone) {
    const conv = await db.conversations.get(convId);
    if (!conv) continue;
    await deleteForMe(db, conv, rows);
    n += rows.length;
  }
  return n;
}

/** Another device of mine renamed one of my devices: the name shows on every list of mine that names it. */
async function deviceName(db: JunctionDB, deviceId: string, name: string, at: number): Promise<SyncOutcome> {
  if (!(await newer(db, clockKey.deviceName(deviceId), at))) return "stale";
  const mine = (await db.accounts.toCollection().primaryKeys()) as Address[];
  const lists = await db.deviceLists.bulkGet(mine);
  let named = false;
  for (const row of lists) {
    if (!row || !row.devices.some((d) => d.deviceId === deviceId)) continue;
    await db.deviceLists.put({ ...row, names: { ...row.names, [deviceId]: name } });
    named = true;
  }
  return named ? "applied" : "stale";
}
