import { describe, expect, it } from "vitest";
import { RingLogger, type Logger } from "./log";

describe("RingLogger", () => {
  it("keeps lines in order with their level, time and detail", () => {
    let t = 100;
    const log = new RingLogger(10, undefined, () => t++);
    log.info("engine started");
    log.warn("send failed", { kind: "message", error: "bad_bundle" });
    expect(log.entries()).toEqual([
      { at: 100, level: "info", event: "engine started" },
      { at: 101, level: "warn", event: "send failed", detail: { kind: "message", error: "bad_bundle" } },
    ]);
    expect(log.size).toBe(2);
  });

  it("is bounded: past capacity the oldest lines are dropped", () => {
    const log = new RingLogger(3);
    for (let i = 0; i < 8; i++) log.info(`line ${i}`);
    expect(log.entries().map((e) => e.event)).toEqual(["line 5", "line 6", "line 7"]);
    expect(log.size).toBe(3);
    log.warn("line 8");
    expect(log.entries().map((e) => e.event)).toEqual(["line 6", "line 7", "line 8"]);
  });

  it("keeps 500 lines by default", () => {
    const log = new RingLogger();
    for (let i = 0; i < 600; i++) log.info("tick", { i });
    const entries = log.entries();
    expect(entries).toHaveLength(500);
    expect(entries[0].detail).toEqual({ i: 100 });
    expect(entries[499].detail).toEqual({ i: 599 });
  });

  it("forwards every line to another logger", () => {
    const seen: string[] = [];
    const next: Logger = { warn: (e, d) => seen.push(`warn ${e} ${JSON.stringify(d)}`), info: (e) => seen.push(`info ${e}`) };
    const log = new RingLogger(2, next);
    log.info("a");
    log.warn("b", { n: 1 });
    log.info("c");
    expect(seen).toEqual(["info a", 'warn b {"n":1}', "info c"]);
    expect(log.entries().map((e) => e.event)).toEqual(["b", "c"]);
  });

  it("copies details in and out, so neither the caller nor a reader can rewrite history", () => {
    const log = new RingLogger(4);
    const detail: Record<string, string | number | boolean> = { count: 1 };
    log.warn("undecryptable", detail);
    detail.count = 99;
    const first = log.entries();
    first[0].detail!.count = 42;
    expect(log.entries()[0].detail).toEqual({ count: 1 });
  });

  it("rejects a capacity that is not a positive integer", () => {
    expect(() => new RingLogger(0)).toThrow(RangeError);
    expect(() => new RingLogger(2.5)).toThrow(RangeError);
  });
});
