// sync: what I changed on one of my devices, for my own other devices to show too (docs/PROTOCOL.md,
// "Sync between my devices"): read positions, deletes for me, pin / archive / mute, the read-receipts
// setting, contacts and their nicknames, person links and my devices' names. It goes only to the other
// devices of my own account (the self queue), and is accepted only from a device on my own device list
// (receive.ts); a peer's is refused and counted. Every item but a read position and a delete (which only
// ever move one way) carries the clock of its change (`at`), and the newest per item wins, so a late,
// older sync never undoes a newer state and applying one twice changes nothing. Drafts never travel.
import { z } from "zod";
import { schemas } from "../../../protocol";
import { durableFields, MessageId, Timestamp } from "../base";
import { HistoryOffer } from "../../history/offer";

/** Most items in one sync message. */
export const MAX_SYNC_ITEMS = 200;
/** Most messages one delete-for-me item names. */
export const MAX_SYNC_DELETE_IDS = 500;
/** Longest device name (as the link step takes it). */
export const MAX_SYNC_DEVICE_NAME = 64;

/** A conversation of the account, as its id reads after `<my address>|`: the peer, or `group:<id>`. */
export const ConversationRef = z.union([schemas.Address, z.string().regex(/^group:[0-9a-f]{64}$/)]);

const ReadItem = z.object({ t: z.literal("read"), c: ConversationRef, upTo: Timestamp });
const ConversationItem = z.object({ t: z.literal("conv"), c: ConversationRef, field: z.enum(["pinned", "archived", "muted"]), on: z.boolean(), at: Timestamp });
const DeleteItem = z.object({ t: z.literal("deleteForMe"), c: ConversationRef, ids: z.array(MessageId).min(1).max(MAX_SYNC_DELETE_IDS) });
const SettingItem = z.object({ t: z.literal("setting"), name: z.literal("readReceipts"), on: z.boolean(), at: Timestamp });
const ContactItem = z.object({ t: z.literal("contact"), address: schemas.Address, nickname: z.string().max(100).nullable(), added: z.boolean(), at: Timestamp });
/** `to` null: the address is taken out of its person. */
const PersonItem = z.object({ t: z.literal("person"), address: schemas.Address, to: schemas.Address.nullable(), at: Timestamp });
const DeviceNameItem = z.object({ t: z.literal("deviceName"), device: z.string().min(1).max(64), name: z.string().trim().min(1).max(MAX_SYNC_DEVICE_NAME), at: Timestamp });

/** The primary's history offer for one newly linked device of mine (`device`: its id under this account); the others ignore it. */
const HistoryItem = z.object({ t: z.literal("history"), device: z.string().min(1).max(64), offer: HistoryOffer, at: Timestamp });
/** A linked device of mine (`device`) asks the primary to send the history again (the first one failed or never came). */
const HistoryAskItem = z.object({ t: z.literal("historyAsk"), device: z.string().min(1).max(64), at: Timestamp });

/** A linked device of mine is done with a history archive (imported or skipped): the primary that uploaded it deletes it. */
const HistoryDoneItem = z.object({ t: z.literal("historyDone"), blobId: z.string().regex(/^[A-Za-z0-9_-]{43}$/), at: Timestamp });

export const SyncItem = z.discriminatedUnion("t", [ReadItem, ConversationItem, DeleteItem, SettingItem, ContactItem, PersonItem, DeviceNameItem, HistoryItem, HistoryAskItem, HistoryDoneItem]);
export type SyncItem = z.infer<typeof SyncItem>;

/** An item of a kind this build does not know (or one it cannot read): skipped, the rest still apply. */
const OtherItem = z.looseObject({ t: z.string().max(32) });

export const SyncContent = z.object({
  ...durableFields,
  type: z.literal("sync"),
  items: z.array(z.union([SyncItem, OtherItem])).min(1).max(MAX_SYNC_ITEMS),
});
export type SyncContent = z.infer<typeof SyncContent>;

export const sync = { type: "sync", schema: SyncContent, delivery: "durable", placement: "sync" } as const;
