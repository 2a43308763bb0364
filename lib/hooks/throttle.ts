// Passes on the latest of a stream of values at most once per period: the first at once, then whatever is
// newest when the period is over (nothing is lost at the end). For outputs that cost more than a render and
// that a person reads, not counts: a backlog changes the unread count at every commit (several a second),
// and each change of the title and app badge is a DOM write plus a message to the browser process.
// Runtime: any (timers only).

export interface Throttled<T> {
  /** A new value: applied now if the period since the last one is over, else when it is. */
  push(value: T): void;
  /** Drops a value still waiting (on unmount). */
  cancel(): void;
}

export function latestAtMostEvery<T>(periodMs: number, apply: (value: T) => void, now: () => number = () => performance.now()): Throttled<T> {
  let lastAt = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let waiting: { value: T } | null = null;
  let applied: { value: T } | null = null;
  const flush = () => {
    timer = null;
    if (!waiting) return;
    const { value } = waiting;
    waiting = null;
    lastAt = now();
    applied = { value };
    apply(value);
  };
  return {
    push(value) {
      // the same value as shown, with nothing newer waiting: nothing to do
      if (!waiting && applied && Object.is(applied.value, value)) return;
      waiting = { value };
      if (timer !== null) return;
      const wait = lastAt + periodMs - now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    cancel() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      waiting = null;
    },
  };
}
