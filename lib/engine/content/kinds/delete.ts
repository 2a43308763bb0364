// delete: "delete for everyone" of the author's own message within DELETE_FOR_EVERYONE_WINDOW_MS: the
// text, its reactions and its own quote go, the row stays as "This message was deleted", and quotes of it
// in replies read as deleted too.
import { z } from "zod";
import { DELETE_FOR_EVERYONE_WINDOW_MS } from "../../../store/db";
import { forgetQuotes, refreshPreview, deletedForEveryone } from "../../../store/conversations";
import { forgetMedia } from "../../../store/media";
import { CLOCK_SKEW_MS, targetOf, wroteIt, type ChangeOutcome, type ChangeScope, type IncomingChange } from "../change";
import { durableFields, MessageId } from "../base";

export const DeleteContent = z.object({
  ...durableFields,
  type: z.literal("delete"),
  target: MessageId,
});
export type DeleteContent = z.infer<typeof DeleteContent>;

export async function applyDelete(scope: ChangeScope, c: IncomingChange<DeleteContent>): Promise<ChangeOutcome> {
  const target = await targetOf(scope, c, "delete", c.content.target);
  if (typeof target === "string") return target;
  if (!wroteIt(c, target)) return scope.refuse("delete", "not the author");
  if (target.kind === "timer" || target.kind === "waiting" || target.kind === "undecryptable") return scope.refuse("delete", "not a message");
  if (target.deletedAt !== undefined) return "stale";
  const age = c.content.sentAt - target.sentAt;
  if (age > DELETE_FOR_EVERYONE_WINDOW_MS + CLOCK_SKEW_MS || age < -CLOCK_SKEW_MS) return scope.refuse("delete", "outside the delete window");
  await scope.db.messages.put(deletedForEveryone(target, c.content.sentAt));
  // its file goes too, from this device (the relay's copy expires); the caller's transaction has the media tables
  if (target.kind === "attachment") await forgetMedia(scope.db, [target.id]);
  await forgetQuotes(scope.db, target.conversationId, [target.id]);
  await refreshPreview(scope.db, target.conversationId, target.id);
  return "applied";
}

export const deleteKind = { type: "delete", schema: DeleteContent, delivery: "durable", placement: "change", apply: applyDelete } as const;
