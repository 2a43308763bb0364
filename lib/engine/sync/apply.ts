// Sync between my own devices, incoming (docs/PROTOCOL.md, "Sync between my devices"). Runs inside the
// receive commit's transaction (awaiting only Dexie requests), item by item: each applies only when it is
// newer than the clock held for its item, so a late, older sync never undoes a newer state and a copy
// applied twice changes nothing. Who may send one is checked before this (receive.ts): a device on my own
// account's list, never a peer.
import Dexie from "dexie";
import type { Address } from "../../brands";
import { conversationId, type ConversationRow, type JunctionDB, type MessageRow } from "../../store/db";
import { markIncomingRead, newConversation } from "../../store/conversations";
import { addContact, linkAddresses, PeopleError, setNickname, unlinkAddress } from "../../store/people";
import { getSettings, SETTINGS_KEY } from "../../store/settings";
import { SyncItem, type SyncContent } from "../content/kinds/sync";
import { deleteForMe } from "../actions";
import { clockKey } from "./queue";

export type SyncOutcome = "applied" | "stale" | "refused";

/** The tables applySync writes, besides those of the receive commit. */
export function syncApplyTables(db: JunctionDB) {
  return [db.syncClock, db.deviceLists, db.accounts, db.addressBook, db.people, db.drafts, db.sentLog, db.meta];
}

/** Applies the items of one sync from another device of `our`, in order; counts what each came to. */
export async function applySync(db: JunctionDB, our: Address, content: SyncContent, now: number): Promise<Record<SyncOutcome | "skipped", number>> {
  const counts = { applied: 0, stale: 0, refused: 0, skipped: 0 };
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
    case "deleteForMe": {
      const conv = await db.conversations.get(conversationId(our, item.c as Address));
      if (!conv) return "stale";
      const rows = (await db.messages.bulkGet(item.ids)).filter((m): m is MessageRow => !!m && m.conversationId === conv.id);
      if (rows.length === 0) return "stale";
      await deleteForMe(db, conv, rows);
      return "applied";
    }
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
  }
}

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

async function conversationField(db: JunctionDB, our: Address, item: Extract<SyncItem, { t: "conv" }>, now: number): Promise<SyncOutcome> {
  const convId = conversationId(our, item.c as Address);
  let conv = await db.conversations.get(convId);
  // pinned (say) before its first message reached this device: a direct conversation is made for it
  if (!conv && !item.c.startsWith("group:") && item.c !== our) {
    conv = newConversation(our, item.c as Address, now);
    await db.conversations.add(conv);
  }
  if (!conv) return "stale";
  if (!(await newer(db, clockKey.conv(convId, item.field), item.at))) return "stale";
  const next: ConversationRow = { ...conv };
  if (item.field === "pinned") {
    if (item.on) next.pinnedAt = item.at;
    else delete next.pinnedAt;
  } else if (item.field === "archived") next.archived = item.on ? 1 : 0;
  else next.muted = item.on;
  await db.conversations.put(next);
  return "applied";
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
