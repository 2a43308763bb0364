// The blob store contract on both implementations: files (one process) and Postgres (several; the
// local server at TEST_DATABASE_URL, skipped with the reason when absent, required under CI).
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it, vi } from "vitest";
import { dropSchemas, postgresUnavailable, TEST_DATABASE_URL } from "../test/services";
import { blobStoreContract, newBlob, pieces, readAll } from "./blobSuite";
import { FileBlobStore, WRITE_BATCH_BYTES } from "./files";
import { PostgresBlobStore } from "./postgres";

const dirs: string[] = [];
const schemas: string[] = [];
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await dropSchemas(schemas);
});

describe("blob store: files", () => {
  blobStoreContract(async () => {
    const dir = mkdtempSync(join(tmpdir(), "junction-blobs-"));
    dirs.push(dir);
    return new FileBlobStore(dir);
  });

  it("cuts back bytes a crash left past the index before resuming", async () => {
    const dir = mkdtempSync(join(tmpdir(), "junction-blobs-"));
    dirs.push(dir);
    const store = new FileBlobStore(dir);
    const bytes = randomBytes(1000);
    const blob = newBlob(1000);
    await store.create(blob, 10_000);
    await store.append(blob.id, 0, pieces(bytes.subarray(0, 400), 100));
    // a crash after writing more bytes but before indexing them: garbage past 400
    writeFileSync(join(dir, blob.id), Buffer.concat([bytes.subarray(0, 400), randomBytes(300)]));
    await store.close();
    const reopened = new FileBlobStore(dir);
    expect((await reopened.get(blob.id))?.received).toBe(400);
    expect(await reopened.append(blob.id, 400, pieces(bytes.subarray(400), 150))).toEqual({ ok: true, received: 1000 });
    expect(statSync(join(dir, blob.id)).size).toBe(1000);
    expect(Buffer.compare(await readAll(reopened, blob.id, 0, 999), bytes)).toBe(0);
    await reopened.close();
  });

  it("acknowledges pieces without syncing each: the index moves only every few MiB, at the end and at shutdown, never ahead of the disk", async () => {
    const dir = mkdtempSync(join(tmpdir(), "junction-blobs-"));
    dirs.push(dir);
    const store = new FileBlobStore(dir, { syncEveryBytes: 1000 });
    const bytes = randomBytes(3000);
    const blob = newBlob(3000);
    await store.create(blob, 10_000);
    /** What the index says, as a process starting after a crash of this one reads it. */
    const afterCrash = async () => {
      const other = new FileBlobStore(dir);
      try {
        return (await other.get(blob.id))?.received;
      } finally {
        await other.close();
      }
    };
    // a piece is taken (and the next continues from it) with no sync and no index update
    expect(await store.append(blob.id, 0, pieces(bytes.subarray(0, 400), 100))).toEqual({ ok: true, received: 400 });
    expect((await store.get(blob.id))?.received).toBe(400);
    expect(await afterCrash()).toBe(0);
    expect(await store.append(blob.id, 0, pieces(bytes, 100))).toEqual({ ok: false, reason: "offset_mismatch", received: 400 });
    // 1000 bytes since the last sync (in the middle of this piece): synced and indexed there
    expect(await store.append(blob.id, 400, pieces(bytes.subarray(400, 1300), 100))).toEqual({ ok: true, received: 1300 });
    expect(await afterCrash()).toBe(1000);
    expect(await store.append(blob.id, 1300, pieces(bytes.subarray(1300, 1500), 100))).toEqual({ ok: true, received: 1500 });
    expect(await afterCrash()).toBe(1000);
    // a crash now: the next process cuts the file back to 1000 and the upload resumes from there
    const next = new FileBlobStore(dir, { syncEveryBytes: 1000 });
    expect(await next.append(blob.id, 1500, pieces(bytes.subarray(1500), 100))).toEqual({ ok: false, reason: "offset_mismatch", received: 1000 });
    expect(await next.append(blob.id, 1000, pieces(bytes.subarray(1000, 2000), 100))).toEqual({ ok: true, received: 2000 });
    // a clean shutdown keeps every byte written
    await next.close();
    expect(await afterCrash()).toBe(2000);
    const last = new FileBlobStore(dir, { syncEveryBytes: 1000 });
    // the last piece is acknowledged only once synced and indexed: the blob is complete for anyone
    expect(await last.append(blob.id, 2000, pieces(bytes.subarray(2000), 100))).toEqual({ ok: true, received: 3000 });
    const done = new FileBlobStore(dir);
    expect(await done.get(blob.id)).toMatchObject({ received: 3000, tokenHash: null });
    expect(Buffer.compare(await readAll(done, blob.id, 0, 2999), bytes)).toBe(0);
    await done.close();
    await last.close();
    await store.close();
  });

  it("writes a body's network reads a MiB at a time, not one write each, and keeps every byte of a body cut short", async () => {
    const dir = mkdtempSync(join(tmpdir(), "junction-blobs-"));
    dirs.push(dir);
    const handle = await open(join(dir, "probe"), "w");
    const proto = Object.getPrototypeOf(handle) as { write: unknown; writev: unknown };
    await handle.close();
    const write = vi.spyOn(proto as { write: () => unknown }, "write");
    const writev = vi.spyOn(proto as { writev: () => unknown }, "writev");
    const store = new FileBlobStore(dir);
    try {
      const bytes = randomBytes(2 * WRITE_BATCH_BYTES + 1000);
      const blob = newBlob(bytes.length + 5000);
      await store.create(blob, 100 * 1024 * 1024);
      expect(await store.append(blob.id, 0, pieces(bytes, 64 * 1024))).toEqual({ ok: true, received: bytes.length });
      // 33 reads of 64 KiB: three writes (two full batches and the rest)
      expect(write.mock.calls.length + writev.mock.calls.length).toBeLessThanOrEqual(3);
      // a body that breaks off: what arrived before the break is kept, batched or not
      const more = randomBytes(3000);
      async function* broken() {
        yield more.subarray(0, 1000);
        yield more.subarray(1000, 2000);
        throw new Error("the client went away");
      }
      await expect(store.append(blob.id, bytes.length, broken())).rejects.toThrow("went away");
      expect((await store.get(blob.id))?.received).toBe(bytes.length + 2000);
      expect(await store.append(blob.id, bytes.length + 2000, pieces(Buffer.concat([more.subarray(2000), randomBytes(2000)]), 700))).toEqual({ ok: true, received: blob.size });
      const all = await readAll(store, blob.id, 0, blob.size - 1);
      expect(Buffer.compare(all.subarray(0, bytes.length + 3000), Buffer.concat([bytes, more]))).toBe(0);
    } finally {
      write.mockRestore();
      writev.mockRestore();
      await store.close();
    }
  });

  it("removes an expired blob's file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "junction-blobs-"));
    dirs.push(dir);
    const store = new FileBlobStore(dir);
    const blob = newBlob(10, { expiresAt: 100 });
    await store.create(blob, 10_000);
    await store.append(blob.id, 0, pieces(randomBytes(10), 10));
    expect(readdirSync(dir)).toContain(blob.id);
    expect(await store.deleteExpired(200)).toBe(1);
    expect(readdirSync(dir)).not.toContain(blob.id);
    await store.close();
  });
});

