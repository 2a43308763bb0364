// Group business over the pairwise sessions (docs/PROTOCOL.md, "Groups"); never shown as messages:
// - groupUpdate: signed membership changes of a group, oldest first: the new link(s) for members, the
//   whole chain for a member just added (who checks it from the creation on);
// - senderKey: the sending device's sender-key distribution for a group (its current chain and signing
//   key). The receiver binds it to the device the pairwise session came from, never to what it claims.
import { z } from "zod";
import { b64 } from "../../../protocol/bytes";
import { MAX_GROUP_CHANGE_BODY } from "../../../crypto";
import { durableFields } from "../base";
import { schemas } from "../../../protocol";

/** 32 random bytes, hex. */
export const GroupIdField = z.string().regex(/^[0-9a-f]{64}$/);
/** The most changes one update carries (a new member's whole chain). */
export const MAX_CHANGES_PER_UPDATE = 2_000;

export const GroupUpdateContent = z.object({
  ...durableFields,
  type: z.literal("groupUpdate"),
  groupId: GroupIdField,
  changes: z.array(b64(MAX_GROUP_CHANGE_BODY + 2_048)).min(1).max(MAX_CHANGES_PER_UPDATE),
  senderName: z.string().max(100).optional(),
  /** The names the sender knows for the members a change names (shown in lines until they write themselves). */
  names: z
    .record(schemas.Address, z.string().max(100))
    .refine((r) => Object.keys(r).length <= 1_024, "too many names")
    .optional(),
});
export type GroupUpdateContent = z.infer<typeof GroupUpdateContent>;

export const SenderKeyContent = z.object({
  ...durableFields,
  type: z.literal("senderKey"),
  groupId: GroupIdField,
  distribution: b64(512),
});
export type SenderKeyContent = z.infer<typeof SenderKeyContent>;

export const groupUpdate = { type: "groupUpdate", schema: GroupUpdateContent, delivery: "durable", placement: "group" } as const;
export const senderKey = { type: "senderKey", schema: SenderKeyContent, delivery: "durable", placement: "group" } as const;
