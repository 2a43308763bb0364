// When receipts wait for a backlog, and that they never wait longer than their bound (the engine's side, with a
// real relay, is in pipeline.test.ts).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RECEIPT_WAIT_MAX_MS, ReceiptHold } from "./receiptHold";

describe("ReceiptHold", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("holds receipts only while a backlog is being received", () => {
    const hold = new ReceiptHold(() => undefined);
    expect(hold.waits(false, 0)).toBe(false);
    expect(hold.waits(true, 0)).toBe(true);
    expect(hold.waits(true, 5)).toBe(true);
    // the backlog is in: they go, and nothing is due any more
    expect(hold.waits(false, 10)).toBe(false);
    expect(hold.due(10 + RECEIPT_WAIT_MAX_MS)).toBe(false);
  });

  it("under a stream that never ends, receipts go after the bound: the drain is woken and finds them due", () => {
    const wake = vi.fn();
    const hold = new ReceiptHold(wake, 1_000);
    expect(hold.waits(true, 100)).toBe(true);
    // later rows of later passes do not push the bound back
    expect(hold.waits(true, 900)).toBe(true);
    expect(hold.due(1_099)).toBe(false);
    vi.advanceTimersByTime(999);
    expect(wake).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(wake).toHaveBeenCalledTimes(1);
    // the pass the wake starts sends them all; the next rows of a stream still going wait again, bounded again
    expect(hold.due(1_100)).toBe(true);
    expect(hold.due(1_101)).toBe(false);
    expect(hold.waits(true, 1_200)).toBe(true);
    expect(hold.due(2_199)).toBe(false);
    expect(hold.due(2_200)).toBe(true);
  });

  it("a hold that ended (the backlog in, the engine stopped) wakes nobody", () => {
    const wake = vi.fn();
    const hold = new ReceiptHold(wake, 1_000);
    hold.waits(true, 0);
    hold.waits(false, 10);
    hold.waits(true, 20);
    hold.clear();
    vi.advanceTimersByTime(5_000);
    expect(wake).not.toHaveBeenCalled();
  });
});