const reason = await postgresUnavailable();
const describePg = reason === null ? describe : describe.skip;
describePg(reason === null ? "blob store: postgres" : `blob store: postgres (skipped: no server at ${TEST_DATABASE_URL}: ${reason})`, () => {
  const schema = `blobs_test_${process.pid}_${Date.now().toString(36)}`;
  schemas.push(schema);
  blobStoreContract(() => PostgresBlobStore.open(TEST_DATABASE_URL, { schema }));

  it("lets two nodes share one blob: an upload begun on one is resumed and read on the other, and one sweeps", async () => {
    const a = await PostgresBlobStore.open(TEST_DATABASE_URL, { schema });
    const b = await PostgresBlobStore.open(TEST_DATABASE_URL, { schema });
    try {
      const bytes = randomBytes(900 * 1024);
      const blob = newBlob(bytes.length, { expiresAt: 7_000 });
      expect(await a.create(blob, 100 * 1024 * 1024)).toBe("ok");
      expect(await a.append(blob.id, 0, pieces(bytes.subarray(0, 512 * 1024), 64 * 1024))).toEqual({ ok: true, received: 512 * 1024 });
      expect(await b.append(blob.id, 512 * 1024, pieces(bytes.subarray(512 * 1024), 100_000))).toEqual({ ok: true, received: bytes.length });
      expect(Buffer.compare(await readAll(a, blob.id, 0, bytes.length - 1), bytes)).toBe(0);
      const [x, y] = await Promise.all([a.deleteExpired(8_000), b.deleteExpired(8_000)]);
      // the blob went once, whichever node swept
      expect(x + y).toBeGreaterThanOrEqual(1);
      expect(await b.get(blob.id)).toBeNull();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
