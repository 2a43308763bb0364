// When the outbox's receipts wait for a backlog being received. A receipt's send takes the session lock, and
// the receive pipeline lets a waiting send in after its commit in flight and then starts over, losing the
// overlap of one batch's decryption with the previous batch's commit. Every commit queues receipts, so a drain
// running beside a backlog cut it into runs of a batch or two (six times in a backlog of 10,000 in the client
// benchmark, about a tenth of its time). Receipts tell a sender what arrived, nothing it must act on: they
// wait while envelopes are queued to be received, and go once the inbox is empty (the receive run's end pokes
// the drain) or once they have waited `maxMs` under a stream that never lets the inbox empty (then all of
// them, in one drain pass). The person's own messages never wait for a backlog.

/** The longest receipts wait for a backlog that keeps arriving before they go anyway. */
export const RECEIPT_WAIT_MAX_MS = 10_000;

export class ReceiptHold {
  /** Since when receipts have waited (null: none wait). */
  private since: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `wake` pokes the drain when receipts have waited `maxMs` (it then finds them due). */
  constructor(
    private readonly wake: () => void,
    private readonly maxMs = RECEIPT_WAIT_MAX_MS,
  ) {}

  /** At the start of a drain pass: whether the receipts waiting have waited their longest and go now. */
  due(now: number): boolean {
    if (this.since === null || now - this.since < this.maxMs) return false;
    this.clear();
    return true;
  }

  /** For one receipt row of a pass that is not `due`: whether it waits, given whether a backlog is being received. */
  waits(receiving: boolean, now: number): boolean {
    if (!receiving) {
      this.clear();
      return false;
    }
    if (this.since === null) {
      this.since = now;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.wake();
      }, this.maxMs);
    }
    return true;
  }

  /** Nothing waits any more (they went, or the engine stops). */
  clear(): void {
    this.since = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
