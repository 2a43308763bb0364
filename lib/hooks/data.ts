"use client";
// Live reads of the read model. Every query here is served by an index of lib/store/db.ts,
// so the inbox stays fast with thousands of conversations and the log with thousands of messages.
import Dexie from "dexie";
import { useLiveQuery } from "dexie-react-hooks";
import { useEffect, useMemo, useRef, useState } from "react";
import type { Address } from "../brands";
import { DEFAULT_SETTINGS, getDb, type DeviceListRow, type DraftRow, type Settings } from "../store/db";
import { queryAccounts, queryInboxAsSet, queryMessageWindow, queryUnreadTotal, type InboxRows, type MessageWindow } from "./queries";
import { earlyAccounts, earlyInbox, startEarlyReads } from "./startup";
import { OPENING_WINDOW, shareRows, takeOpeningConversation, takeOpeningMessages } from "./opening";
import type { AccountRow, ContactRow, ConversationRow, GroupRow, IdentityRow, InboxFilter, MediaRow, MessageRow, TransferRow } from "./types";
import { mediaBlob, mediaUsage } from "../store/media";
import { historyProgress, LINK_KEY, type HistoryProgress, type LinkState } from "../store/history";

export type { InboxRows, MessageWindow };

// the database opens and the first screen's reads start now, while the page is still evaluating
startEarlyReads();

/** undefined while loading, then my accounts on this device, oldest first. */
export function useAccounts(): AccountRow[] | undefined {
  return useLiveQuery(() => queryAccounts(getDb()), [], earlyAccounts());
}

/**
 * Conversations for one filter chip with their peers' names, at most `limit`. The inbox asks for a
 * screenful first and for everything right after, so the first rows paint without waiting for
 * thousands of others.
 */
export function useInbox(filter: InboxFilter, limit: number): InboxRows | undefined {
  return useLiveQuery(() => queryInboxAsSet(getDb(), filter, limit), [filter, limit], earlyInbox(filter, limit));
}

/** What to call the person at `address`: the name I gave them, else the one they gave themselves, or null. */
export function useContactName(address: Address | null): string | null | undefined {
  return useLiveQuery(async () => {
    if (!address) return null;
    const [contact, mine]: [ContactRow | undefined, { nickname?: string } | undefined] = await Promise.all([getDb().contacts.get(address), getDb().addressBook.get(address)]);
    return mine?.nickname ?? contact?.displayName ?? null;
  }, [address]);
}

/**
 * What was read when the conversation was chosen (lib/hooks/opening.ts), shown until `live` answers: taken
 * once, at mount.
 */
function useOpeningRead<T>(live: T | undefined, take: () => Promise<T> | undefined): T | undefined {
  const [early] = useState(take);
  const [value, setValue] = useState<T | undefined>(undefined);
  useEffect(() => {
    if (!early) return;
    let on = true;
    early.then(
      (v) => {
        if (on) setValue(v);
      },
      () => undefined,
    );
    return () => {
      on = false;
    };
  }, [early]);
  return live !== undefined ? live : value;
}

/** undefined while loading, null when there is no such conversation. */
export function useConversation(id: string | null): ConversationRow | null | undefined {
  const live = useLiveQuery(async () => (id ? ((await getDb().conversations.get(id)) ?? null) : null), [id]);
  return useOpeningRead(live, () => (id ? takeOpeningConversation(id) : undefined));
}

/** The group a group conversation stands for (null: not a group, or not here). */
export function useGroup(conversation: ConversationRow | null | undefined): GroupRow | null | undefined {
  const id = conversation?.groupId ? `${conversation.ourAddress}|${conversation.groupId}` : null;
  return useLiveQuery(async () => (id ? ((await getDb().groups.get(id)) ?? null) : null), [id]);
}

/** The newest `limit` messages of a conversation in display order (oldest first). */
export function useMessages(conversationId: string | null, limit: number): MessageWindow | undefined {
  const live = useLiveQuery(
    async () => (conversationId ? queryMessageWindow(getDb(), conversationId, limit) : { messages: [], hasOlder: false }),
    [conversationId, limit],
  );
  const early = useOpeningRead(live, () => (conversationId ? takeOpeningMessages(conversationId, limit) : undefined));
  // what was read at the choice is a window of OPENING_WINDOW: not a stand-in for a larger one
  const shown = live !== undefined || limit === OPENING_WINDOW ? early : undefined;
  // each answer keeps the objects of the messages that did not change (the log's bubbles are memoised on them)
  const kept = useRef<MessageWindow | undefined>(undefined);
  return useMemo(() => {
    const next = shown === undefined ? undefined : shareRows(kept.current, shown);
    kept.current = next;
    return next;
  }, [shown]);
}

/** The peer's identity as seen from my account in this conversation (verified state, key change). */
export function useIdentity(conversationId: string | null): IdentityRow | null | undefined {
  return useLiveQuery(async () => (conversationId ? ((await getDb().identities.get(conversationId)) ?? null) : null), [conversationId]);
}

/**
 * Sum of unread counts over every conversation, for the title and the app badge. Off until
 * `enabled`, so it does not queue in IndexedDB ahead of the inbox's first rows.
 */
