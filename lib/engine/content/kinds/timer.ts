// timer: a change of the conversation's disappearing-message timer. Both sides store it as a line in the
// conversation ("Disappearing messages: 7 days"), and the conversation takes the newest setting by the
// setter's clock (ties: the larger id), whoever set it: so two people who change it at once end up with
// the same timer on both sides once both changes have arrived.
import { z } from "zod";
import { conversationId, type MessageRow } from "../../../store/db";
import { putMessagesOnce } from "../../../store/conversations";
import type { ChangeOutcome, ChangeScope, IncomingChange } from "../change";
import { durableFields } from "../base";

/** The longest timer accepted on the wire (the UI offers 24 h, 7 d and 90 d; tests use seconds). */
export const DISAPPEARING_MAX_MS = 366 * 24 * 60 * 60_000;

export const TimerContent = z.object({
  ...durableFields,
  type: z.literal("timer"),
  /** 0: off. */
  expiresInMs: z.number().int().min(0).max(DISAPPEARING_MAX_MS),
  /** The setter's display name: a timer change may be the first thing a person gets from them. */
  senderName: z.string().max(100).optional(),
});
export type TimerContent = z.infer<typeof TimerContent>;

export async function applyTimer(scope: ChangeScope, c: IncomingChange<TimerContent>): Promise<ChangeOutcome> {
  const { db, now } = scope;
  const convId = conversationId(c.our, c.their);
  const line: MessageRow = {
    id: c.content.id,
    conversationId: convId,
    direction: c.direction,
    kind: "timer",
    timerMs: c.content.expiresInMs,
    author: c.direction === "in" ? c.their : c.our,
    text: "",
    sentAt: c.content.sentAt,
    receivedAt: now,
    // a line, not a message: never unread
    state: c.direction === "in" ? "read" : "sent",
    sentToRelayAt: null,
    deliveredAt: null,
  };
  const fresh = await putMessagesOnce(db, [line], () => Math.min(now, c.content.sentAt));
  if (fresh.length === 0) return "stale";
  const conv = await db.conversations.get(convId);
  if (!conv) return "orphaned";
  const newer = conv.timerSetAt === undefined || c.content.sentAt > conv.timerSetAt || (c.content.sentAt === conv.timerSetAt && c.content.id > (conv.timerSetBy ?? ""));
  if (newer) await db.conversations.put({ ...conv, expiresInMs: c.content.expiresInMs, timerSetAt: c.content.sentAt, timerSetBy: c.content.id });
  return "applied";
}

export const timer = { type: "timer", schema: TimerContent, delivery: "durable", placement: "change", apply: applyTimer } as const;
