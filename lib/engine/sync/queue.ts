// Sync between my own devices, outgoing (docs/PROTOCOL.md, "Sync between my devices"). A local method
// that changes something my other devices should show takes the item's clock here and queues the sync
// in its own transaction, so a reload either shows the change done and on its way to my other devices,
// or not done. Runs in any tab's worker (only the database is needed); the leader's outbox sends it.
import type { Address } from "../../brands";
import type { JunctionDB } from "../../store/db";
import { randomId, selfQueue } from "../../store/ids";
import { CONTENT_VERSION } from "../content/base";
import { MAX_SYNC_ITEMS, type SyncContent, type SyncItem } from "../content/kinds/sync";

/** The tables queueSync and localClock use (the caller's transaction must hold them). */
export function syncTables(db: JunctionDB) {
  return [db.syncClock, db.outbox, db.deviceLists, db.accounts];
}

/** Clock keys of the synced items (SyncClockRow). */
export const clockKey = {
  conv: (convId: string, field: string) => `conv|${convId}|${field}`,
  read: (convId: string) => `read|${convId}`,
  setting: (name: string) => `setting|${name}`,
  contact: (address: string) => `contact|${address}`,
  person: (address: string) => `person|${address}`,
  deviceName: (deviceId: string) => `deviceName|${deviceId}`,
};

/**
 * The clock of a change made here now, recorded: past every clock this device has seen for the item, so
 * the change wins over all of them here and on my other devices, whatever their clocks say.
 */
export async function localClock(db: JunctionDB, key: string, now: number): Promise<number> {
  const held = await db.syncClock.get(key);
  const at = Math.max(now, (held?.at ?? 0) + 1);
  await db.syncClock.put({ key, at });
  return at;
}

/**
 * Queues `items` for the other devices of each account in `accounts` ("all": every account of mine, for
 * items that are no one account's, such as contacts; each device applies a copy once, by its clock). An
 * account alone on its device list gets nothing: there is no one to tell.
 */
export async function queueSync(db: JunctionDB, accounts: Address[] | "all", items: SyncItem[], now: number): Promise<void> {
  if (items.length === 0) return;
  const addresses = accounts === "all" ? ((await db.accounts.toCollection().primaryKeys()) as Address[]) : accounts;
  const lists = await db.deviceLists.bulkGet(addresses);
  for (const [i, address] of addresses.entries()) {
    if ((lists[i]?.devices.length ?? 0) < 2) continue;
    for (let k = 0; k < items.length; k += MAX_SYNC_ITEMS) {
      const content: SyncContent = { v: CONTENT_VERSION, type: "sync", id: randomId(), sentAt: now, items: items.slice(k, k + MAX_SYNC_ITEMS) };
      await db.outbox.add({ kind: "sync", conversationId: selfQueue(address), messageId: content.id, change: JSON.stringify(content), createdAt: now, attempts: 0 });
    }
  }
}

/** The part of a conversation id after `<my address>|`: how a sync names the conversation. */
export function conversationRef(convId: string, our: Address): string {
  return convId.slice(our.length + 1);
}

/**
 * Tells my other devices (the primary among them) that this device is done with a history archive, imported or
 * skipped: the primary deletes it at the relay. The caller's transaction must hold `syncTables`.
 */
export async function queueHistoryDone(db: JunctionDB, our: Address | undefined, blobId: string, now: number): Promise<void> {
  if (our) await queueSync(db, [our], [{ t: "historyDone", blobId, at: now }], now);
}
