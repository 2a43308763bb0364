// Devices of an address and sessions to them. Lookups are cached briefly because the relay
// rate-limits directory calls and one-time prekeys are consumed by bundle fetches.
import { EVENTS, fromB64, toB64, type Address, type schemas } from "./deps";
import { archivedRow, deleteAllSessionsWith, sessionsWith } from "../store/sessions";
import { observeIdentity, knownIdentity, sameBytes } from "../store/identities";
import { getIdentityKey } from "../store/keys";
import {
  archiveCurrent,
  deserializeArchive,
  deserializeSession,
  initiateSession,
  serializeArchive,
  sessionNeedsReplacing,
  sessionTheirIdentityKey,
  type SessionState,
} from "../crypto";
import type { EngineContext } from "./context";
import { bundleFromWire } from "./keys";
import { checkDeviceList, listedKey } from "./deviceLists";
import { request } from "./relay";

export class ForeignIdentityError extends Error {
  constructor() {
    super("directory returned a foreign identity key for my own address");
    this.name = "ForeignIdentityError";
  }
}

/** A verified contact's identity key changed: nothing goes to them until the person accepts it. */
export class IdentityHeldError extends Error {
  constructor() {
    super("waiting for the new safety number to be accepted");
    this.name = "IdentityHeldError";
  }
}

export const DEVICE_LIST_TTL_MS = 60_000;

interface DeviceList {
  /** The account key. */
  identityKey: Uint8Array;
  /** The devices on the account's checked device list, with their identity keys: no other gets a message. */
  devices: Map<string, Uint8Array>;
  fetchedAt: number;
}

export class DeviceDirectory {
  private readonly cache = new Map<string, DeviceList>();

  constructor(private readonly ctx: EngineContext) {}

  /** Forget what we know about an address (a new device wrote to us, or a send was refused). */
  invalidate(address: Address): void {
    this.cache.delete(address);
  }

  private fresh(address: Address): DeviceList | undefined {
    const cached = this.cache.get(address);
    return cached && this.ctx.now() - cached.fetchedAt < DEVICE_LIST_TTL_MS ? cached : undefined;
  }

  /**
   * The relay's devices of an address come only with bundles: `known` devices (we have sessions with them)
   * are listed without one, so no prekey of theirs is spent. The signed device list comes with them and
   * is checked (account key → list, no older version): only the devices on it are used. A device the
   * relay names that the list does not is never written to (the relay then refuses the send as stale, and
   * the message is not sent rather than read by a device the account never linked).
   */
  private async fetchBundles(address: Address, opts: { deviceIds?: string[]; known?: string[] }): Promise<{ res: schemas.BundlesResponse; list: DeviceList }> {
    const res = await request(this.ctx.socket(), EVENTS.bundles, {
      address,
      ...(opts.deviceIds ? { deviceIds: opts.deviceIds } : {}),
      ...(opts.known?.length ? { known: opts.known } : {}),
    });
    const checked = await checkDeviceList(this.ctx.db, address, fromB64(res.identityKey), res.deviceList, this.ctx.now());
    if (res.deviceIds.some((d) => !listedKey(checked, d))) {
      this.ctx.counters.bump("unlisted_device");
      this.ctx.log.warn("the relay names a device that is not on the account's device list");
    }
    const list = { identityKey: fromB64(res.identityKey), devices: new Map(checked.devices.map((d) => [d.deviceId, d.identityKey])), fetchedAt: this.ctx.now() };
    this.cache.set(address, list);
    return { res, list };
  }

