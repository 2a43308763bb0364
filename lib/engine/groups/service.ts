// Groups in the engine (docs/PROTOCOL.md, "Groups"): making and changing a group (signed links of its
// chain, sent over the pairwise sessions), sending with my sender key (one encryption, the same body to
// every member device), and receiving both. Runtime: the worker (and Node in tests).
import { canonicalAddress } from "../local";
import { EngineError, type GroupAction } from "../../worker/rpc";
import type { Address } from "../../brands";
import type { ConversationRow, GroupRow, JunctionDB, MessageRow, OutboxRow, SenderKeyRow, SentRow } from "../../store/db";
import { putMessagesOnce } from "../../store/conversations";
import { observeIdentity, sameBytes } from "../../store/identities";
import { identityId, randomId } from "../../store/ids";
import { getIdentityKey } from "../../store/keys";
import {
  CryptoError,
  createSenderKey,
  deserializeSenderKey,
  fromHex,
  groupDecrypt,
  groupEncrypt,
  processSenderKeyDistribution,
  randomBytes,
  readGroupChange,
  rotateSenderKey,
  senderKeyDistribution,
  serializeSenderKey,
  toHex,
  type SenderKeyRecord,
  type SessionState,
} from "../../crypto";
import { fromB64, toB64 } from "../deps";
import type { EngineContext } from "../context";
import { CONTENT_VERSION, decodeContent, encodeContent, type Content, type KnownContent } from "../content/envelope";
import type { GroupUpdateContent, SenderKeyContent } from "../content/kinds/group";
import { readOutsideTransactions } from "../records";
import { fetchDeviceList, isListRefusal } from "../deviceLists";
import { sha256 } from "@noble/hashes/sha2.js";
import { envelopeId } from "../envelopes";
import type { DeviceDirectory } from "../directory";
import { applyGroupChange, GroupChangeBody, GroupRuleError, makeGroupChange, MAX_GROUP_MEMBERS, MAX_TIMER_MS, type GroupChangeBody as Body, type GroupState } from "./membership";
import { changeLine, GROUP_FRAME, GROUP_FRAME_HEAD, groupConversation, groupConversationId, groupRowId, rowAfter, senderKeyId, senderName, stateOf } from "./state";

export type { GroupAction };

/** What a person reads when a rule refuses a change. */
const RULE_MESSAGES: Record<GroupRuleError["reason"], string> = {
  not_member: "You are no longer in this group.",
  not_admin: "Only admins of this group can do that.",
  too_many_members: `A group holds at most ${MAX_GROUP_MEMBERS.toLocaleString("en-US")} members.`,
  already_member: "That person is in the group already.",
  no_such_member: "That person is not in this group.",
  last_admin: "A group keeps at least one admin.",
  bad_body: "That change is not possible.",
};

function ruleError(error: unknown): never {
  if (error instanceof GroupRuleError) throw new EngineError("bad_request", RULE_MESSAGES[error.reason], { cause: error });
  throw error;
}

function parseBody(signed: Uint8Array) {
  return GroupChangeBody.parse(JSON.parse(new TextDecoder().decode(readGroupChange(signed).change.body)));
}

async function namesOf(db: JunctionDB, addresses: string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const rows = await db.contacts.bulkGet(addresses as Address[]);
  rows.forEach((r) => {
    if (r?.displayName) names.set(r.address, r.displayName);
  });
  return names;
}

function lineRow(conversationId: string, text: string, id: string, at: number, now: number, direction: "in" | "out"): MessageRow {
  return { id, conversationId, direction, kind: "group", text, sentAt: at, receivedAt: now, state: "read", sentToRelayAt: null, deliveredAt: null };
}

