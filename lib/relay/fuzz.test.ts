// A short, fixed-seed run of the relay fuzzer (scripts/fuzz-relay.ts) against a relay process of its
// own with production limits: random and mutated engine.io / socket.io frames from four connections,
// two of them logged in, with legitimate traffic interleaved. The relay must stay healthy, a fresh
// device must still sign up and get its own message, no oracle may object (internal errors, accepted
// invalid payloads, lost legitimate mail, stalls over 2 s) and its memory must stay bounded.
import { describe, expect, it } from "vitest";
import { fuzzOwnRelay, MIXES } from "./test/fuzzFrames";

describe("relay under fuzzed frames", () => {
  it("stays healthy, serves a fresh device and keeps its memory bounded through 3,000 fuzz frames", async () => {
    // bounded by frames, not by time: a loaded machine sends them all, only slower
    const report = await fuzzOwnRelay({ frames: 3000, connections: 4, seconds: 60, seed: "fuzz.test", mix: MIXES.default, maxRssMb: 400 });

    // every oracle, with what it saw, in one readable failure
    expect(report.failures, JSON.stringify(report.findings.filter((f) => f.severity === "fail"), null, 2)).toEqual([]);
    expect(report.health.healthz.ok).toBe(true);
    expect(report.health.roundTrip.ok).toBe(true);
    expect(report.relayExitCode).toBe(0);
    // the run did reach the relay's handlers, logged in and not, and legitimate mail went round
    expect(report.framesSent).toBeGreaterThan(1000);
    expect(report.acks.ok).toBeGreaterThan(50);
    expect(report.acks.bad_request).toBeGreaterThan(50);
    expect(report.legit.stored).toBeGreaterThan(0);
    expect(report.legit.missing).toBe(0);
    // memory: measured, and grown by well under the bound
    expect(report.rss).not.toBeNull();
    const rss = report.rss as NonNullable<typeof report.rss>;
    expect(rss.afterMb - rss.beforeMb).toBeLessThan(150);
    expect(Math.max(rss.hwmMb, rss.peakSampledMb)).toBeLessThan(400);
  }, 150_000);
});
