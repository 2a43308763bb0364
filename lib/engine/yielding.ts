// Giving the worker's event loop a turn in the middle of long synchronous work. Decrypting a batch of
// hundreds of messages is one run of synchronous crypto; without a break, the IndexedDB callbacks of the
// commit in flight and the relay's acks and pushes all wait until it ends, so the commit (and the ack the
// relay waits for before pushing more) is late by up to a whole batch's decryption.

/** How long synchronous work runs before it lets queued tasks in. */
export const SLICE_MS = 8;

let channel: MessageChannel | null = null;
const resumes: (() => void)[] = [];

/** Resolves in a new task (not a microtask), after what is already queued. */
export function nextTask(): Promise<void> {
  // Node (tests): setImmediate runs after pending I/O callbacks
  if (typeof setImmediate === "function") return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === "function") {
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => resumes.shift()?.();
    }
    const port = channel.port2;
    return new Promise((resolve) => {
      resumes.push(resolve);
      port.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A clock for slicing work: `due()` is true once SLICE_MS have passed since the last `nextTask` through it. */
export class Slicer {
  private start = performance.now();

  due(): boolean {
    return performance.now() - this.start >= SLICE_MS;
  }

  async yield(): Promise<void> {
    await nextTask();
    this.start = performance.now();
  }
}
