// Serialised ratchet sessions per (my account, their address, their device). Worker only.
import type { Address } from "../brands";
import type { ArchivedSessionRow, JunctionDB, SessionRow } from "./db";
import { sessionKey } from "./ids";

export async function loadSession(db: JunctionDB, ourAddress: Address, theirAddress: Address, theirDevice: string): Promise<SessionRow | undefined> {
  return db.sessions.get(sessionKey(ourAddress, theirAddress, theirDevice));
}

export function sessionRow(ourAddress: Address, theirAddress: Address, theirDevice: string, state: Uint8Array, now: number): SessionRow {
  return { key: sessionKey(ourAddress, theirAddress, theirDevice), ourAddress, theirAddress, theirDevice, state, updatedAt: now };
}

export async function sessionsWith(db: JunctionDB, ourAddress: Address, theirAddress: Address): Promise<SessionRow[]> {
  return db.sessions.where("[ourAddress+theirAddress]").equals([ourAddress, theirAddress]).toArray();
}

export async function deleteSessionsWith(db: JunctionDB, ourAddress: Address, theirAddress: Address): Promise<void> {
  await db.sessions.where("[ourAddress+theirAddress]").equals([ourAddress, theirAddress]).delete();
}

export function archivedRow(ourAddress: Address, theirAddress: Address, theirDevice: string, states: Uint8Array, now: number): ArchivedSessionRow {
  return { key: sessionKey(ourAddress, theirAddress, theirDevice), ourAddress, theirAddress, theirDevice, states, updatedAt: now };
}

/** Every session with a peer, current and archived (their identity key changed: none of them may be used again). */
export async function deleteAllSessionsWith(db: JunctionDB, ourAddress: Address, theirAddress: Address): Promise<void> {
  await deleteSessionsWith(db, ourAddress, theirAddress);
  await db.archivedSessions.where("[ourAddress+theirAddress]").equals([ourAddress, theirAddress]).delete();
}