/** The members a change's update goes to: `to` gets the new link, `whole` the whole chain (just added). */
async function outboxRows(db: JunctionDB, row: GroupRow, to: Address[], whole: Address[], signed: Uint8Array, now: number): Promise<OutboxRow[]> {
  const out: OutboxRow[] = [];
  const base = { kind: "group" as const, conversationId: row.conversationId, createdAt: now, attempts: 0 };
  const body = parseBody(signed);
  const named = body.type === "create" || body.type === "add" ? body.members : body.type === "leave" || body.type === "rename" || body.type === "timer" || body.type === "addPolicy" ? [] : [body.member];
  const names = Object.fromEntries(await namesOf(db, whole.length ? row.members.map((m) => m.address) : named));
  const withNames = Object.keys(names).length ? { names } : {};
  // my other devices get it too (their copy of the group follows mine)
  out.push({ ...base, messageId: randomId(), group: { groupId: row.groupId, to: [...to, row.ourAddress], changes: [toB64(signed)], ...withNames } });
  if (whole.length) out.push({ ...base, messageId: randomId(), group: { groupId: row.groupId, to: whole, changes: row.chain.map((c) => toB64(c)), ...withNames } });
  return out;
}

/** Stores a group change I made, with its line, and queues it for the members. */
async function commitLocal(db: JunctionDB, row: GroupRow, signed: Uint8Array, outbox: OutboxRow[], now: number): Promise<void> {
  const body = parseBody(signed);
  const names = await namesOf(db, [...row.members.map((m) => m.address), ...(body.type === "remove" ? [body.member] : [])]);
  await db.transaction("rw", [db.groups, db.conversations, db.messages, db.outbox], async () => {
    const existing = await db.conversations.get(row.conversationId);
    const conv = groupConversation(existing, row, now);
    await db.groups.put(row);
    await db.conversations.put(conv);
    await putMessagesOnce(db, [lineRow(row.conversationId, changeLine(body, row.ourAddress, names, row.ourAddress), lineId(row.ourAddress, signed), now, now, "out")], () => now, new Map([[conv.id, conv]]));
    if (outbox.length) await db.outbox.bulkAdd(outbox);
  });
}

/**
 * A change's line id: my account, the group and the version name one change (a re-delivery stores nothing
 * twice; two of my accounts in one group each get their line).
 */
function lineId(our: Address, signed: Uint8Array): string {
  const { change } = readGroupChange(signed);
  return `g${toHex(sha256(new TextEncoder().encode(`junction/group-line\0${our}\0${toHex(change.groupId)}\0${change.version}`)).subarray(0, 16))}`;
}

async function signer(db: JunctionDB, our: Address) {
  const keys = await getIdentityKey(db, our);
  if (!keys) throw new EngineError("not_found", "not one of my accounts");
  return { publicKey: keys.publicKey, privateKey: keys.privateKey };
}

/**
 * Creates a group held by my account `from` with `members` (any brand). Every member must exist: each is
 * looked up (and its identity key noted, so its changes verify). Queues the creation for every member.
 */
export async function createGroup(
  ctx: EngineContext,
  lookup: (a: Address) => Promise<{ identityKey: Uint8Array } | null>,
  p: { from: Address; name: string; members: string[] },
): Promise<{ conversationId: string; groupId: string }> {
  const { db } = ctx;
  const from = canonicalAddress(p.from);
  if (!(await db.accounts.get(from))) throw new EngineError("not_found", "not one of my accounts");
  const name = typeof p.name === "string" ? p.name.trim() : "";
  if (!name) throw new EngineError("bad_request", "Give the group a name.");
  const members = [...new Set(p.members.map((m) => canonicalAddress(m)))].filter((m) => m !== from);
  if (members.length + 1 > MAX_GROUP_MEMBERS) throw new EngineError("bad_request", RULE_MESSAGES.too_many_members);
  if (members.length === 0) throw new EngineError("bad_request", "Add at least one member.");
  await noteMembers(ctx, lookup, from, members);
  const groupId = randomBytes(32);
  const now = ctx.now();
  let signed: Uint8Array;
  let state: GroupState;
  try {
    signed = makeGroupChange(await signer(db, from), from, groupId, undefined, { type: "create", name, members, addPolicy: "admins" }, now);
    const account = (await db.accounts.get(from))!;
    state = applyGroupChange(undefined, groupId, signed, (a) => (a === from ? account.identityKey : undefined));
  } catch (error) {
    return ruleError(error);
  }
  const row = rowAfter(undefined, from, state, [signed], now);
  await commitLocal(db, row, signed, await outboxRows(db, row, [], members, signed, now), now);
  return { conversationId: row.conversationId, groupId: row.groupId };
}

