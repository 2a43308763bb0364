// The contract every BlobStore keeps, run against each implementation (blobs.test.ts).
import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import type { BlobStore, NewBlob } from "./types";

const DAY = 24 * 60 * 60 * 1000;

export function blobId(): string {
  return randomBytes(32).toString("base64url");
}

export function newBlob(size: number, overrides: Partial<NewBlob> = {}): NewBlob {
  // a fresh owner each time unless the test names one: suites sharing a database must not share quotas
  return { id: blobId(), owner: `owner-${blobId().slice(0, 12)}`, size, tokenHash: "t".repeat(43), tokenExpiresAt: 1_000 + 3600_000, createdAt: 1_000, expiresAt: 1_000 + 30 * DAY, ...overrides };
}

/** Yields `bytes` in pieces of `piece` bytes. */
export async function* pieces(bytes: Uint8Array, piece: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += piece) yield bytes.subarray(at, Math.min(bytes.length, at + piece));
}

/** Yields `bytes` in pieces, then fails as a client that went away would. */
async function* breaksAfter(bytes: Uint8Array, piece: number): AsyncIterable<Uint8Array> {
  yield* pieces(bytes, piece);
  throw new Error("aborted");
}

export async function readAll(store: BlobStore, id: string, start: number, end: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of store.read(id, start, end)) parts.push(part);
  return Buffer.concat(parts);
}