export function useUnreadTotal(enabled = true): number {
  return useLiveQuery(() => (enabled ? queryUnreadTotal(getDb()) : 0), [enabled], 0);
}

/** What I was writing in a conversation: undefined while loading, null when there is no draft. */
export function useDraft(conversationId: string): DraftRow | null | undefined {
  return useLiveQuery(async () => (await getDb().drafts.get(conversationId)) ?? null, [conversationId]);
}

/** One message by id (for a reply's quote held in a draft): undefined while loading, null when gone. */
export function useMessage(id: string | null | undefined): MessageRow | null | undefined {
  return useLiveQuery(async () => (id ? ((await getDb().messages.get(id)) ?? null) : null), [id]);
}

/** My settings with the defaults filled in; the defaults while loading. */
export function useSettings(): Settings {
  return useLiveQuery(
    async () => {
      const row = await getDb().meta.get("settings");
      const stored = row && typeof row.value === "object" && row.value !== null ? (row.value as Partial<Settings>) : {};
      return { ...DEFAULT_SETTINGS, ...stored };
    },
    [],
    DEFAULT_SETTINGS,
  );
}

/** How many messages of a conversation are before `sentAt` (to know how large a window must be to hold one). */
export async function messagesAfter(conversationId: string, sentAt: number): Promise<number> {
  return getDb()
    .messages.where("[conversationId+sentAt]")
    .between([conversationId, sentAt], [conversationId, Dexie.maxKey], true, true)
    .count();
}

/** A message's position in time, when it is still on this device. */
export async function findMessage(id: string): Promise<MessageRow | null> {
  return (await getDb().messages.get(id)) ?? null;
}

/** An attachment's transfer (progress, state, error); null when there is none. */
export function useTransfer(messageId: string): TransferRow | null | undefined {
  return useLiveQuery(async () => (await getDb().transfers.get(messageId)) ?? null, [messageId]);
}

/**
 * An attachment's decrypted bytes, once they are here and checked (its file, or a download's pieces
 * joined); null before. The live query watches the row; its bytes are looked up outside it (a file is
 * read through the origin-private file system, which a live query cannot follow).
 */
export function useMedia(messageId: string): (MediaRow & { blob: Blob }) | null | undefined {
  const row = useLiveQuery(async () => (await getDb().media.get(messageId)) ?? null, [messageId]);
  const [found, setFound] = useState<{ row: MediaRow; blob: Blob | null } | undefined>(undefined);
  useEffect(() => {
    if (!row) return;
    let live = true;
    mediaBlob(getDb(), row).then(
      (blob) => live && setFound({ row, blob }),
      () => live && setFound({ row, blob: null }),
    );
    return () => {
      live = false;
    };
  }, [row]);
  if (row === undefined) return undefined;
  if (row === null) return null;
  // the last lookup of this row (a row stored again is looked up again; one read again is the same)
  if (found?.row.messageId !== row.messageId || found.row.storedAt !== row.storedAt) return undefined;
  return found.blob ? { ...row, blob: found.blob } : null;
}

/** The images of a conversation that are here, in order: what the image viewer's arrows go through. */
export function useConversationImages(conversationId: string, enabled: boolean): string[] | undefined {
  return useLiveQuery(
    async () => {
      if (!enabled) return [];
      const db = getDb();
      const media = await db.media.where("conversationId").equals(conversationId).primaryKeys();
      const rows = (await db.messages.bulkGet(media)).filter((m): m is MessageRow => m !== undefined && (m.attachment?.mime.startsWith("image/") ?? false));
      return rows.sort((a, b) => a.sentAt - b.sentAt).map((m) => m.id);
    },
    [conversationId, enabled],
  );
}

/** Decrypted media kept on this device, per conversation (Settings → Storage), largest first. */
export function useMediaUsage(): { conversationId: string; peer: Address; bytes: number; count: number }[] | undefined {
  return useLiveQuery(async () => {
    const db = getDb();
    const usage = await mediaUsage(db);
    const convs = await db.conversations.bulkGet([...usage.keys()]);
    return [...usage]
      .map(([conversationId, u], i) => ({ conversationId, peer: (convs[i]?.theirAddress ?? conversationId) as Address, ...u }))
      .sort((a, b) => b.bytes - a.bytes);
  });
}

/** undefined while loading, then the device list of my first account (all my accounts are linked together). */
export function useMyDevices(address: Address | undefined): DeviceListRow | null | undefined {
  return useLiveQuery(async () => (address ? ((await getDb().deviceLists.get(address)) ?? null) : null), [address]);
}

/** This device's history transfer (as the new device or as the primary sending it); null when none. */
export function useHistoryProgress(): HistoryProgress | null | undefined {
  return useLiveQuery(() => historyProgress(getDb()), []);
}

/** A link this new device started: waiting, or failed with a reason; null when none. */
export function useLinkState(): LinkState | null | undefined {
  return useLiveQuery(async () => {
    const row = await getDb().meta.get(LINK_KEY);
    return row && typeof row.value === "object" && row.value !== null ? (row.value as LinkState) : null;
  }, []);
}
