"use client";
// A system notification for a new incoming message while the app is hidden. The permission is asked
// only from a click (browsers ignore or penalise unprompted requests).
import { useLiveQuery } from "dexie-react-hooks";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { getDb } from "../store/db";
import { notifies } from "../store/conversations";
import type { InboxRows } from "./queries";
import { conversationHref } from "./useSelectedConversation";

type Permission = NotificationPermission | "unsupported";

function currentPermission(): Permission {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

/** The notification permission, and a function to ask for it. */
export function useNotificationPermission(): [Permission, () => Promise<void>] {
  const [permission, setPermission] = useState<Permission>(currentPermission);
  const ask = useCallback(async () => {
    if (typeof Notification === "undefined") return;
    setPermission(await Notification.requestPermission());
  }, []);
  return [permission, ask];
}

interface Latest {
  conversationId: string;
  messageId: string;
  title: string;
  body: string;
}

async function latestIncoming(): Promise<Latest | null> {
  const db = getDb();
  const conv = await db.conversations
    .orderBy("lastActivity")
    .reverse()
    .filter(notifies)
    .first();
  if (!conv?.lastMessageId) return null;
  const contact = await db.contacts.get(conv.theirAddress);
  return { conversationId: conv.id, messageId: conv.lastMessageId, title: conv.groupName ?? contact?.displayName ?? conv.theirAddress, body: conv.lastPreview };
}

/** The same as latestIncoming, read from rows already loaded (newest activity first). */
function latestIncomingOf(inbox: InboxRows): Latest | null {
  const conv = inbox.rows.find(notifies);
  if (!conv?.lastMessageId) return null;
  return { conversationId: conv.id, messageId: conv.lastMessageId, title: conv.groupName ?? inbox.names.get(conv.theirAddress) ?? conv.theirAddress, body: conv.lastPreview };
}

/**
 * Notifies about each new incoming message that arrives while this tab is hidden. Given `allRows`
 * (every conversation, newest activity first), it reads them instead of running a live query of its own.
 */
export function useIncomingNotifications(allRows?: InboxRows): void {
  const derive = allRows !== undefined;
  const queried = useLiveQuery(() => (derive ? null : latestIncoming()), [derive]);
  const derived = useMemo(() => (allRows ? latestIncomingOf(allRows) : undefined), [allRows]);
  const latest = derive ? derived : queried;
  const seen = useRef<string | null | undefined>(undefined);
  useEffect(() => {
    if (latest === undefined) return;
    const id = latest?.messageId ?? null;
    const first = seen.current === undefined;
    const changed = seen.current !== id;
    seen.current = id;
    // what was already there when the app opened is not news
    if (first || !changed || !latest) return;
    if (document.visibilityState !== "hidden" || currentPermission() !== "granted") return;
    const options: NotificationOptions = {
      body: latest.body,
      // one notification per conversation: a newer message, or another tab, replaces it
      tag: latest.conversationId,
      icon: "/icons/icon-192.png",
      data: { url: `/${conversationHref(latest.conversationId)}` },
    };
    void (async () => {
      try {
        const registration = await navigator.serviceWorker?.getRegistration();
        if (registration) await registration.showNotification(latest.title, options);
        else new Notification(latest.title, options);
      } catch {
        // a notification is a courtesy; the unread count in the title and badge still tells
      }
    })();
  }, [latest]);
}
