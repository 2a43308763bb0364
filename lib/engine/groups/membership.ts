// A group's membership state and the rules of who may change it (issue "Groups across brands").
// Each change is a signed link of the group's hash chain (lib/crypto/groupChanges.ts): the chain makes
// every member agree on one history, and the rules here decide whether a link that verifies is allowed:
// admins add (or every member, when the group says so), remove, promote, demote, rename and set the
// timer; anyone leaves. Everything is a pure function of the state and the change, so every member's
// device computes the same state from the same history. Runtime: the worker (and Node in tests).
import { z } from "zod";
import {
  type Bytes,
  CryptoError,
  GROUP_GENESIS_PREVIOUS,
  GROUP_ID_BYTES,
  type GroupChange,
  type GroupHead,
  type KeyPair,
  openGroupChange,
  readGroupChange,
  signGroupChange,
} from "../../crypto";
import { schemas } from "../../protocol";

/** Members of one group, its creator included (WhatsApp's limit). */
export const MAX_GROUP_MEMBERS = 1_024;
export const MAX_GROUP_NAME_CHARS = 100;
/** The longest disappearing timer a group can set (90 days), as for conversations. */
export const MAX_TIMER_MS = 90 * 24 * 60 * 60_000;

const Address = schemas.Address;
const Name = z.string().trim().min(1).max(MAX_GROUP_NAME_CHARS);
const AddPolicy = z.enum(["admins", "members"]);

export const GroupChangeBody = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("create"), name: Name, members: z.array(Address).max(MAX_GROUP_MEMBERS), addPolicy: AddPolicy.default("admins") }),
  z.strictObject({ type: z.literal("add"), members: z.array(Address).min(1).max(MAX_GROUP_MEMBERS) }),
  z.strictObject({ type: z.literal("remove"), member: Address }),
  z.strictObject({ type: z.literal("promote"), member: Address }),
  z.strictObject({ type: z.literal("demote"), member: Address }),
  z.strictObject({ type: z.literal("rename"), name: Name }),
  z.strictObject({ type: z.literal("leave") }),
  z.strictObject({ type: z.literal("timer"), ms: z.number().int().min(0).max(MAX_TIMER_MS) }),
  z.strictObject({ type: z.literal("addPolicy"), addPolicy: AddPolicy }),
]);
export type GroupChangeBody = z.input<typeof GroupChangeBody>;

export interface GroupMember {
  address: string;
  admin: boolean;
  /** The version of the change that added the member (the order of joining, for a successor admin). */
  since: number;
}

export interface GroupState {
  groupId: Bytes;
  head: GroupHead;
  name: string;
  /** In the order they joined. */
  members: GroupMember[];
  timerMs: number;
  addPolicy: "admins" | "members";
}

/** A change that verified but that its author may not make, or that makes no sense for this state. */
export class GroupRuleError extends Error {
  constructor(
    readonly reason: "not_member" | "not_admin" | "too_many_members" | "already_member" | "no_such_member" | "last_admin" | "bad_body",
    message: string,
  ) {
    super(message);
    this.name = "GroupRuleError";
  }
}

const refuse = (reason: GroupRuleError["reason"], message: string): never => {
  throw new GroupRuleError(reason, message);
};

function parseBody(body: Bytes): z.output<typeof GroupChangeBody> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return refuse("bad_body", "the change is not JSON");
  }
  const parsed = GroupChangeBody.safeParse(json);
  return parsed.success ? parsed.data : refuse("bad_body", "the change is not a group change");
}

