// The relay's log: bounded on disk (rotation by size) and free of long values.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger, LOG_FILE, LOG_KEEP } from "./log";

describe("relay log", () => {
  it("rotates by size and keeps at most LOG_KEEP old files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "junction-log-"));
    const maxBytes = 4096;
    const log = createLogger({ dataDir: dir, stdout: false, maxBytes });
    for (let i = 0; i < 1000; i++) log.info("line", { i });
    await log.close();
    const files = readdirSync(dir).sort();
    expect(files).toEqual([LOG_FILE, ...Array.from({ length: LOG_KEEP }, (_, i) => `${LOG_FILE}.${i + 1}`)]);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(maxBytes);
    // The newest line is in the current file, the one before the rotation in the first old one.
    const current = readFileSync(join(dir, LOG_FILE), "utf8").trim().split("\n");
    expect(JSON.parse(current[current.length - 1] ?? "{}")).toMatchObject({ msg: "line", i: 999 });
    const previous = readFileSync(join(dir, `${LOG_FILE}.1`), "utf8").trim().split("\n");
    expect((JSON.parse(previous[previous.length - 1] ?? "{}") as { i: number }).i + 1).toBe((JSON.parse(current[0] ?? "{}") as { i: number }).i);
    expect(existsSync(join(dir, `${LOG_FILE}.${LOG_KEEP + 1}`))).toBe(false);
  });

  it("appends to an existing log and counts its size", async () => {
    const dir = mkdtempSync(join(tmpdir(), "junction-log-"));
    const first = createLogger({ dataDir: dir, stdout: false, maxBytes: 1000 });
    for (let i = 0; i < 8; i++) first.info("before", { i });
    await first.close();
    const second = createLogger({ dataDir: dir, stdout: false, maxBytes: 1000 });
    for (let i = 0; i < 8; i++) second.info("after", { i });
    await second.close();
    expect(statSync(join(dir, LOG_FILE)).size).toBeLessThanOrEqual(1000);
    expect(existsSync(join(dir, `${LOG_FILE}.1`))).toBe(true);
  });

  it("replaces long string fields, the shape of keys and ciphertexts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "junction-log-"));
    const log = createLogger({ dataDir: dir, stdout: false });
    log.info("x", { key: "k".repeat(500) });
    await log.close();
    const text = readFileSync(join(dir, LOG_FILE), "utf8");
    expect(text).toContain("[500 chars]");
    expect(text).not.toContain("k".repeat(101));
  });
});
