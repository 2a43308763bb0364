// The title and badge throttle: the first value at once, at most one more per period, and always the newest
// in the end.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { latestAtMostEvery } from "./throttle";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function setup(periodMs = 1_000) {
  const applied: number[] = [];
  const t = latestAtMostEvery<number>(periodMs, (v) => applied.push(v), () => Date.now());
  return { applied, t };
}

describe("latestAtMostEvery", () => {
  it("applies the first value at once", () => {
    const { applied, t } = setup();
    t.push(3);
    expect(applied).toEqual([3]);
  });

  it("applies a burst as its first and its last value, the last one period after the first", () => {
    const { applied, t } = setup();
    for (let n = 400; n <= 4_000; n += 400) {
      t.push(n);
      vi.advanceTimersByTime(90);
    }
    // ten values in 0.9 s: the first went at once, the rest wait for the period's end
    expect(applied).toEqual([400]);
    vi.advanceTimersByTime(100);
    expect(applied).toEqual([400, 4_000]);
    // nothing else is pending
    vi.advanceTimersByTime(5_000);
    expect(applied).toEqual([400, 4_000]);
  });

  it("a value after a quiet period goes at once", () => {
    const { applied, t } = setup();
    t.push(1);
    vi.advanceTimersByTime(1_500);
    t.push(2);
    expect(applied).toEqual([1, 2]);
  });

  it("skips a value equal to the one shown, but not one that undoes a change still waiting", () => {
    const { applied, t } = setup();
    t.push(1);
    t.push(1);
    t.push(2);
    t.push(1);
    vi.advanceTimersByTime(1_000);
    // 2 never showed: the newest, 1, is what is shown already, and is applied again harmlessly
    expect(applied.at(-1)).toBe(1);
    expect(applied).not.toContain(2);
  });

  it("cancel drops a waiting value", () => {
    const { applied, t } = setup();
    t.push(1);
    t.push(2);
    t.cancel();
    vi.advanceTimersByTime(5_000);
    expect(applied).toEqual([1]);
  });
});
