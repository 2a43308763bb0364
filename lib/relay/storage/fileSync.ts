// One fsync shared by everyone who asks while it is due: the SQLite adapter's durability barrier.
// SQLite in WAL mode with synchronous = NORMAL writes a commit's frames to the write-ahead log without
// fsync (and stays consistent: a power cut can lose the newest commits, never corrupt the file). The
// relay answers a write only after `sync()` resolves, and an fsync of the log that began after the
// commit makes that commit durable. The fsync runs in libuv's thread pool, so the event loop keeps
// serving sockets meanwhile, and every commit that lands during one fsync shares the next.
import { close, fsync, open } from "node:fs";

/**
 * Opens `path`, fsyncs and closes it; false if it does not exist. The callback API: one promise per
 * sync, not a FileHandle and a promise for each of its three steps (this runs for every commit group).
 */
function fsyncFile(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    open(path, "r", (openErr, fd) => {
      if (openErr) {
        if (openErr.code === "ENOENT") resolve(false);
        else reject(openErr);
        return;
      }
      fsync(fd, (syncErr) => {
        close(fd, (closeErr) => {
          const err = syncErr ?? closeErr;
          if (err) reject(err);
          else resolve(true);
        });
      });
    });
  });
}

export class FileSync {
  private inFlight: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  /** fsyncs run, for tests and metrics. */
  syncs = 0;

  /** `paths` in order of preference: the first that exists is synced (the log, else the database file). */
  constructor(private readonly paths: readonly string[]) {}

  /** Resolves once an fsync that began after this call has finished. */
  sync(): Promise<void> {
    // one is already queued behind the running one: it starts after this call, so it covers it
    if (this.next) return this.next;
    if (this.inFlight) {
      const running = this.inFlight.catch(() => {});
      this.next = running.then(() => {
        this.next = null;
        return this.run();
      });
      return this.next;
    }
    return this.run();
  }

  private run(): Promise<void> {
    const work = this.fsyncFirstExisting().finally(() => {
      if (this.inFlight === work) this.inFlight = null;
    });
    this.inFlight = work;
    return work;
  }

  private async fsyncFirstExisting(): Promise<void> {
    this.syncs++;
    for (const path of this.paths) {
      if (await fsyncFile(path)) return;
    }
  }
}
