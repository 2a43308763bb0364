// The page's workers: the engine's starts at once, the attachments' I/O worker only after the engine has
// reported and a pause, so its start-up never competes with the page's and the engine's (nor with the first
// seconds of a queued backlog). Fake Worker and window, fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

type Listener = (event: { data: unknown }) => void;

class FakeWorker {
  static made: FakeWorker[] = [];
  readonly listeners = new Map<string, Listener[]>();
  readonly posted: unknown[] = [];
  constructor(
    readonly url: URL | string,
    readonly options: { name?: string } = {},
  ) {
    FakeWorker.made.push(this);
  }
  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  postMessage(message: unknown): void {
    this.posted.push(message);
  }
  emit(data: unknown): void {
    for (const listener of this.listeners.get("message") ?? []) listener({ data });
  }
}

const names = () => FakeWorker.made.map((w) => w.options.name);

beforeEach(() => {
  vi.useFakeTimers();
  vi.resetModules();
  FakeWorker.made = [];
  vi.stubGlobal("Worker", FakeWorker);
  vi.stubGlobal("window", { addEventListener: () => undefined });
  vi.stubGlobal("navigator", { onLine: true });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("the page's workers", () => {
  it("starts the engine's worker at once and the I/O worker only after the engine's first report and a pause", async () => {
    const { getEngine, IO_WORKER_DELAY_MS } = await import("./client");
    getEngine();
    expect(names()).toEqual(["junction-engine"]);
    // however long the engine takes to report, no I/O worker before it has
    await vi.advanceTimersByTimeAsync(10 * IO_WORKER_DELAY_MS);
    expect(names()).toEqual(["junction-engine"]);

    const [engine] = FakeWorker.made;
    engine.emit({ type: "status", status: { online: false, leader: true } });
    await vi.advanceTimersByTimeAsync(IO_WORKER_DELAY_MS - 1);
    expect(names()).toEqual(["junction-engine"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(names()).toEqual(["junction-engine", "junction-io"]);
    // the two are joined: the engine's worker got its end of the channel
    expect(engine.posted.some((m) => (m as { type?: string }).type === "io")).toBe(true);

    // later reports start nothing more, and the client stays one per tab
    engine.emit({ type: "status", status: { online: true, leader: true } });
    await vi.advanceTimersByTimeAsync(10 * IO_WORKER_DELAY_MS);
    getEngine();
    expect(names()).toEqual(["junction-engine", "junction-io"]);
  });
});
