// The content kinds, in one registry (DESIGN §9). Each kind is one module in kinds/: its zod schema,
// whether it is durable (outbox and relay mailbox) or ephemeral (a live push only), and where a received
// one goes:
// - message: a row of its own (text, attachment; stored in bulk by the receive commit);
// - change: applied to earlier rows or the conversation (reaction, edit, delete, timer) by its `apply`;
// - receipt: moves my messages forward (delivered, read);
// - control: engine business that is never shown (answers to decryption-error requests);
// - signal: ephemeral, never through the mailbox (typing);
// - group: a group's membership changes and sender keys, handled by lib/engine/groups;
// - sync: my own other devices' changes to my read state, conversations, contacts and settings (sync.ts).
// A new kind is a new module here; receive and send dispatch on `placement`, not on the type.
import type { z } from "zod";
import type { ChangeOutcome, ChangeScope, IncomingChange } from "./change";
import { text } from "./kinds/text";
import { receipt } from "./kinds/receipt";
import { retryReply } from "./kinds/retryReply";
import { reaction } from "./kinds/reaction";
import { edit } from "./kinds/edit";
import { deleteKind } from "./kinds/delete";
import { timer } from "./kinds/timer";
import { typing } from "./kinds/typing";
import { attachment } from "./kinds/attachment";
import { groupUpdate, senderKey } from "./kinds/group";
import { sync } from "./kinds/sync";

export type Placement = "message" | "change" | "receipt" | "control" | "signal" | "group" | "sync";

export interface ContentKind<T> {
  readonly type: string;
  readonly schema: z.ZodType<T>;
  readonly delivery: "durable" | "ephemeral";
  readonly placement: Placement;
  /** For changes: applies one to the stored rows (inside the caller's transaction). */
  readonly apply?: (scope: ChangeScope, change: IncomingChange<T>) => Promise<ChangeOutcome>;
}

export const KINDS = [text, receipt, retryReply, reaction, edit, deleteKind, timer, typing, attachment, groupUpdate, senderKey, sync] as const;

export type KnownContent = z.infer<(typeof KINDS)[number]["schema"]>;
export type ChangeContent = Extract<KnownContent, { type: "reaction" | "edit" | "delete" | "timer" }>;
export type GroupContent = Extract<KnownContent, { type: "groupUpdate" | "senderKey" }>;
/** The kinds that are a message of their own (placement "message"). */
export type MessageContent = Extract<KnownContent, { type: "text" | "attachment" }>;

const BY_TYPE = new Map<string, ContentKind<KnownContent>>(KINDS.map((k) => [k.type, k as unknown as ContentKind<KnownContent>]));

export function kindOf(type: string): ContentKind<KnownContent> | undefined {
  return BY_TYPE.get(type);
}

/** Applies a change through its kind. */
export function applyChange(scope: ChangeScope, change: IncomingChange<ChangeContent>): Promise<ChangeOutcome> {
  const kind = BY_TYPE.get(change.content.type);
  if (!kind?.apply) return Promise.resolve("refused");
  return kind.apply(scope, change);
}
