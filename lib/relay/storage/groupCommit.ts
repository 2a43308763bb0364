// Group commit (runtime: any; no I/O of its own beyond the store it wraps). Concurrent
// `storeEnvelopes` calls, from many connections, go to the store as one group: one transaction and one
// commit for all of them, and each call resolves after that commit is on disk (so an ack still means
// on disk) with its own outcome. Acks (`deleteEnvelopes`) are grouped the same way, in their own
// groups. Durable throughput then grows with concurrency instead of being one fsync per send.
//
// Batching is natural, with no timer: a call that finds no group running starts one in the check
// phase of the same event-loop turn (setImmediate: after the poll phase has handed every socket's
// ready frames to their handlers, so the calls of one turn share a group, and at low load nothing
// waits). Calls that arrive while a group commits form the next group, which starts as soon as that
// one is done. On SQLite (better-sqlite3 is synchronous) the statements run on the event loop, but the
// commit does not fsync there: the store waits for one shared fsync of the log in libuv's thread pool
// (fileSync.ts), during which the next group gathers.
import type { DeleteEnvelopesCall, EnvelopeRecord, EnvelopeRef, GroupableStore, MailboxQuotas, RelayStore, StoreEnvelopesCall, StoreEnvelopesOutcome } from "./types";
import { ForwardingStore } from "./forwarding";

export interface GroupCommitOptions {
  /**
   * The most envelopes in one store group (default 2,000): a bound on how long one transaction holds
   * the writer (SQLite) or its insert locks (Postgres). A single call larger than this goes alone.
   */
  maxEnvelopes?: number;
  /** The most refs in one ack group (default 5,000). */
  maxRefs?: number;
  /** After each committed store group: its envelopes and calls (for the batch-size metrics). */
  onGroup?: (envelopes: number, calls: number) => void;
}

interface Waiting<Req, Res> {
  req: Req;
  weight: number;
  resolve: (res: Res) => void;
  reject: (err: unknown) => void;
}

/**
 * Runs submitted requests in groups, one group at a time: `run` gets a group's requests in arrival
 * order and answers one result per request. A group holds requests up to `maxWeight` together (and
 * always at least one). If `run` rejects, every request of the group rejects with its error.
 */
export class GroupRunner<Req, Res> {
  private readonly queue: Waiting<Req, Res>[] = [];
  private running = false;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly run: (reqs: Req[]) => Promise<Res[]>,
    private readonly weigh: (req: Req) => number,
    private readonly maxWeight: number,
  ) {
    if (!Number.isSafeInteger(maxWeight) || maxWeight < 1) throw new RangeError("invalid group size");
  }

  submit(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ req, weight: this.weigh(req), resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.running && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    if (this.queue.length === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private take(): Waiting<Req, Res>[] {
    let weight = this.queue[0]!.weight;
    let n = 1;
    while (n < this.queue.length && weight + this.queue[n]!.weight <= this.maxWeight) weight += this.queue[n++]!.weight;
    return this.queue.splice(0, n);
  }

  private async flush(): Promise<void> {
    const group = this.take();
    this.running = true;
    try {
      const results = await this.run(group.map((w) => w.req));
      if (results.length !== group.length) throw new Error("group answered the wrong number of calls");
      group.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      for (const w of group) w.reject(err);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}

function validQuotas(quotas: MailboxQuotas): boolean {
  return [quotas.perDeviceEnvelopes, quotas.perDeviceBytes].every((limit) => Number.isSafeInteger(limit) && limit >= 0);
}

/** `store` with its `storeEnvelopes` and `deleteEnvelopes` group-committed; everything else passes through. */
class GroupCommitStore extends ForwardingStore<GroupableStore> {
  private readonly stores: GroupRunner<StoreEnvelopesCall, StoreEnvelopesOutcome>;
  private readonly deletes: GroupRunner<DeleteEnvelopesCall, number>;

  constructor(inner: GroupableStore, opts: GroupCommitOptions) {
    super(inner);
    const onGroup = opts.onGroup;
    this.stores = new GroupRunner(
      async (calls) => {
        const outcomes = await inner.storeEnvelopesGroup(calls);
        onGroup?.(calls.reduce((n, c) => n + c.envelopes.length, 0), calls.length);
        return outcomes;
      },
      (call) => call.envelopes.length,
      opts.maxEnvelopes ?? 2_000,
    );
    this.deletes = new GroupRunner((calls) => inner.deleteEnvelopesGroup(calls), (call) => call.refs.length, opts.maxRefs ?? 5_000);
  }

  override storeEnvelopes(envelopes: EnvelopeRecord[], quotas: MailboxQuotas): Promise<StoreEnvelopesOutcome> {
    // Checked here, not in the group: one caller's bad argument must not fail the others' group.
    if (!validQuotas(quotas)) return Promise.reject(new RangeError("invalid quota"));
    return this.stores.submit({ envelopes, quotas });
  }

  override deleteEnvelopes(deviceId: string, refs: EnvelopeRef[]): Promise<number> {
    return this.deletes.submit({ deviceId, refs });
  }

  override async close(): Promise<void> {
    // Calls already accepted are committed (or fail) before the database goes.
    await Promise.all([this.stores.idle(), this.deletes.idle()]);
    await this.inner.close();
  }
}

/** A RelayStore whose concurrent sends (and acks) share transactions and commits; see the top of this file. */
export function withGroupCommit(store: GroupableStore, opts: GroupCommitOptions = {}): RelayStore {
  return new GroupCommitStore(store, opts);
}