async function noteMembers(ctx: EngineContext, lookup: (a: Address) => Promise<{ identityKey: Uint8Array } | null>, from: Address, members: Address[]): Promise<void> {
  const now = ctx.now();
  for (const m of members) {
    const found = await lookup(m);
    if (!found) throw new EngineError("not_found", `${m} does not exist`);
    await ctx.db.transaction("rw", [ctx.db.identities], () => observeIdentity(ctx.db, from, m, found.identityKey, now));
  }
}

/** One change to a group I am in, as its admin (or, to leave, as anyone). */
export async function changeGroup(
  ctx: EngineContext,
  lookup: (a: Address) => Promise<{ identityKey: Uint8Array } | null>,
  p: { conversationId: string; action: GroupAction },
): Promise<null> {
  const { db } = ctx;
  const conv = await db.conversations.get(p.conversationId);
  const row = conv?.groupId ? await db.groups.get(groupRowId(conv.ourAddress, conv.groupId)) : undefined;
  if (!conv || !row) throw new EngineError("not_found", "no such group");
  if (row.left) throw new EngineError("bad_request", RULE_MESSAGES.not_member);
  const our = row.ourAddress;
  const a = p.action;
  let body: Body;
  let added: Address[] = [];
  if (a.type === "add") {
    added = [...new Set(a.members.map((m) => canonicalAddress(m)))];
    if (added.length === 0) throw new EngineError("bad_request", "Add at least one member.");
    if (row.members.length + added.filter((x) => !row.members.some((m) => m.address === x)).length > MAX_GROUP_MEMBERS) {
      throw new EngineError("bad_request", RULE_MESSAGES.too_many_members);
    }
    body = { type: "add", members: added };
  } else if (a.type === "remove" || a.type === "promote" || a.type === "demote") body = { type: a.type, member: canonicalAddress(a.member) };
  else if (a.type === "timer") {
    const ms = a.expiresInMs;
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_TIMER_MS || (ms > 0 && ms < 1_000)) throw new EngineError("bad_request", "not a disappearing-message timer");
    body = { type: "timer", ms };
  } else if (a.type === "rename") {
    const name = typeof a.name === "string" ? a.name.trim() : "";
    if (!name) throw new EngineError("bad_request", "Give the group a name.");
    body = { type: "rename", name };
  } else if (a.type === "addPolicy") {
    if (a.addPolicy !== "admins" && a.addPolicy !== "members") throw new EngineError("bad_request", "not a rule for who adds members");
    body = { type: "addPolicy", addPolicy: a.addPolicy };
  } else body = { type: "leave" };
  const now = ctx.now();
  const state = stateOf(row);
  let signed: Uint8Array;
  let next: GroupState;
  try {
    signed = makeGroupChange(await signer(db, our), our, state.groupId, state, body, now);
    const account = (await db.accounts.get(our))!;
    next = applyGroupChange(state, state.groupId, signed, (x) => (x === our ? account.identityKey : undefined));
  } catch (error) {
    return ruleError(error);
  }
  if (added.length) await noteMembers(ctx, lookup, our, added);
  const after = rowAfter(row, our, next, [...row.chain, signed], now);
  // everyone who was in the group hears of it (a removed member learns it was removed); the new get the chain
  const before = row.members.map((m) => m.address).filter((x) => x !== our);
  await commitLocal(db, after, signed, await outboxRows(db, after, before, added, signed, now), now);
  return null;
}

