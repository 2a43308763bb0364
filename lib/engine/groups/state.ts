// A group as stored (GroupRow) and as the rules see it (GroupState), the lines a change shows in the
// conversation ("Ana added Ben (WhatsApp)"), and the ids groups are stored under. Pure; no I/O.
import { BRANDS, brandOf, handleOf, type Address, type BrandId } from "../../brands";
import type { ConversationRow, GroupRow } from "../../store/db";
import { newConversation } from "../../store/conversations";
import { fromHex, toHex } from "../../crypto";
import { type GroupChangeBody, type GroupState } from "./membership";
import type { z } from "zod";

/** First byte of a sender-key envelope body: `0x47 ‖ group id (32) ‖ sender-key message`. */
export const GROUP_FRAME = 0x47;
export const GROUP_FRAME_HEAD = 33;

export function groupRowId(our: Address, groupId: string): string {
  return `${our}|${groupId}`;
}

/** A group's conversation id: never a pair of addresses, so it cannot collide with a 1:1 conversation. */
export function groupConversationId(our: Address, groupId: string): string {
  return `${our}|group:${groupId}`;
}

/** The sender-key record key of one sending device in one group, as seen by my account `our`. */
export function senderKeyId(our: Address, groupId: string, sender: string): string {
  return `${our}|${groupId}|${sender}`;
}

/** The sending device as a sender key names it. */
export function senderName(address: Address, deviceId: string): string {
  return `${address}/${deviceId}`;
}

export function stateOf(row: GroupRow): GroupState {
  return {
    groupId: fromHex(row.groupId),
    head: { version: row.version, hash: row.headHash },
    name: row.name,
    members: row.members.map((m) => ({ ...m })),
    timerMs: row.timerMs,
    addPolicy: row.addPolicy,
  };
}

/** The row after `state`, keeping what the row knows besides the state. */
export function rowAfter(row: GroupRow | undefined, our: Address, state: GroupState, chain: Uint8Array[], now: number): GroupRow {
  const groupId = toHex(state.groupId);
  const members = state.members.map((m) => ({ address: m.address as Address, admin: m.admin, since: m.since }));
  const addresses = new Set(members.map((m) => m.address));
  const dropped = row ? row.members.some((m) => !addresses.has(m.address)) : false;
  return {
    id: groupRowId(our, groupId),
    ourAddress: our,
    groupId,
    conversationId: groupConversationId(our, groupId),
    name: state.name,
    members,
    timerMs: state.timerMs,
    addPolicy: state.addPolicy,
    version: state.head.version,
    headHash: state.head.hash,
    chain,
    ...(addresses.has(our) ? {} : { left: true }),
    // a member gone: my sender key is replaced before my next message, and only those who stay get it
    keySentTo: (row?.keySentTo ?? []).filter((a) => addresses.has(a)),
    ...(row?.rotate || dropped ? { rotate: true } : {}),
    updatedAt: now,
  };
}

export function brandsOf(members: readonly { address: Address }[]): BrandId[] {
  const set = new Set<BrandId>();
  for (const m of members) {
    const b = brandOf(m.address);
    if (b) set.add(b);
  }
  return [...set].sort();
}

/** The group's conversation row (new, or `existing` with the group's name, brand mix and my membership). */
export function groupConversation(existing: ConversationRow | undefined, row: GroupRow, now: number): ConversationRow {
  // a group has no single peer: its row names my own address on both sides
  const base: ConversationRow = existing ?? { ...newConversation(row.ourAddress, row.ourAddress, now), id: row.conversationId };
  // the group's disappearing timer is the conversation's: my messages there carry it, as in 1:1
  return { ...base, groupId: row.groupId, groupName: row.name, groupBrands: brandsOf(row.members), groupLeft: row.left === true, expiresInMs: row.timerMs > 0 ? row.timerMs : undefined };
}

/** How an address reads in a line: the name it gave itself (or its handle) and its brand. */
export function memberLabel(address: string, names: ReadonlyMap<string, string>, our: Address): string {
  if (address === our) return "You";
  const brand = brandOf(address);
  const name = names.get(address) ?? handleOf(address);
  return brand ? `${name} (${BRANDS[brand].name})` : name;
}

/** A timer as a line says it: "1 day", "7 days", "5 minutes". */
function timerText(ms: number): string {
  const units: [number, string][] = [[86_400_000, "day"], [3_600_000, "hour"], [60_000, "minute"], [1_000, "second"]];
  for (const [size, unit] of units) {
    if (ms % size === 0) {
      const n = ms / size;
      return `${n.toLocaleString("en-US")} ${unit}${n === 1 ? "" : "s"}`;
    }
  }
  return `${ms} ms`;
}

/** The line a change shows, e.g. "Ana added Ben (WhatsApp)". `author` is the change's author. */
export function changeLine(body: z.output<typeof GroupChangeBody>, author: string, names: ReadonlyMap<string, string>, our: Address): string {
  const who = author === our ? "You" : (names.get(author) ?? handleOf(author));
  const label = (a: string) => (a === our ? "you" : memberLabel(a, names, our));
  switch (body.type) {
    case "create":
      return `${who} created the group “${body.name}”`;
    case "add":
      return `${who} added ${body.members.map(label).join(", ")}`;
    case "remove":
      return `${who} removed ${label(body.member)}`;
    case "promote":
      return `${who} made ${label(body.member)} an admin`;
    case "demote":
      return `${who} removed ${label(body.member)} as admin`;
    case "rename":
      return `${who} renamed the group to “${body.name}”`;
    case "leave":
      return author === our ? "You left the group" : `${memberLabel(author, names, our)} left`;
    case "timer":
      return body.ms > 0 ? `${who} set disappearing messages to ${timerText(body.ms)}` : `${who} turned off disappearing messages`;
    case "addPolicy":
      return body.addPolicy === "admins" ? `${who} allowed only admins to add members` : `${who} allowed every member to add members`;
  }
}