/** The next state, or a GroupRuleError: the rules only (the chain and signature are checked before). */
export function applyRules(state: GroupState | undefined, change: GroupChange, head: GroupHead): GroupState {
  const body = parseBody(change.body);
  const author = change.author;
  if (!state) {
    if (body.type !== "create") return refuse("bad_body", "a group starts with its creation");
    const others = [...new Set(body.members.filter((m) => m !== author))];
    if (others.length + 1 > MAX_GROUP_MEMBERS) refuse("too_many_members", `a group holds at most ${MAX_GROUP_MEMBERS} members`);
    return {
      groupId: change.groupId,
      head,
      name: body.name,
      members: [{ address: author, admin: true, since: 1 }, ...others.map((address) => ({ address, admin: false, since: 1 }))],
      timerMs: 0,
      addPolicy: body.addPolicy,
    };
  }
  const me = state.members.find((m) => m.address === author);
  if (!me) return refuse("not_member", "only members change a group");
  const requireAdmin = () => {
    if (!me.admin) refuse("not_admin", "only admins may do this");
  };
  const find = (address: string) => state.members.find((m) => m.address === address) ?? refuse("no_such_member", "not a member of this group");
  const next: GroupState = { ...state, head, members: state.members };
  switch (body.type) {
    case "create":
      return refuse("bad_body", "the group exists already");
    case "add": {
      if (state.addPolicy === "admins") requireAdmin();
      const fresh = [...new Set(body.members)];
      if (fresh.some((a) => state.members.some((m) => m.address === a))) refuse("already_member", "already a member");
      if (state.members.length + fresh.length > MAX_GROUP_MEMBERS) refuse("too_many_members", `a group holds at most ${MAX_GROUP_MEMBERS} members`);
      next.members = [...state.members, ...fresh.map((address) => ({ address, admin: false, since: change.version }))];
      return next;
    }
    case "remove": {
      requireAdmin();
      if (body.member === author) refuse("bad_body", "leave the group instead");
      find(body.member);
      next.members = state.members.filter((m) => m.address !== body.member);
      return next;
    }
    case "promote":
    case "demote": {
      requireAdmin();
      const target = find(body.member);
      const admin = body.type === "promote";
      if (target.admin === admin) refuse("bad_body", admin ? "already an admin" : "not an admin");
      if (!admin && state.members.filter((m) => m.admin).length === 1) refuse("last_admin", "a group keeps at least one admin");
      next.members = state.members.map((m) => (m.address === body.member ? { ...m, admin } : m));
      return next;
    }
    case "rename":
      requireAdmin();
      next.name = body.name;
      return next;
    case "timer":
      requireAdmin();
      next.timerMs = body.ms;
      return next;
    case "addPolicy":
      requireAdmin();
      next.addPolicy = body.addPolicy;
      return next;
    case "leave": {
      const rest = state.members.filter((m) => m.address !== author);
      // the last admin leaving hands the role to the member who joined first, the same on every device
      if (me.admin && rest.length > 0 && !rest.some((m) => m.admin)) rest[0] = { ...rest[0], admin: true };
      next.members = rest;
      return next;
    }
  }
}

/**
 * Applies one signed change: the chain and the author's signature first (lib/crypto), then the rules.
 * `keyOf` gives the account identity key I know for an address (from our pairwise session); a change by
 * an author whose key I do not know is refused.
 */
export function applyGroupChange(state: GroupState | undefined, groupId: Bytes, signed: Bytes, keyOf: (address: string) => Bytes | undefined): GroupState {
  const key = keyOf(readGroupChange(signed).change.author);
  if (!key) throw new CryptoError("bad_signature", "the author's key is not known");
  const { change, head } = openGroupChange(key, groupId, state?.head, signed);
  return applyRules(state, change, head);
}

/** Builds and signs the next change of a group I am in (or its creation, with `state` undefined). */
export function makeGroupChange(author: KeyPair, authorAddress: string, groupId: Bytes, state: GroupState | undefined, body: GroupChangeBody, at: number): Bytes {
  if (groupId.length !== GROUP_ID_BYTES) throw new CryptoError("bad_message", "invalid group id");
  return signGroupChange(author, {
    groupId,
    version: state ? state.head.version + 1 : 1,
    previous: state ? state.head.hash : GROUP_GENESIS_PREVIOUS,
    author: authorAddress,
    at,
    body: new TextEncoder().encode(JSON.stringify(body)),
  });
}