// ---- sending ----

export interface GroupSend {
  envelopes: { id: string; to: string; toDevice: string; body: string }[];
  /** Call once the relay stored every envelope: the members that now hold my sender key. */
  sent(): Promise<void>;
}

/**
 * The envelopes of one group message or change: my sender key's distribution to the members (and my other
 * devices) that lack it, over the pairwise sessions, then the content encrypted ONCE with the sender key
 * and the same body addressed to every member device. A member gone since my last message makes me
 * rotate first. Call while holding ctx.sessions; stores the advanced sender key and sessions.
 */
export async function groupEnvelopes(
  ctx: EngineContext,
  directory: Pick<DeviceDirectory, "sessionsFor">,
  conv: Pick<ConversationRow, "ourAddress" | "groupId">,
  myDevice: string,
  messageId: string,
  content: KnownContent,
  encryptPairwise: (our: Address, their: Address, device: string, state: SessionState, plaintext: Uint8Array) => Promise<string>,
  /** Stores the advanced pairwise sessions, inside the same transaction as the sender key. */
  storeSessions: () => Promise<unknown>,
): Promise<GroupSend | "left"> {
  const { db } = ctx;
  const our = conv.ourAddress;
  const gid = conv.groupId as string;
  const group = await db.groups.get(groupRowId(our, gid));
  if (!group || group.left) return "left";
  const sender = senderName(our, myDevice);
  const keyId = senderKeyId(our, gid, sender);
  const keyRow = await db.senderKeys.get(keyId);
  let record: SenderKeyRecord = keyRow ? deserializeSenderKey(keyRow.record) : createSenderKey({ groupId: gid, sender });
  let holders = group.keySentTo;
  const fresh = !keyRow || group.rotate === true;
  if (keyRow && group.rotate) record = rotateSenderKey(record);
  if (fresh) holders = [];
  const others = group.members.map((m) => m.address).filter((a) => a !== our);
  const lacking = others.filter((a) => !holders.includes(a));
  const envelopes: GroupSend["envelopes"] = [];
  const devices = new Map<Address, string[]>();
  // each distribution is logged as sent: a device that could not open it (or a message it opens) asks again
  const logged: SentRow[] = [];
  if (lacking.length || fresh) {
    const now = ctx.now();
    const distId = randomId();
    const distribution = toB64(senderKeyDistribution(record));
    const dist = encodeContent({ v: CONTENT_VERSION, type: "senderKey", id: distId, sentAt: now, groupId: gid, distribution });
    const conversationId = groupConversationId(our, gid);
    for (const a of fresh ? [...lacking, our] : lacking) {
      const states = await directory.sessionsFor(our, a, a === our ? { skipDevice: myDevice } : {});
      if (a !== our) devices.set(a, [...states.keys()]);
      for (const [device, state] of states) {
        const id = randomId(18);
        envelopes.push({ id, to: a, toDevice: device, body: await encryptPairwise(our, a, device, state, dist) });
        logged.push({ envelopeId: id, messageId: distId, kind: "senderKey", senderKey: { groupId: gid, distribution }, conversationId, to: a, toDevice: device, sentAt: now });
      }
    }
  }
  const sealed = groupEncrypt(record, encodeContent(content));
  const frame = new Uint8Array(GROUP_FRAME_HEAD + sealed.ciphertext.length);
  frame[0] = GROUP_FRAME;
  frame.set(fromHex(gid), 1);
  frame.set(sealed.ciphertext, GROUP_FRAME_HEAD);
  const body = toB64(frame);
  for (const a of [...others, our]) {
    const list = devices.get(a) ?? [...(await directory.sessionsFor(our, a, a === our ? { skipDevice: myDevice } : {})).keys()];
    for (const device of list) envelopes.push({ id: envelopeId(messageId, a, device), to: a, toDevice: device, body });
  }
  // the advanced chain and sessions are stored together before anything goes: a key is never used twice
  const keyWrite: SenderKeyRow = { key: keyId, ourAddress: our, groupId: gid, record: serializeSenderKey(sealed.record) };
  await db.transaction("rw", [db.senderKeys, db.groups, db.sessions, db.sentLog], async () => {
    await storeSessions();
    await db.senderKeys.put(keyWrite);
    if (logged.length) await db.sentLog.bulkPut(logged);
    if (fresh) await db.groups.update(group.id, { rotate: false, keySentTo: [] });
  });
  return {
    envelopes,
    async sent() {
      if (lacking.length === 0) return;
      await db.transaction("rw", [db.groups], async () => {
        const now = await db.groups.get(group.id);
        if (!now) return;
        const current = new Set(now.members.map((m) => m.address));
        await db.groups.update(group.id, { keySentTo: [...new Set([...now.keySentTo, ...lacking])].filter((a) => current.has(a)) });
      });
    },
  };
}

