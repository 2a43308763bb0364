// What applying a change (reaction, edit, delete, timer) to stored messages needs, shared by receive (a
// peer's change, or my own from another device) and by the local methods (my change on this device).
// Every function here runs inside the caller's transaction and awaits only Dexie requests.
import type { Address } from "../../brands";
import { conversationId, type JunctionDB, type MessageRow } from "../../store/db";

/** How far apart two clocks of one sender may be believed to run when checking edit and delete windows. */
export const CLOCK_SKEW_MS = 2 * 60_000;

/**
 * - applied: stored;
 * - stale: nothing to do (a duplicate, or older than what is stored);
 * - refused: a hostile or broken change (not the author, another conversation, outside its window);
 * - orphaned: its target is not here (never came, was deleted for me, expired, or comes later).
 */
export type ChangeOutcome = "applied" | "stale" | "refused" | "orphaned";

export interface ChangeScope {
  db: JunctionDB;
  /** This device's clock. */
  now: number;
  /** A refusal: counted and logged (never with content), nothing changes. */
  refuse(kind: string, reason: string): "refused";
}

/** A change as it reached this device. */
export interface IncomingChange<T> {
  /** My account of the conversation. */
  our: Address;
  /** The peer of the conversation. */
  their: Address;
  /** "in": the peer wrote it; "out": I did (on this device or another of mine). */
  direction: "in" | "out";
  content: T;
  /** A group's conversation: `their` is then the member who made the change. */
  conv?: string;
}

/** Who made the change. */
export function authorOf(c: IncomingChange<unknown>): Address {
  return c.direction === "in" ? c.their : c.our;
}

/**
 * The message a change names, if it is in the change's own conversation. A message of another
 * conversation is refused (a peer naming a message it never saw); a missing one is orphaned.
 */
export async function targetOf(scope: ChangeScope, c: IncomingChange<unknown>, kind: string, targetId: string): Promise<MessageRow | "refused" | "orphaned"> {
  const target = await scope.db.messages.get(targetId);
  if (!target) return "orphaned";
  if (target.conversationId !== (c.conv ?? conversationId(c.our, c.their))) return scope.refuse(kind, "another conversation");
  return target;
}

/** Whether the change's author wrote `target` (in a group, "in" is anyone but me: the author must match). */
export function wroteIt(c: IncomingChange<unknown>, target: MessageRow): boolean {
  if (target.direction !== c.direction) return false;
  return c.conv === undefined || target.direction === "out" || target.author === authorOf(c);
}

/** A text message (or a row of earlier builds, which have no kind). */
export function isText(m: MessageRow): boolean {
  return m.kind === undefined || m.kind === "text";
}
