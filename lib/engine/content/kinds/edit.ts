// edit: the author replaces the text of their own text message within EDIT_WINDOW_MS of sending it; the
// newest edit (by the author's clock) wins.
import { z } from "zod";
import { EDIT_WINDOW_MS } from "../../../store/db";
import { MAX_TEXT_CHARS } from "../../../store/outbox";
import { refreshPreview } from "../../../store/conversations";
import { CLOCK_SKEW_MS, isText, targetOf, wroteIt, type ChangeOutcome, type ChangeScope, type IncomingChange } from "../change";
import { durableFields, MessageId } from "../base";

export const EditContent = z.object({
  ...durableFields,
  type: z.literal("edit"),
  target: MessageId,
  text: z.string().min(1).max(MAX_TEXT_CHARS),
});
export type EditContent = z.infer<typeof EditContent>;

export async function applyEdit(scope: ChangeScope, c: IncomingChange<EditContent>): Promise<ChangeOutcome> {
  const target = await targetOf(scope, c, "edit", c.content.target);
  if (typeof target === "string") return target;
  // the conversation is 1:1: a message's direction says who wrote it
  if (!wroteIt(c, target)) return scope.refuse("edit", "not the author");
  if (!isText(target)) return scope.refuse("edit", "not a text message");
  if (target.deletedAt !== undefined) return "stale";
  const age = c.content.sentAt - target.sentAt;
  // both times come from the author's clocks: only the skew between their own devices is allowed for
  if (age > EDIT_WINDOW_MS + CLOCK_SKEW_MS || age < -CLOCK_SKEW_MS) return scope.refuse("edit", "outside the edit window");
  if (target.editedAt !== undefined && target.editedAt >= c.content.sentAt) return "stale";
  await scope.db.messages.put({ ...target, text: c.content.text, editedAt: c.content.sentAt });
  await refreshPreview(scope.db, target.conversationId, target.id);
  return "applied";
}

export const edit = { type: "edit", schema: EditContent, delivery: "durable", placement: "change", apply: applyEdit } as const;
