// Trust-on-first-use for remote identity keys, per (my account, their address).
// Call inside a read-write transaction that includes `identities`.
import type { Address } from "../brands";
import { type IdentityRow, type JunctionDB } from "./db";
import { identityId } from "./ids";

export type IdentityChange = "new" | "same" | "changed";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export { sameBytes };

/**
 * Records the key the first time; a different key later clears "verified" and stamps changedAt. If the old
 * key was verified, sending to this person now waits until I accept the new one (awaitingAcceptance).
 */
export async function observeIdentity(
  db: JunctionDB,
  ourAddress: Address,
  theirAddress: Address,
  identityKey: Uint8Array,
  now: number,
): Promise<IdentityChange> {
  const id = identityId(ourAddress, theirAddress);
  const { change, row } = identityAfter(await db.identities.get(id), ourAddress, theirAddress, identityKey, now);
  if (row) await db.identities.put(row);
  return change;
}

/** observeIdentity without the storage: what seeing `identityKey` makes of the stored row (a row to put, or none). */
export function identityAfter(
  stored: IdentityRow | undefined,
  ourAddress: Address,
  theirAddress: Address,
  identityKey: Uint8Array,
  now: number,
): { change: IdentityChange; row?: IdentityRow } {
  if (!stored) {
    const id = identityId(ourAddress, theirAddress);
    return { change: "new", row: { id, ourAddress, theirAddress, identityKey, verified: false, changedAt: null, firstSeenAt: now } };
  }
  if (sameBytes(stored.identityKey, identityKey)) return { change: "same" };
  return {
    change: "changed",
    row: { ...stored, identityKey, verified: false, changedAt: now, awaitingAcceptance: stored.verified || stored.awaitingAcceptance === true },
  };
}

/** The stored key for a peer, if any (outside or inside a transaction). */
export async function knownIdentity(db: JunctionDB, ourAddress: Address, theirAddress: Address): Promise<IdentityRow | undefined> {
  return db.identities.get(identityId(ourAddress, theirAddress));
}
