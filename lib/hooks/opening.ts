"use client";
// Opening a conversation: its row and its newest messages are read as soon as it is chosen (the hash
// changes), before React renders anything of it. The view's live queries start only after that render
// commits, tens of milliseconds later; until they answer, the hooks in data.ts show what was read here.
// A read is taken once, by the view that mounts for it, and only while fresh: the live queries answer
// right after and replace it (keeping the row objects that did not change, see shareRows).
import { getDb } from "../store/db";
import { queryMessageWindow, type MessageWindow } from "./queries";
import type { ConversationRow, MessageRow } from "./types";

/** Messages a conversation opens with (more when it has more unread, see ConversationView). */
export const OPENING_WINDOW = 200;
/** A read not taken by then is dropped (ms): the view that wanted it did not mount. */
const FRESH_MS = 2_000;

interface Opening {
  id: string;
  at: number;
  conversation: Promise<ConversationRow | null>;
  messages: Promise<MessageWindow>;
  /** Which of the two a hook has taken already. */
  taken: { conversation: boolean; messages: boolean };
}

let opening: Opening | null = null;

/** Starts reading conversation `id` for the view about to open it. */
export function startOpening(id: string): void {
  if (typeof indexedDB === "undefined") return;
  if (opening?.id === id && performance.now() - opening.at < FRESH_MS) return;
  const db = getDb();
  const conversation = db.conversations.get(id).then((row) => row ?? null);
  const messages = queryMessageWindow(db, id, OPENING_WINDOW);
  // a failed read is the live query's to report
  conversation.catch(() => undefined);
  messages.catch(() => undefined);
  opening = { id, at: performance.now(), conversation, messages, taken: { conversation: false, messages: false } };
}

function take<K extends "conversation" | "messages">(id: string, what: K): Opening[K] | undefined {
  const o = opening;
  if (!o || o.id !== id || o.taken[what] || performance.now() - o.at > FRESH_MS) return undefined;
  o.taken[what] = true;
  return o[what];
}

/** The row read when `id` was chosen, once. */
export function takeOpeningConversation(id: string): Promise<ConversationRow | null> | undefined {
  return take(id, "conversation");
}

/** The newest messages read when `id` was chosen, once, and only for the window they were read for. */
export function takeOpeningMessages(id: string, limit: number): Promise<MessageWindow> | undefined {
  return limit === OPENING_WINDOW ? take(id, "messages") : undefined;
}

/** Structural equality of plain data as IndexedDB returns it (objects, arrays, primitives); anything else by identity. */
export function sameData(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(b, key) || !sameData((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/**
 * `next` with each message that did not change since `prev` kept as `prev`'s object, and `prev` itself when
 * nothing changed: a live query answers with new objects every time, and the log's bubbles (memoised on
 * their message) then render again only for the messages that changed.
 */
export function shareRows(prev: MessageWindow | undefined, next: MessageWindow): MessageWindow {
  if (!prev) return next;
  const before = new Map<string, MessageRow>(prev.messages.map((m) => [m.id, m]));
  let changed = prev.hasOlder !== next.hasOlder || prev.messages.length !== next.messages.length;
  const messages = next.messages.map((m, i) => {
    const old = before.get(m.id);
    if (old && sameData(old, m)) {
      if (prev.messages[i] !== old) changed = true;
      return old;
    }
    changed = true;
    return m;
  });
  return changed ? { messages, hasOlder: next.hasOlder } : prev;
}
