// The logged-in connections of this process, by device. Envelope pushes and ack bookkeeping go
// through here; with several relay processes `peers` carries `notify` and `acked` to the others (over
// Redis), and each applies them to its own connections.
import { EVENTS } from "../../protocol";
import type { AckedRef, Connection } from "./connection";

/** The other relay processes: what happened here that their connections must hear about. */
export interface HubPeers {
  notify(deviceIds: string[]): void;
  acked(deviceId: string, refs: AckedRef[]): void;
  /** A connection logged in as the device: the cap across nodes. */
  admitted(deviceId: string, connId: string, max: number): void;
  /** A connection of the device closed here. */
  left(deviceId: string, connId: string): void;
  /** The account's new list left these devices out: their connections, wherever they are, are told and closed. */
  removed(deviceIds: string[], address: string, list: string): void;
}

/** How long a removed device's connection stays open after the list is pushed to it, so the push arrives first. */
const REMOVED_CLOSE_AFTER_MS = 500;

export class Hub {
  // An array per device, not a set: nearly every device has one connection, and an array of one
  // costs a fraction of a set's table (this map has an entry per logged-in socket).
  private readonly byDevice = new Map<string, Connection[]>();
  peers: HubPeers | null = null;

  add(deviceId: string, conn: Connection): void {
    const list = this.byDevice.get(deviceId);
    if (!list) this.byDevice.set(deviceId, [conn]);
    else if (!list.includes(conn)) list.push(conn);
  }

  remove(deviceId: string, conn: Connection): void {
    const list = this.byDevice.get(deviceId);
    const i = list ? list.indexOf(conn) : -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.byDevice.delete(deviceId);
    this.peers?.left(deviceId, conn.id);
  }

  /**
   * Keeps at most `max` connections of a device: those that logged in longest ago are closed beyond
   * that, never the one logging in now. A device that reloads keeps working (its newest login wins);
   * one that opens many to pin memory cannot. With other nodes, `loggedIn` (the login now) counts
   * against the device's connections on all of them.
   */
  limitConnections(deviceId: string, max: number, loggedIn?: Connection): void {
    const list = this.byDevice.get(deviceId);
    if (loggedIn) this.peers?.admitted(deviceId, loggedIn.id, max);
    if (!list || list.length <= max) return;
    const oldestFirst = [...list].sort((a, b) => a.loginOrder - b.loginOrder);
    for (const conn of oldestFirst.slice(0, list.length - max)) {
      this.remove(deviceId, conn);
      conn.drop();
    }
  }

  /** Closes these connections of the device, if they are here (evicted by a login on another node). */
  dropHere(deviceId: string, connIds: readonly string[]): void {
    for (const conn of this.snapshot(deviceId)) {
      if (!connIds.includes(conn.id)) continue;
      this.remove(deviceId, conn);
      conn.drop();
    }
  }

  /** New envelopes were stored for these devices: every online connection of each pulls them, on every node. */
  notify(deviceIds: string[]): void {
    this.notifyHere(deviceIds);
    this.peers?.notify(deviceIds);
  }

  notifyHere(deviceIds: Iterable<string>): void {
    for (const id of deviceIds) for (const conn of this.snapshot(id)) conn.pump(id);
  }

  /** Envelopes of a device were acked (by any of its connections, on any node): none of them waits on them now. */
  acked(deviceId: string, refs: AckedRef[]): void {
    this.ackedHere(deviceId, refs);
    this.peers?.acked(deviceId, refs);
  }

  ackedHere(deviceId: string, refs: AckedRef[]): void {
    for (const conn of this.snapshot(deviceId)) conn.forget(deviceId, refs);
  }

  /**
   * Devices were removed from `address`'s list: each of their connections, on every node, is handed the
   * signed list (its proof that the account removed it) and then closed.
   */
  removed(deviceIds: string[], address: string, list: string): void {
    this.removedHere(deviceIds, address, list);
    this.peers?.removed(deviceIds, address, list);
  }

  removedHere(deviceIds: Iterable<string>, address: string, list: string): void {
    for (const deviceId of deviceIds) {
      for (const conn of this.snapshot(deviceId)) {
        conn.socket.emit(EVENTS.devicesRemoved, { address, list });
        setTimeout(() => {
          this.remove(deviceId, conn);
          conn.drop();
        }, REMOVED_CLOSE_AFTER_MS).unref();
      }
    }
  }

  /** Every connection here looks for mail it may have missed (after the link to the other nodes was down). */
  pumpAll(): void {
    for (const list of this.byDevice.values()) for (const conn of [...list]) conn.pump();
  }

  /** The device's connections as they are now: a pump or a forget may drop one (and so remove it) as it runs. */
  private snapshot(deviceId: string): readonly Connection[] {
    const list = this.byDevice.get(deviceId);
    if (!list) return [];
    return list.length === 1 ? [list[0]!] : [...list];
  }

  /** The connections of a device on this node. */
  connectionsOf(deviceId: string): readonly Connection[] {
    return this.byDevice.get(deviceId) ?? [];
  }

  /** Connections of this device here. */
  count(deviceId: string): number {
    return this.byDevice.get(deviceId)?.length ?? 0;
  }

  get size(): number {
    let n = 0;
    for (const list of this.byDevice.values()) n += list.length;
    return n;
  }
}
