// Devices of an address and sessions to them. Lookups are cached briefly because the relay
// rate-limits directory calls and one-time prekeys are consumed by bundle fetches.
import { EVENTS, fromB64, type Address } from "./deps";
import { deleteSessionsWith, sessionsWith } from "../store/sessions";
import { observeIdentity, knownIdentity, sameBytes } from "../store/identities";
import { getIdentityKey } from "../store/keys";
import { deserializeSession, initiateSession, sessionTheirIdentityKey, type SessionState } from "../crypto";
import type { EngineContext } from "./context";
import { bundleFromWire } from "./keys";
import { request } from "./relay";

export class ForeignIdentityError extends Error {
  constructor() {
    super("directory returned a foreign identity key for my own address");
    this.name = "ForeignIdentityError";
  }
}

export const DEVICE_LIST_TTL_MS = 60_000;

interface DeviceList {
  identityKey: Uint8Array;
  deviceIds: string[];
  fetchedAt: number;
}

export class DeviceDirectory {
  private readonly cache = new Map<string, DeviceList>();

  constructor(private readonly ctx: EngineContext) {}

  /** Forget what we know about an address (a new device wrote to us, or a send was refused). */
  invalidate(address: Address): void {
    this.cache.delete(address);
  }

  async devices(address: Address): Promise<DeviceList> {
    const cached = this.cache.get(address);
    if (cached && this.ctx.now() - cached.fetchedAt < DEVICE_LIST_TTL_MS) return cached;
    const res = await request(this.ctx.socket(), EVENTS.lookup, { address });
    const list = { identityKey: fromB64(res.identityKey), deviceIds: res.deviceIds, fetchedAt: this.ctx.now() };
    this.cache.set(address, list);
    return list;
  }

  /**
   * Current session states from `ourAddress` to every device of `theirAddress` (minus `skipDevice`),
   * setting up new ones from prekey bundles where missing. States are returned, not stored: the caller
   * persists them together with what it encrypted. Call while holding ctx.sessions.
   */
  async sessionsFor(ourAddress: Address, theirAddress: Address, skipDevice?: string): Promise<Map<string, SessionState>> {
    const { db } = this.ctx;
    const list = await this.devices(theirAddress);
    const wanted = list.deviceIds.filter((d) => d !== skipDevice);
    await this.checkIdentity(ourAddress, theirAddress, list.identityKey);

    const states = new Map<string, SessionState>();
    for (const row of await sessionsWith(db, ourAddress, theirAddress)) {
      if (!wanted.includes(row.theirDevice)) continue;
      const state = deserializeSession(row.state);
      // a session made under an older identity key must not carry new messages
      if (sameBytes(sessionTheirIdentityKey(state), list.identityKey)) states.set(row.theirDevice, state);
    }
    const missing = wanted.filter((d) => !states.has(d));
    if (missing.length === 0) return states;

    const ours = await getIdentityKey(db, ourAddress);
    if (!ours) throw new Error("missing identity key for my account");
    const res = await request(this.ctx.socket(), EVENTS.bundles, { address: theirAddress, deviceIds: missing });
    if (!sameBytes(fromB64(res.identityKey), list.identityKey)) {
      this.invalidate(theirAddress);
      await this.checkIdentity(ourAddress, theirAddress, fromB64(res.identityKey));
    }
    for (const bundle of res.bundles) {
      if (!missing.includes(bundle.deviceId)) continue;
      const state = await initiateSession({
        ourIdentity: { publicKey: ours.publicKey, privateKey: ours.privateKey },
        ourAddress,
        theirAddress,
        bundle: bundleFromWire(res.identityKey, bundle),
      });
      states.set(bundle.deviceId, state);
    }
    return states;
  }

  /** TOFU: a different key than the one we stored flags the conversation and drops the old sessions. */
  private async checkIdentity(ourAddress: Address, theirAddress: Address, identityKey: Uint8Array): Promise<void> {
    const { db } = this.ctx;
    if (ourAddress === theirAddress) {
      // my own other devices share my identity key; anything else is the relay inventing a device
      const mine = await getIdentityKey(db, ourAddress);
      if (!mine || !sameBytes(mine.publicKey, identityKey)) throw new ForeignIdentityError();
      return;
    }
    const known = await knownIdentity(db, ourAddress, theirAddress);
    if (known && sameBytes(known.identityKey, identityKey)) return;
    await db.transaction("rw", [db.identities, db.sessions], async () => {
      const change = await observeIdentity(db, ourAddress, theirAddress, identityKey, this.ctx.now());
      if (change === "changed") await deleteSessionsWith(db, ourAddress, theirAddress);
    });
  }
}
