// reaction: one per person per message; the newest (by the reactor's clock) wins, null removes it.
import { z } from "zod";
import type { ReactionEntry } from "../../../store/db";
import { authorOf, targetOf, type ChangeOutcome, type ChangeScope, type IncomingChange } from "../change";
import { durableFields, MessageId } from "../base";
import { refreshPreview } from "../../../store/conversations";

/** Longest emoji accepted (UTF-16 units): a family or a flag with modifiers fits, a sentence does not. */
export const MAX_EMOJI_CHARS = 32;

/** Emoji only: pictographs, flags, keycaps and the joiners and modifiers between them; no letters or spaces. */
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|[#*0-9]\u{FE0F}?\u{20E3}|\u{200D}|\u{FE0F}|[\u{E0020}-\u{E007F}])+$/u;

export const Emoji = z
  .string()
  .min(1)
  // counted in UTF-16 units on purpose (zod's max counts characters, and an emoji is many of those)
  .refine((s) => s.length <= MAX_EMOJI_CHARS, "emoji too long")
  .refine((s) => EMOJI.test(s) && /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u{20E3}/u.test(s), "not an emoji");

export const ReactionContent = z.object({
  ...durableFields,
  type: z.literal("reaction"),
  target: MessageId,
  /** null: my reaction is removed. */
  emoji: Emoji.nullable(),
});
export type ReactionContent = z.infer<typeof ReactionContent>;

export async function applyReaction(scope: ChangeScope, c: IncomingChange<ReactionContent>): Promise<ChangeOutcome> {
  const target = await targetOf(scope, c, "reaction", c.content.target);
  if (typeof target === "string") return target;
  if (target.deletedAt !== undefined) return "stale";
  if (target.kind === "timer" || target.kind === "waiting" || target.kind === "undecryptable") return scope.refuse("reaction", "not a message");
  const by = authorOf(c);
  const reactions = target.reactions ?? [];
  const mine = reactions.find((r) => r.by === by);
  if (mine && mine.at >= c.content.sentAt) return "stale";
  const others = reactions.filter((r) => r.by !== by);
  const next: ReactionEntry[] = c.content.emoji === null ? others : [...others, { by, emoji: c.content.emoji, at: c.content.sentAt }];
  if (next.length === 0) {
    const { reactions: _gone, ...rest } = target;
    await scope.db.messages.put(rest);
  } else await scope.db.messages.put({ ...target, reactions: next });
  await refreshPreview(scope.db, target.conversationId, target.id);
  return "applied";
}

export const reaction = { type: "reaction", schema: ReactionContent, delivery: "durable", placement: "change", apply: applyReaction } as const;
