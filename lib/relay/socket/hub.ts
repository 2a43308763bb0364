// The logged-in connections of this process, by device. Envelope pushes and ack bookkeeping go
// through here; with several relay processes `peers` carries `notify` and `acked` to the others (over
// Redis), and each applies them to its own connections.
import type { AckedRef, Connection } from "./connection";

/** The other relay processes: what happened here that their connections must hear about. */
export interface HubPeers {
  notify(deviceIds: string[]): void;
  acked(deviceId: string, refs: AckedRef[]): void;
}

export class Hub {
  private readonly byDevice = new Map<string, Set<Connection>>();
  peers: HubPeers | null = null;

  add(deviceId: string, conn: Connection): void {
    let set = this.byDevice.get(deviceId);
    if (!set) this.byDevice.set(deviceId, (set = new Set()));
    set.add(conn);
  }

  remove(deviceId: string, conn: Connection): void {
    const set = this.byDevice.get(deviceId);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.byDevice.delete(deviceId);
  }

  /**
   * Keeps at most `max` connections of a device: those that logged in longest ago are closed beyond
   * that, never the one logging in now. A device that reloads keeps working (its newest login wins);
   * one that opens many to pin memory cannot.
   */
  limitConnections(deviceId: string, max: number): void {
    const set = this.byDevice.get(deviceId);
    if (!set || set.size <= max) return;
    const oldestFirst = [...set].sort((a, b) => a.loginOrder - b.loginOrder);
    for (const conn of oldestFirst.slice(0, set.size - max)) {
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
    for (const id of deviceIds) for (const conn of this.byDevice.get(id) ?? []) conn.pump(id);
  }

  /** Envelopes of a device were acked (by any of its connections, on any node): none of them waits on them now. */
  acked(deviceId: string, refs: AckedRef[]): void {
    this.ackedHere(deviceId, refs);
    this.peers?.acked(deviceId, refs);
  }

  ackedHere(deviceId: string, refs: AckedRef[]): void {
    for (const conn of this.byDevice.get(deviceId) ?? []) conn.forget(deviceId, refs);
  }

  /** Every connection here looks for mail it may have missed (after the link to the other nodes was down). */
  pumpAll(): void {
    for (const set of this.byDevice.values()) for (const conn of set) conn.pump();
  }

  /** The connections of a device on this node. */
  connectionsOf(deviceId: string): ReadonlySet<Connection> {
    return this.byDevice.get(deviceId) ?? new Set();
  }

  /** Connections of this device here. */
  count(deviceId: string): number {
    return this.byDevice.get(deviceId)?.size ?? 0;
  }

  get size(): number {
    let n = 0;
    for (const set of this.byDevice.values()) n += set.size;
    return n;
  }
}
