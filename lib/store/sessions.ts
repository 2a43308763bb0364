// Serialised ratchet sessions per (my account, their address, their device). Worker only.
import type { Address } from "../brands";
import type { JunctionDB, SessionRow } from "./db";
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
