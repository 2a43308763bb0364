// Group messages held for what they lack (docs/PROTOCOL.md, "Held group messages"): which of a batch's are
// kept, within bounds a stranger cannot stretch. A sender-key frame needs no pairwise session, so anyone can
// send one naming a group I never heard of: those are kept at most HELD_UNKNOWN_PER_SENDER per sender, and
// all held messages at most HELD_GROUP_MAX, so a flood costs bounded storage and leaves room for the others.
// Runtime: the worker (and Node in tests).
import type { HeldGroupRow, JunctionDB } from "../../store/db";

/** Held messages for groups I never heard of, kept at most per sending account. */
export const HELD_UNKNOWN_PER_SENDER = 100;

export interface HeldCandidate {
  row: HeldGroupRow;
  /** The group is known here (it waits for its sender's key, not for its group). */
  known: boolean;
}

export interface Admitted {
  kept: HeldCandidate[];
  /** Refused: HELD_GROUP_MAX held already. */
  full: number;
  /** Refused: the sender has HELD_UNKNOWN_PER_SENDER held for unknown groups already. */
  unknownFull: number;
}

function senderOf(row: Pick<HeldGroupRow, "ourAddress" | "from">): string {
  return `${row.ourAddress}|${row.from}`;
}

/** How many messages for unknown groups each of these senders has held here already. */
export async function unknownHeldBy(db: JunctionDB, candidates: readonly HeldCandidate[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const senders = new Set(candidates.filter((c) => !c.known).map((c) => senderOf(c.row)));
  if (senders.size === 0) return counts;
  // at most HELD_GROUP_MAX rows, read only when a batch holds a message for an unknown group
  await db.heldGroup.each((row) => {
    const sender = senderOf(row);
    if (row.unknownGroup && senders.has(sender)) counts.set(sender, (counts.get(sender) ?? 0) + 1);
  });
  return counts;
}

/** The candidates kept, in order, within `room` in all and HELD_UNKNOWN_PER_SENDER of unknown groups per sender. */
export function admitHeld(candidates: readonly HeldCandidate[], room: number, unknownHeld: ReadonlyMap<string, number>): Admitted {
  const counts = new Map(unknownHeld);
  const kept: HeldCandidate[] = [];
  let full = 0;
  let unknownFull = 0;
  for (const c of candidates) {
    if (kept.length >= room) {
      full += 1;
      continue;
    }
    if (!c.known) {
      const sender = senderOf(c.row);
      const n = counts.get(sender) ?? 0;
      if (n >= HELD_UNKNOWN_PER_SENDER) {
        unknownFull += 1;
        continue;
      }
      counts.set(sender, n + 1);
      kept.push({ ...c, row: { ...c.row, unknownGroup: true } });
      continue;
    }
    kept.push(c);
  }
  return { kept, full, unknownFull };
}

/** A held row whose group is now known: no longer counted against its sender as a stranger's. */
export function nowKnown(row: HeldGroupRow): HeldGroupRow {
  const { unknownGroup: _was, ...rest } = row;
  return rest;
}