export function blobStoreContract(open: () => Promise<BlobStore>): void {
  it("stores an upload sent in many pieces and reads back every range of it", async () => {
    const store = await open();
    try {
      const bytes = randomBytes(700 * 1024 + 13);
      const blob = newBlob(bytes.length);
      expect(await store.create(blob, 10 * 1024 * 1024)).toBe("ok");
      expect(await store.append(blob.id, 0, pieces(bytes, 10_000))).toEqual({ ok: true, received: bytes.length });
      const meta = await store.get(blob.id);
      expect(meta?.received).toBe(bytes.length);
      // complete: the token is spent
      expect(meta?.tokenHash).toBeNull();
      expect(Buffer.compare(await readAll(store, blob.id, 0, bytes.length - 1), bytes)).toBe(0);
      for (const [start, end] of [[0, 0], [1, 262_144], [262_143, 262_145], [524_288, bytes.length - 1], [bytes.length - 1, bytes.length - 1]] as const) {
        expect(Buffer.compare(await readAll(store, blob.id, start, end), bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(0);
      }
    } finally {
      await store.close();
    }
  });

  it("keeps what arrived before a broken upload and resumes exactly there", async () => {
    const store = await open();
    try {
      const bytes = randomBytes(600 * 1024);
      const blob = newBlob(bytes.length);
      await store.create(blob, 10 * 1024 * 1024);
      const cut = 300 * 1024;
      await expect(store.append(blob.id, 0, breaksAfter(bytes.subarray(0, cut), 50_000))).rejects.toThrow("aborted");
      const after = (await store.get(blob.id))?.received ?? -1;
      // nothing beyond what was sent, and (the store's own piece size aside) what was sent is kept
      expect(after).toBeGreaterThan(0);
      expect(after).toBeLessThanOrEqual(cut);
      // a resume from the wrong place is told where to start
      expect(await store.append(blob.id, 0, pieces(bytes, 50_000))).toEqual({ ok: false, reason: "offset_mismatch", received: after });
      expect(await store.append(blob.id, after, pieces(bytes.subarray(after), 77_777))).toEqual({ ok: true, received: bytes.length });
      expect(Buffer.compare(await readAll(store, blob.id, 0, bytes.length - 1), bytes)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("keeps nothing past the announced size", async () => {
    const store = await open();
    try {
      const bytes = randomBytes(1000);
      const blob = newBlob(600);
      await store.create(blob, 10 * 1024 * 1024);
      const outcome = await store.append(blob.id, 0, pieces(bytes, 128));
      expect(outcome).toEqual({ ok: false, reason: "too_large", received: 600 });
      expect(Buffer.compare(await readAll(store, blob.id, 0, 599), bytes.subarray(0, 600))).toBe(0);
      await expect(readAll(store, blob.id, 0, 600)).rejects.toThrow();
    } finally {
      await store.close();
    }
  });

  it("serves no range of an incomplete blob, and nothing of an unknown one", async () => {
    const store = await open();
    try {
      const blob = newBlob(1000);
      await store.create(blob, 10 * 1024 * 1024);
      await store.append(blob.id, 0, pieces(randomBytes(500), 100));
      await expect(readAll(store, blob.id, 0, 10)).rejects.toThrow();
      await expect(readAll(store, blobId(), 0, 10)).rejects.toThrow();
      expect(await store.append(blobId(), 0, pieces(randomBytes(10), 10))).toEqual({ ok: false, reason: "not_found" });
    } finally {
      await store.close();
    }
  });

  it("refuses a blob that would take its owner past the quota, counting uploads under way", async () => {
    const store = await open();
    try {
      const owner = `owner-${blobId().slice(0, 8)}`;
      expect(await store.create(newBlob(600, { owner }), 1000)).toBe("ok");
      expect(await store.create(newBlob(401, { owner }), 1000)).toBe("quota_exceeded");
      expect(await store.create(newBlob(400, { owner }), 1000)).toBe("ok");
      expect(await store.usage(owner)).toBe(1000);
      // another owner has its own
      expect(await store.create(newBlob(1000, { owner: `${owner}-b` }), 1000)).toBe("ok");
    } finally {
      await store.close();
    }
  });

  it("renews the token of an incomplete blob only", async () => {
    const store = await open();
    try {
      const blob = newBlob(10);
      await store.create(blob, 1000);
      expect(await store.renewToken(blob.id, "n".repeat(43), 9_999)).toBe(true);
      expect((await store.get(blob.id))?.tokenHash).toBe("n".repeat(43));
      await store.append(blob.id, 0, pieces(randomBytes(10), 10));
      expect(await store.renewToken(blob.id, "m".repeat(43), 9_999)).toBe(false);
      expect((await store.get(blob.id))?.tokenHash).toBeNull();
    } finally {
      await store.close();
    }
  });

  it("deletes expired blobs, complete or not, and only those", async () => {
    const store = await open();
    try {
      const old = newBlob(100, { expiresAt: 5_000 });
      const stalled = newBlob(100, { expiresAt: 5_000 });
      const fresh = newBlob(100, { expiresAt: 50_000 });
      for (const b of [old, stalled, fresh]) await store.create(b, 10_000_000);
      await store.append(old.id, 0, pieces(randomBytes(100), 100));
      await store.append(stalled.id, 0, pieces(randomBytes(40), 40));
      await store.append(fresh.id, 0, pieces(randomBytes(100), 100));
      expect(await store.deleteExpired(10_000)).toBeGreaterThanOrEqual(2);
      expect(await store.get(old.id)).toBeNull();
      expect(await store.get(stalled.id)).toBeNull();
      await expect(readAll(store, old.id, 0, 99)).rejects.toThrow();
      expect((await store.get(fresh.id))?.received).toBe(100);
    } finally {
      await store.close();
    }
  });

  it("deletes one blob when asked, and only that one", async () => {
    const store = await open();
    try {
      const gone = newBlob(100);
      const kept = newBlob(100, { owner: gone.owner });
      for (const b of [gone, kept]) {
        await store.create(b, 10_000_000);
        await store.append(b.id, 0, pieces(randomBytes(100), 100));
      }
      expect(await store.delete(gone.id)).toBe(true);
      expect(await store.get(gone.id)).toBeNull();
      await expect(readAll(store, gone.id, 0, 99)).rejects.toThrow();
      expect(await store.delete(gone.id)).toBe(false);
      expect((await store.get(kept.id))?.received).toBe(100);
      expect((await readAll(store, kept.id, 0, 99)).length).toBe(100);
      // its bytes no longer count against the owner's quota
      expect(await store.usage(gone.owner)).toBe(100);
    } finally {
      await store.close();
    }
  });

  it("lets only one of two racing appends write the same bytes", async () => {
    const store = await open();
    try {
      const a = randomBytes(300 * 1024);
      const b = randomBytes(300 * 1024);
      const blob = newBlob(a.length);
      await store.create(blob, 10 * 1024 * 1024);
      const outcomes = await Promise.all([store.append(blob.id, 0, pieces(a, 64 * 1024)), store.append(blob.id, 0, pieces(b, 64 * 1024))]);
      const winners = outcomes.filter((o) => o.ok);
      expect(winners.length).toBeLessThanOrEqual(1);
      const meta = await store.get(blob.id);
      if (meta && meta.received === meta.size) {
        const stored = await readAll(store, blob.id, 0, a.length - 1);
        // whole from one of them, never interleaved
        expect(Buffer.compare(stored, a) === 0 || Buffer.compare(stored, b) === 0).toBe(true);
      }
    } finally {
      await store.close();
    }
  });
}
