// The logged-in connections of this process, by device. Envelope pushes and ack bookkeeping go
// through here; with several relay processes a pub/sub adapter would fan `notify` out to the others.
import type { Connection } from "./connection";

export class Hub {
  private readonly byDevice = new Map<string, Set<Connection>>();

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

  /** New envelopes were stored for these devices: every online connection of each pulls them. */
  notify(deviceIds: Iterable<string>): void {
    for (const id of deviceIds) for (const conn of this.byDevice.get(id) ?? []) conn.pump();
  }

  /** Envelopes of a device were acked (by any of its connections): none of them waits on them now. */
  acked(deviceId: string, keys: string[]): void {
    for (const conn of this.byDevice.get(deviceId) ?? []) conn.forget(keys);
  }

  get size(): number {
    let n = 0;
    for (const set of this.byDevice.values()) n += set.size;
    return n;
  }
}