// ---- receiving ----

/** A group message opened: where it goes and what it says. */
export interface OpenedGroupMessage {
  conversationId: string;
  content: Content;
}

/**
 * What one receive batch does to groups, in memory until its commit: group rows and sender keys read
 * once (after earlier commits), changed in envelope order, and written by the batch's one transaction.
 */
export class GroupBatch {
  private readonly groups = new Map<string, GroupRow | undefined>();
  private readonly keys = new Map<string, SenderKeyRecord | undefined>();
  private readonly dirtyGroups = new Set<string>();
  private readonly dirtyKeys = new Set<string>();
  private readonly lines: MessageRow[] = [];
  /** `${our}|${groupId}` of the groups that got a change or a sender key: held messages may open now. */
  readonly touched = new Set<string>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly quiet: () => Promise<void>,
    /** Identity keys seen in this batch's pairwise sessions: `${our}|${their}` → key. */
    private readonly seen: ReadonlyMap<string, Uint8Array>,
    private readonly accountKey: (our: Address) => Uint8Array | undefined,
  ) {}

  get empty(): boolean {
    return this.dirtyGroups.size === 0 && this.dirtyKeys.size === 0;
  }

  private async group(our: Address, gid: string): Promise<GroupRow | undefined> {
    const id = groupRowId(our, gid);
    if (!this.groups.has(id)) {
      await this.quiet();
      this.groups.set(id, await readOutsideTransactions(() => this.ctx.db.groups.get(id)));
    }
    return this.groups.get(id);
  }

  private async senderKey(key: string): Promise<SenderKeyRecord | undefined> {
    if (!this.keys.has(key)) {
      await this.quiet();
      const row = await readOutsideTransactions(() => this.ctx.db.senderKeys.get(key));
      let record: SenderKeyRecord | undefined;
      try {
        record = row ? deserializeSenderKey(row.record) : undefined;
      } catch {
        this.ctx.counters.bump("corrupt_sender_key");
      }
      this.keys.set(key, record);
    }
    return this.keys.get(key);
  }

  private async keyOf(our: Address, address: string): Promise<Uint8Array | undefined> {
    if (address === our) return this.accountKey(our);
    const seen = this.seen.get(identityId(our, address));
    if (seen) return seen;
    await this.quiet();
    const known = (await readOutsideTransactions(() => this.ctx.db.identities.get(identityId(our, address as Address))))?.identityKey;
    return known ?? this.directoryKey(address as Address);
  }

  /**
   * The account key of an author I never wrote with (the member who added me where every member may add, an
   * earlier admin of the chain): as its signed device list has it, fetched once. A relay that answers "not
   * now" makes the batch wait; one with no list for it leaves the link unchecked, so refused.
   */
  private async directoryKey(address: Address): Promise<Uint8Array | undefined> {
    const held = await readOutsideTransactions(() => this.ctx.db.deviceLists.get(address));
    if (held) return held.accountKey;
    try {
      return (await fetchDeviceList(this.ctx, address)).accountKey;
    } catch (error) {
      if (isListRefusal(error)) return undefined;
      throw error;
    }
  }

  private refuseLink(error: unknown): void {
    this.ctx.counters.bump(error instanceof GroupRuleError ? "group_rule_refused" : "group_change_refused");
    this.ctx.log.warn("group change refused", { reason: error instanceof GroupRuleError ? error.reason : error instanceof CryptoError ? error.code : "bad" });
  }

  private refuse(what: string): void {
    this.ctx.counters.bump("group_refused");
    this.ctx.log.warn("group content refused", { reason: what });
  }

  /** Signed changes from `from` (a member, or my other device): applied link by link; a bad link stops it. */
  async update(our: Address, from: Address, content: GroupUpdateContent): Promise<void> {
    let row = await this.group(our, content.groupId);
    let state = row ? stateOf(row) : undefined;
    const groupId = fromHex(content.groupId);
    const chain = row ? [...row.chain] : [];
    const applied: { signed: Uint8Array; author: string }[] = [];
    for (const b64 of content.changes) {
      const signed = fromB64(b64);
      let read: ReturnType<typeof readGroupChange>;
      try {
        read = readGroupChange(signed);
      } catch (error) {
        this.refuseLink(error);
        break;
      }
      const author = read.change.author;
      // a link I hold already (the chain a new member gets starts at the creation)
      if (state && read.change.version <= state.head.version && chain[read.change.version - 1] && sameBytes(chain[read.change.version - 1], signed)) continue;
      // read outside the refusals: storage failing is not the link's fault (the batch is tried again)
      const key = await this.keyOf(our, author);
      try {
        state = applyGroupChange(state, groupId, signed, () => key);
      } catch (error) {
        if (error instanceof CryptoError && error.code === "duplicate") continue;
        this.refuseLink(error);
        break;
      }
      chain.push(signed);
      applied.push({ signed, author });
    }
    if (!state || applied.length === 0) return;
    const after = state;
    const wasMember = row?.members.some((m) => m.address === from) ?? false;
    // only a member (before or after the change) or my own other device may tell me of a group
    if (from !== our && !wasMember && !after.members.some((m) => m.address === from)) return this.refuse("update from a non-member");
    // a group I was never in is none of my business
    if (!row && !after.members.some((m) => m.address === our)) return this.refuse("a group without me");
    const now = this.ctx.now();
    row = rowAfter(row, our, after, chain, now);
    this.groups.set(row.id, row);
    this.dirtyGroups.add(row.id);
    this.touched.add(row.id);
    await this.quiet();
    const names = await readOutsideTransactions(() => namesOf(this.ctx.db, [...new Set([...after.members.map((m) => m.address), ...applied.map((x) => x.author), from])]));
    for (const [a, n] of Object.entries(content.names ?? {})) if (!names.has(a) && a !== our) names.set(a, n);
    if (content.senderName && from !== our) names.set(from, content.senderName);
    for (const x of applied) {
      const body = parseBody(x.signed);
      const { change } = readGroupChange(x.signed);
      this.lines.push(lineRow(row.conversationId, changeLine(body, x.author, names, our), lineId(our, x.signed), change.at, now, x.author === our ? "out" : "in"));
    }
  }

  /** A member device's sender key, bound to the device the pairwise session came from. */
  async distribution(our: Address, from: Address, fromDevice: string, content: SenderKeyContent): Promise<void> {
    // kept even before I know the group or the sender as a member: the change that adds them may come from
    // another member, after it (no order holds between two senders). Membership is checked where it counts,
    // when a message opens (open()); a group I left takes no more keys.
    const group = await this.group(our, content.groupId);
    if (group?.left) return this.refuse("sender key for a group I left");
    const sender = senderName(from, fromDevice);
    const key = senderKeyId(our, content.groupId, sender);
    try {
      const next = processSenderKeyDistribution(await this.senderKey(key), fromB64(content.distribution), { groupId: content.groupId, sender });
      this.keys.set(key, next);
      this.dirtyKeys.add(key);
      this.touched.add(groupRowId(our, content.groupId));
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      this.refuse("bad distribution");
    }
  }

  /**
   * Opens a sender-key message. Refused (counted, nothing stored) when I left the group or the sender is not
   * a member now: a removed member's messages never open, whatever key it holds. One that came before its
   * group or its sender's key (another sender's change, a distribution that did not open) is "held": kept
   * as it came and opened, with these same checks, when what it lacks arrives.
   */
  async open(our: Address, from: Address, fromDevice: string, body: Uint8Array): Promise<OpenedGroupMessage | { held: string; known: boolean } | "refused" | "duplicate"> {
    if (body.length <= GROUP_FRAME_HEAD) {
      this.refuse("short frame");
      return "refused";
    }
    const gid = toHex(body.subarray(1, GROUP_FRAME_HEAD));
    const group = await this.group(our, gid);
    if (!group) return { held: gid, known: false };
    if (group.left) {
      this.refuse("a group I left");
      return "refused";
    }
    if (from !== our && !group.members.some((m) => m.address === from)) {
      this.refuse("sender not a member");
      return "refused";
    }
    const key = senderKeyId(our, gid, senderName(from, fromDevice));
    const record = await this.senderKey(key);
    if (!record) return { held: gid, known: true };
    try {
      const opened = groupDecrypt(record, body.subarray(GROUP_FRAME_HEAD));
      this.keys.set(key, opened.record);
      this.dirtyKeys.add(key);
      return { conversationId: group.conversationId, content: decodeContent(opened.plaintext) };
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      if (error.code === "duplicate") return "duplicate";
      // a chain I do not hold yet (the sender rotated, and its new key is on the way)
      if (error.code === "no_session") return { held: gid, known: true };
      this.refuse(`undecryptable: ${error.code}`);
      return "refused";
    }
  }

  /** What the commit writes. */
  writes(): { groups: GroupRow[]; senderKeys: SenderKeyRow[]; lines: MessageRow[] } {
    const groups = [...this.dirtyGroups].map((id) => this.groups.get(id) as GroupRow);
    const senderKeys = [...this.dirtyKeys].map((key) => {
      const record = this.keys.get(key) as SenderKeyRecord;
      const [our, groupId] = key.split("|");
      return { key, ourAddress: our as Address, groupId, record: serializeSenderKey(record) };
    });
    return { groups, senderKeys, lines: this.lines };
  }
}

/** Writes a batch's group work inside the commit's transaction; returns the group conversation rows. */
export async function commitGroups(db: JunctionDB, w: ReturnType<GroupBatch["writes"]>, extraConversations: string[], now: number): Promise<ConversationRow[]> {
  if (w.senderKeys.length) await db.senderKeys.bulkPut(w.senderKeys);
  const ids = [...new Set([...w.groups.map((g) => g.conversationId), ...extraConversations])];
  if (ids.length === 0) return [];
  const existing = await db.conversations.bulkGet(ids);
  const byId = new Map<string, ConversationRow>();
  ids.forEach((id, i) => {
    const row = existing[i];
    if (row) byId.set(id, row);
  });
  const puts: ConversationRow[] = [];
  for (const g of w.groups) {
    const conv = groupConversation(byId.get(g.conversationId), g, now);
    byId.set(conv.id, conv);
    puts.push(conv);
  }
  if (w.groups.length) await db.groups.bulkPut(w.groups);
  if (puts.length) await db.conversations.bulkPut(puts);
  return [...byId.values()];
}

export { groupConversationId };