  /**
   * Current session states from `ourAddress` to every device of `theirAddress` (minus `skipDevice`, or only
   * `onlyDevice`), setting up new ones from prekey bundles where missing. A current state that should no
   * longer carry messages (never answered for 30 days, or not post-quantum) is archived (still good for
   * receiving) and replaced. States are returned, not stored: the caller persists them together with what
   * it encrypted. Call while holding ctx.sessions.
   */
  async sessionsFor(ourAddress: Address, theirAddress: Address, opts: { skipDevice?: string; onlyDevice?: string } = {}): Promise<Map<string, SessionState>> {
    const { db } = this.ctx;
    const now = this.ctx.now();
    // the sessions we hold, read before asking the relay, so that it spends no prekeys on their devices
    const held = new Map<string, SessionState>();
    for (const row of await sessionsWith(db, ourAddress, theirAddress)) {
      try {
        held.set(row.theirDevice, deserializeSession(row.state));
      } catch {
        // an unreadable row: start over with that device (its messages to us recover the same way)
        this.ctx.counters.bump("corrupt_session");
      }
    }
    let list = this.fresh(theirAddress);
    let prefetched: schemas.BundlesResponse | undefined;
    if (!list) {
      const usable = [...held].filter(([, state]) => !sessionNeedsReplacing(state, now)).map(([device]) => device);
      const fetched = await this.fetchBundles(theirAddress, opts.onlyDevice ? { deviceIds: [opts.onlyDevice], known: usable } : { known: usable });
      prefetched = fetched.res;
      list = fetched.list;
    }
    const listed = list.devices;
    const wanted = [...listed.keys()].filter((d) => d !== opts.skipDevice && (opts.onlyDevice === undefined || d === opts.onlyDevice));
    await this.checkIdentity(ourAddress, theirAddress, list.identityKey);

    const states = new Map<string, SessionState>();
    for (const [device, state] of held) {
      if (!wanted.includes(device)) continue;
      // a session made under another identity key than the device's on the list must not carry new messages
      const key = listed.get(device);
      if (!key || !sameBytes(sessionTheirIdentityKey(state), key)) continue;
      if (sessionNeedsReplacing(state, now)) {
        await this.archive(ourAddress, theirAddress, device, state);
        continue;
      }
      states.set(device, state);
    }
    const missing = wanted.filter((d) => !states.has(d));
    if (missing.length === 0) return states;

    const ours = await getIdentityKey(db, ourAddress);
    if (!ours) throw new Error("missing identity key for my account");
    // bundles that came with the list cover the devices we had nothing for; the rest are asked for now
    const covered = new Set(prefetched?.bundles.map((b) => b.deviceId) ?? []);
    const res =
      prefetched && missing.every((d) => covered.has(d)) ? prefetched : (await this.fetchBundles(theirAddress, { deviceIds: missing })).res;
    if (!sameBytes(fromB64(res.identityKey), list.identityKey)) {
      this.invalidate(theirAddress);
      await this.checkIdentity(ourAddress, theirAddress, fromB64(res.identityKey));
    }
    // keys as the list of the fetch that brought the bundles has them (a list fetched in between may be newer)
    const keys = this.cache.get(theirAddress)?.devices ?? listed;
    for (const bundle of res.bundles) {
      const deviceKey = keys.get(bundle.deviceId);
      if (!missing.includes(bundle.deviceId) || !deviceKey) continue;
      const state = await initiateSession({
        ourIdentity: { publicKey: ours.publicKey, privateKey: ours.privateKey },
        ourAddress,
        theirAddress,
        // its prekeys must be signed by the device's own identity key as the account's list names it
        bundle: bundleFromWire(toB64(deviceKey), bundle),
        now,
      });
      states.set(bundle.deviceId, state);
    }
    return states;
  }

  /** Moves a state into the device's archive, newest first (kept for receiving only). */
  private async archive(ourAddress: Address, theirAddress: Address, device: string, state: SessionState): Promise<void> {
    const { db } = this.ctx;
    const key = `${ourAddress}|${theirAddress}|${device}`;
    const row = await db.archivedSessions.get(key);
    let archived: SessionState[] = [];
    try {
      archived = row ? deserializeArchive(row.states) : [];
    } catch {
      this.ctx.counters.bump("corrupt_session");
    }
    const next = archiveCurrent({ current: state, archived });
    await db.archivedSessions.put(archivedRow(ourAddress, theirAddress, device, serializeArchive(next.archived), this.ctx.now()));
    this.ctx.counters.bump("session_replaced");
  }

  /** TOFU: a different key than the one we stored flags the conversation and drops the old sessions. */
  private async checkIdentity(ourAddress: Address, theirAddress: Address, identityKey: Uint8Array): Promise<void> {
    const { db } = this.ctx;
    if (ourAddress === theirAddress) {
      // my own account's key (my devices' own keys are on its list); anything else is the relay inventing one
      const mine = await db.accounts.get(ourAddress);
      if (!mine || !sameBytes(mine.identityKey, identityKey)) throw new ForeignIdentityError();
      return;
    }
    const known = await knownIdentity(db, ourAddress, theirAddress);
    if (known && sameBytes(known.identityKey, identityKey)) {
      if (known.awaitingAcceptance) throw new IdentityHeldError();
      return;
    }
    const change = await db.transaction("rw", [db.identities, db.sessions, db.archivedSessions], async () => {
      const change = await observeIdentity(db, ourAddress, theirAddress, identityKey, this.ctx.now());
      if (change === "changed") await deleteAllSessionsWith(db, ourAddress, theirAddress);
      return change;
    });
    if (change === "changed" && (await knownIdentity(db, ourAddress, theirAddress))?.awaitingAcceptance) throw new IdentityHeldError();
  }
}
