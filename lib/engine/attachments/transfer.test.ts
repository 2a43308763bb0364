// Attachments to and from a real relay process: padded, encrypted, uploaded in pieces, resumed after a
// dropped request and after a reload, downloaded with a resume, and refused whole when tampered with.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS } from "../../protocol";
import { call, TestDevice } from "../../relay/test/device";
import { type RelayProcess, startRelay } from "../../relay/test/relayProcess";
import { sealChunksInPlace } from "../../crypto/chunks";
import { type CipherIo, type CipherPiece, inlineCipherIo } from "./cipherio";
import { type AttachmentPointer, ciphertextSize, DOWNLOAD_PIECE_BYTES, downloadAttachment, paddedSize, STORE_QUEUE_PIECES, streamAttachment, TransferError, type TransferTimings, type UploadGrant, uploadAttachment, FIRST_UPLOAD_PIECE_BYTES, InFlight, SEAL_PIECE_BYTES, SHARED_SEAL_BUFFERS, TRANSFER_ATTEMPTS, UPLOAD_PIECE_BYTES, UPLOADS_IN_FLIGHT } from "./transfer";

let relay: RelayProcess;
let device: TestDevice;
let address: string;
beforeAll(async () => {
  relay = await startRelay();
  address = `messenger:attach.${process.pid}`;
  device = await new TestDevice(relay.url).signUp(address);
});
afterAll(async () => {
  device.disconnect();
  expect(await relay.stop()).toBe(0);
});

async function grant(request: { size: number } | { resume: string }): Promise<UploadGrant> {
  const res = await call<UploadGrant>(device.s, EVENTS.blobUpload, { from: address, ...request });
  if (!res.ok) throw new Error(`refused: ${res.error.code}`);
  return res;
}

/** `grant`, remembering the blob it was granted (to resume it as a reload would). */
function recordingGrant(): { grant: typeof grant; blobId(): string } {
  let id = "";
  return {
    grant: async (request) => {
      const g = await grant(request);
      id = g.id;
      return g;
    },
    blobId: () => id,
  };
}

/** Waits until the relay says the same offset for blob `id` three times in a row, 100 ms apart. */
async function relaySettled(id: string): Promise<void> {
  let last = -1;
  for (let same = 0; same < 3; ) {
    await new Promise((r) => setTimeout(r, 100));
    const { offset } = await grant({ resume: id });
    same = offset === last ? same + 1 : 0;
    last = offset;
  }
}

async function bytesOf(blob: Blob): Promise<Buffer> {
  return Buffer.from(await blob.arrayBuffer());
}

describe("paddedSize", () => {
  it("pads to buckets at most 5 % above the size, never below it, and never below 541 bytes", () => {
    let last = 0;
    for (const size of [0, 1, 540, 541, 542, 1000, 65_536, 1_000_000, 3_333_333, 100 * 1024 * 1024]) {
      const p = paddedSize(size);
      expect(p).toBeGreaterThanOrEqual(size);
      expect(p).toBeGreaterThanOrEqual(541);
      if (size > 541) expect(p).toBeLessThanOrEqual(Math.ceil(size * 1.05));
      expect(p).toBeGreaterThanOrEqual(last);
      last = p;
    }
    // two files of nearby sizes look the same on the relay
    expect(paddedSize(1_000_000)).toBe(paddedSize(1_000_500));
  });
});

describe("InFlight", () => {
  it("runs `limit` tasks in order, keeps `ahead` more ready (add returns), starts one the moment another ends, and none after a failure", async () => {
    const wire = new InFlight(2, 1);
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const fail: ((e: Error) => void)[] = [];
    const task = (i: number) => () =>
      new Promise<void>((resolve, reject) => {
        started.push(i);
        finish[i] = resolve;
        fail[i] = reject;
      });
    await wire.add(task(0));
    await wire.add(task(1));
    // the third waits, ready, and add() returns: the caller goes on (seals the next piece)
    await wire.add(task(2));
    expect(started).toEqual([0, 1]);
    let fourthAdded = false;
    const fourth = wire.add(task(3)).then(() => (fourthAdded = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(fourthAdded).toBe(false);
    finish[0]();
    await fourth;
    expect(started).toEqual([0, 1, 2]);
    // a failure: what waits never starts, and it comes out of done()
    fail[1](new Error("broken"));
    const done = wire.done();
    // done() waits for what runs to end, however it ends
    finish[2]();
    await expect(done).rejects.toThrow("broken");
    expect(started).toEqual([0, 1, 2]);
  });
});

describe("attachment transfer", () => {
  it("round-trips a file of a few pieces through the relay, which holds only the padded ciphertext", async () => {
    const file = randomBytes(2 * UPLOAD_PIECE_BYTES + 17);
    const progress: number[] = [];
    const upTimes: TransferTimings = {};
    const pointer = await uploadAttachment({ file: new Blob([file]), grant, baseUrl: relay.url, onProgress: (p) => progress.push(p.done), timings: upTimes });
    const stored = readFileSync(join(relay.dataDir, "blobs", pointer.blobId));
    expect(stored.length).toBe(ciphertextSize(paddedSize(file.length)));
    // the relay's bytes are not the file's
    expect(stored.includes(file.subarray(0, 64))).toBe(false);
    // a step per request: one seal piece first, then UPLOAD_PIECE_BYTES at a time (the last with the padding)
    expect(progress.length).toBe(3);
    expect(progress.at(-1)).toBe(stored.length);
    const downTimes: TransferTimings = {};
    const back = await downloadAttachment({ pointer, baseUrl: relay.url, timings: downTimes });
    expect(back.size).toBe(file.length);
    expect(Buffer.compare(await bytesOf(back), file)).toBe(0);
    // where the time went, for Diagnostics: every phase measured, encrypting and decrypting 8 MB took time
    expect(Object.keys(upTimes).sort()).toEqual(["digest", "encrypt", "io", "read", "wire"]);
    expect(Object.keys(downTimes).sort()).toEqual(["decrypt", "digest", "io", "network", "store"]);
    expect(upTimes.encrypt).toBeGreaterThan(0);
    expect(downTimes.decrypt).toBeGreaterThan(0);
  });

  it("keeps two pieces on the wire at once (never more), and the relay stores them in order", async () => {
    const file = randomBytes(4 * UPLOAD_PIECE_BYTES);
    let onWire = 0;
    let most = 0;
    const watching = async (input: string, init?: RequestInit): Promise<Response> => {
      if (init?.method !== "PATCH") return fetch(input, init);
      most = Math.max(most, ++onWire);
      try {
        // a slow relay: the wire is the bottleneck (here the hashing and the Blobs run inline, on the upload's
        // own thread, so against a local relay the next request may not be ready before the last one ends)
        await new Promise((resolve) => setTimeout(resolve, 40));
        return await fetch(input, init);
      } finally {
        onWire--;
      }
    };
    const pointer = await uploadAttachment({ file: new Blob([file]), grant, baseUrl: relay.url, fetch: watching });
    expect(most).toBe(UPLOADS_IN_FLIGHT);
    expect(UPLOADS_IN_FLIGHT).toBe(2);
    expect(Buffer.compare(await bytesOf(await downloadAttachment({ pointer, baseUrl: relay.url })), file)).toBe(0);
  });

  it("resumes a piece whose request dropped halfway, from where the relay got to", async () => {
    const file = randomBytes(2 * UPLOAD_PIECE_BYTES + 1000);
    let patches = 0;
    const flaky = async (input: string, init?: RequestInit): Promise<Response> => {
      if (init?.method === "PATCH" && ++patches === 2) {
        // the relay receives half of this piece, then the connection is gone
        const body = init.body as Blob;
        await fetch(input, { ...init, body: body.slice(0, Math.floor(body.size / 2)) });
        throw new TypeError("network connection lost");
      }
      return fetch(input, init);
    };
    const pointer = await uploadAttachment({ file: new Blob([file]), grant, baseUrl: relay.url, fetch: flaky });
    expect(patches).toBeGreaterThan(3);
    expect(Buffer.compare(await bytesOf(await downloadAttachment({ pointer, baseUrl: relay.url })), file)).toBe(0);
  });

  it("goes on from where the relay is when it holds less than it acknowledged (a request settled late, a restart between syncs), encrypting again", async () => {
    const file = randomBytes(2 * UPLOAD_PIECE_BYTES + 1000);
    const key = new Uint8Array(randomBytes(32));
    let patches = 0;
    const grants: ({ size: number } | { resume: string })[] = [];
    const sentFrom: number[] = [];
    const forgetful = async (input: string, init?: RequestInit): Promise<Response> => {
      if (init?.method !== "PATCH") return fetch(input, init);
      // as a relay that restarted after the first piece and had synced only its first 1000 bytes answers
      // (to the second piece, and to the third on the wire beside it), then holds what it holds
      if (++patches === 2 || patches === 3) return new Response(null, { status: 409, headers: { "Upload-Offset": "1000" } });
      sentFrom.push(Number((init.headers as Record<string, string>)["Upload-Offset"]));
      return fetch(input, init);
    };
    const pointer = await uploadAttachment({
      file: new Blob([file]),
      key,
      grant: async (request) => {
        grants.push(request);
        const g = await grant(request);
        // asked again, it says where it says it is: 1000
        return "resume" in request ? { ...g, offset: 1000 } : g;
      },
      baseUrl: relay.url,
      fetch: forgetful,
    });
    // the same call went on: the relay asked where it is, the bytes from 1000 produced again and sent
    expect(grants).toEqual([{ size: ciphertextSize(paddedSize(file.length)) }, { resume: pointer.blobId }]);
    expect(sentFrom).toContain(1000);
    expect(Buffer.compare(await bytesOf(await downloadAttachment({ pointer, baseUrl: relay.url })), file)).toBe(0);
  });

  it("stops at a relay that keeps losing what it acknowledged, with a network error to resume from later", async () => {
    const file = randomBytes(2 * UPLOAD_PIECE_BYTES + 1000);
    let patches = 0;
    let grants = 0;
    const forgetful = async (input: string, init?: RequestInit): Promise<Response> => {
      if (init?.method === "PATCH" && ++patches >= 2) return new Response(null, { status: 409, headers: { "Upload-Offset": "0" } });
      return fetch(input, init);
    };
    const counting = async (request: { size: number } | { resume: string }) => (grants++, grant(request));
    await expect(uploadAttachment({ file: new Blob([file]), grant: counting, baseUrl: relay.url, fetch: forgetful })).rejects.toMatchObject({ name: "TransferError", code: "network" });
    expect(grants).toBe(TRANSFER_ATTEMPTS);
  });

  it("resumes after a reload with the same key, sending only what the relay lacks", async () => {
    const file = randomBytes(3 * UPLOAD_PIECE_BYTES);
    const key = new Uint8Array(randomBytes(32));
    const stop = new AbortController();
    const recording = recordingGrant();
    let sentFirst = 0;
    const firstTry = uploadAttachment({
      file: new Blob([file]),
      key,
      grant: recording.grant,
      baseUrl: relay.url,
      onProgress: (p) => {
        sentFirst = p.done;
        // the tab closes after the first piece
        stop.abort();
      },
      signal: stop.signal,
    });
    await expect(firstTry).rejects.toThrow();
    // the first request: the ciphertext's prefix and the first FIRST_UPLOAD_PIECE_BYTES of plaintext, sealed
    expect(sentFirst).toBe(ciphertextSize(FIRST_UPLOAD_PIECE_BYTES));
    // the relay settles the request cut off beside it (what of it came is kept) before the count below
    // starts: a resume while it is still settling is the next test's case, where a byte may go twice
    await relaySettled(recording.blobId());
    // the relay holds the first piece, and whatever of the second (on the wire beside it) came before the
    // stop: the bytes it takes now start there and are each sent once
    let sentAgain = 0;
    let resumedAt = -1;
    const counting = async (input: string, init?: RequestInit) => {
      const res = await fetch(input, init);
      if (init?.method === "PATCH" && res.status === 204) {
        if (resumedAt < 0) resumedAt = Number((init.headers as Record<string, string>)["Upload-Offset"]);
        sentAgain += (init.body as Blob).size;
      }
      return res;
    };
    const pointer = await uploadAttachment({ file: new Blob([file]), key, grant, resume: recording.blobId(), baseUrl: relay.url, fetch: counting });
    expect(pointer.blobId).toBe(recording.blobId());
    expect(resumedAt).toBeGreaterThanOrEqual(ciphertextSize(FIRST_UPLOAD_PIECE_BYTES));
    expect(sentAgain).toBe(ciphertextSize(paddedSize(file.length)) - resumedAt);
    expect(Buffer.compare(await bytesOf(await downloadAttachment({ pointer, baseUrl: relay.url })), file)).toBe(0);
  });

  it("finishes on the same blob without sending a byte when the relay already holds it whole (its last piece settled unseen)", async () => {
    const file = randomBytes(2 * UPLOAD_PIECE_BYTES + 99);
    const key = new Uint8Array(randomBytes(32));
    const recording = recordingGrant();
    // the first upload goes through whole; the uploader "lost sight of" its end (a closed tab): it resumes
    const whole = await uploadAttachment({ file: new Blob([file]), key, grant: recording.grant, baseUrl: relay.url });
    let sent = 0;
    const counting = async (input: string, init?: RequestInit) => {
      if (init?.method === "PATCH") sent += (init.body as Blob).size;
      return fetch(input, init);
    };
    const again = await uploadAttachment({ file: new Blob([file]), key, grant, resume: recording.blobId(), baseUrl: relay.url, fetch: counting });
    expect(sent).toBe(0);
    expect(again.blobId).toBe(whole.blobId);
    expect(Buffer.from(again.digest)).toEqual(Buffer.from(whole.digest));
    expect(Buffer.compare(await bytesOf(await downloadAttachment({ pointer: again, baseUrl: relay.url })), file)).toBe(0);
    // a file that is not the one the blob holds (another key) does not finish on it: its digest is its own,
    // and the download of what that pointer names fails
    const wrong = await uploadAttachment({ file: new Blob([file]), key: new Uint8Array(randomBytes(32)), grant, resume: recording.blobId(), baseUrl: relay.url, fetch: counting });
    expect(sent).toBe(0);
    await expect(downloadAttachment({ pointer: wrong, baseUrl: relay.url })).rejects.toMatchObject({ code: "tampered" });
  });

  it("finishes a piece whose blob another request of the upload made whole meanwhile (its token spent), on the same blob", async () => {
    const file = randomBytes(2 * UPLOAD_PIECE_BYTES + 99);
    const total = ciphertextSize(paddedSize(file.length));
    let raced = 0;
    // the last request is sent twice: first by "another request of this upload" (one a closed tab or a cut
    // connection lost sight of), which makes the blob whole and spends the token, then by the upload itself
    const racing = async (input: string, init?: RequestInit): Promise<Response> => {
      const body = init?.body as Blob | undefined;
      const at = Number((init?.headers as Record<string, string> | undefined)?.["Upload-Offset"]);
      if (init?.method === "PATCH" && body && at + body.size === total && raced === 0) {
        raced++;
        const other = await fetch(input, { ...init, signal: undefined });
        expect(other.status).toBe(204);
      }
      return fetch(input, init);
    };
    const recording = recordingGrant();
    const pointer = await uploadAttachment({ file: new Blob([file]), grant: recording.grant, baseUrl: relay.url, fetch: racing });
    expect(raced).toBe(1);
    expect(pointer.blobId).toBe(recording.blobId());
    expect(Buffer.compare(await bytesOf(await downloadAttachment({ pointer, baseUrl: relay.url })), file)).toBe(0);
  });

  it("works with a CipherIo that takes the buffers it is given (as a worker does, by transfer) and answers late", async () => {
    const file = randomBytes(3 * UPLOAD_PIECE_BYTES + 5);
    let pushes = 0;
    // the inline code, behind a handover: each push's buffer is detached from the caller (structuredClone
    // with transfer) and its answer comes a few ms later, while the caller goes on
    const handedOver: CipherIo = {
      open(skip) {
        const inner = inlineCipherIo.open(skip);
        return {
          async push(bytes, blobFrom) {
            pushes++;
            const taken = structuredClone(bytes, { transfer: [bytes.buffer] });
            expect(bytes.byteLength).toBe(0);
            // taken in order, as a worker takes its messages; answered later
            const piece = inner.push(taken, blobFrom);
            await new Promise((r) => setTimeout(r, 3));
            return piece;
          },
          async pushParts(parts) {
            pushes++;
            const taken = structuredClone(parts, { transfer: parts.map((p) => p.buffer) });
            expect(parts.every((p) => p.byteLength === 0)).toBe(true);
            const leaves = inner.pushParts(taken);
            await new Promise((r) => setTimeout(r, 3));
            return leaves;
          },
          end: () => inner.end(),
          close: () => inner.close(),
        };
      },
    };
    const pointer = await uploadAttachment({ file: new Blob([file]), grant, baseUrl: relay.url, io: handedOver });
    const upPushes = pushes;
    expect(upPushes).toBe(Math.ceil(paddedSize(file.length) / SEAL_PIECE_BYTES));
    const plain = await downloadAttachment({ pointer, baseUrl: relay.url, io: handedOver });
    expect(pushes).toBeGreaterThan(upPushes);
    expect(Buffer.compare(await bytesOf(plain), file)).toBe(0);
    // and the digest is the one the inline hashing gives
    expect(Buffer.compare(await bytesOf(await downloadAttachment({ pointer, baseUrl: relay.url })), file)).toBe(0);
  });

  it("reads the file straight into the buffers it seals in (no plaintext buffer beside them), and the ciphertext is the same", async () => {
    const file = randomBytes(2 * UPLOAD_PIECE_BYTES + 70_000);
    /** The size of the buffer under each read the upload asks of the file's byte stream. */
    const readInto: number[] = [];
    class ByteFile extends Blob {
      override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
        let at = 0;
        return new ReadableStream({
          type: "bytes",
          pull(controller) {
            const req = controller.byobRequest!;
            const view = req.view as Uint8Array;
            readInto.push(view.buffer.byteLength);
            // a short read now and then, as a file's stream gives
            const n = Math.min(view.byteLength, file.length - at, 100_000);
            if (n === 0) {
              controller.close();
              req.respond(0);
              return;
            }
            view.set(file.subarray(at, at + n));
            at += n;
            req.respond(n);
          },
        }) as ReadableStream<Uint8Array<ArrayBuffer>>;
      }
    }
    const pointer = await uploadAttachment({ file: new ByteFile([file]), grant, baseUrl: relay.url });
    // every read went into a seal buffer (a piece's chunks and their tags), none into a plaintext piece
    const sealBuffer = ciphertextSize(SEAL_PIECE_BYTES) - 37;
    expect(readInto.length).toBeGreaterThan(2);
    expect(new Set(readInto)).toEqual(new Set([sealBuffer]));
    const plain = await downloadAttachment({ pointer, baseUrl: relay.url });
    expect(Buffer.compare(await bytesOf(plain), file)).toBe(0);
  });

  it("seals in at most two buffers of 512 KiB of chunks (the engine's memory during an upload), and still sends 4 MiB a request", async () => {
    const file = randomBytes(2 * 4 * 1024 * 1024 + 70_000);
    /** The size of every buffer the upload hands its CipherIo, and the most it had handed over and not had back at once. */
    const sizes = new Set<number>();
    let out = 0;
    let most = 0;
    const watching: CipherIo = {
      open(skip) {
        const stream = inlineCipherIo.open(skip);
        return {
          ...stream,
          push(bytes, blobFrom) {
            sizes.add(bytes.buffer.byteLength);
            most = Math.max(most, ++out);
            return stream.push(bytes, blobFrom).finally(() => out--);
          },
        };
      },
    };
    const bodies: number[] = [];
    const counting = async (input: string, init?: RequestInit): Promise<Response> => {
      if (init?.method === "PATCH") bodies.push((init.body as Blob).size);
      return fetch(input, init);
    };
    const pointer = await uploadAttachment({ file: new Blob([file]), grant, baseUrl: relay.url, fetch: counting, io: watching });
    // each buffer is 512 KiB of plaintext sealed in place (8 chunks and their tags), and the upload cycles
    // through two (SEAL_BUFFERS): about 1 MiB in all
    expect([...sizes]).toEqual([512 * 1024 + 8 * 16]);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    // the requests after the first (one seal piece, with the prefix) carry 4 MiB of plaintext, sealed
    expect(bodies[0]).toBe(ciphertextSize(512 * 1024));
    expect(bodies[1]).toBe((4 * 1024 * 1024 / (64 * 1024)) * (64 * 1024 + 16));
    const plain = await downloadAttachment({ pointer, baseUrl: relay.url });
    expect(Buffer.compare(await bytesOf(plain), file)).toBe(0);
  });

  it("has a CipherIo that can seal (a worker of its own) seal pieces whenever it has none of its own: three buffers at most, the file intact", async () => {
    const file = randomBytes(3 * UPLOAD_PIECE_BYTES + 70_000);
    let sealedThere = 0;
    let out = 0;
    let most = 0;
    /** Keys the CipherIo was given: one per upload, the file's AEAD key and not the attachment key. */
    const given: Uint8Array[] = [];
    // the inline code behind a handover, as a worker: buffers detached from the caller, answers later,
    // and the pieces handed to sealPush sealed here with the key open() was given
    const sealing: CipherIo = {
      open(skip, key) {
        const inner = inlineCipherIo.open(skip);
        if (key) given.push(key.key.slice());
        const later = async (piece: Promise<CipherPiece>): Promise<CipherPiece> => {
          await new Promise((r) => setTimeout(r, 2));
          return piece;
        };
        const handOver = (bytes: Uint8Array) => {
          most = Math.max(most, ++out);
          const taken = structuredClone(bytes, { transfer: [bytes.buffer] });
          expect(bytes.byteLength).toBe(0);
          return taken;
        };
        return {
          ...inner,
          push(bytes, blobFrom) {
            const taken = handOver(bytes);
            // hashed in the order pushed, whatever the timing: the piece's promise settles later
            const piece = inner.push(taken, blobFrom);
            return later(piece).finally(() => out--);
          },
          sealPush: key
            ? (bytes, job, blobFrom) => {
                const taken = handOver(bytes);
                sealedThere++;
                const written = sealChunksInPlace(key, taken, job.plainBytes, job.first, job.last);
                const piece = inner.push(taken.subarray(0, written), blobFrom);
                return later(piece.then((p) => ({ ...p, bytes: taken }))).finally(() => out--);
              }
            : undefined,
        };
      },
    };
    const timings: TransferTimings = {};
    const pointer = await uploadAttachment({ file: new Blob([file]), grant, baseUrl: relay.url, io: sealing, timings });
    const pieces = Math.ceil(paddedSize(file.length) / SEAL_PIECE_BYTES);
    // some pieces sealed there, the others here, and the counter says how many
    expect(sealedThere).toBeGreaterThan(0);
    expect(sealedThere).toBeLessThan(pieces);
    expect(timings.sealedElsewherePieces).toBe(sealedThere);
    expect(most).toBeLessThanOrEqual(SHARED_SEAL_BUFFERS);
    expect(given).toHaveLength(1);
    expect(Buffer.from(given[0])).not.toEqual(Buffer.from(pointer.key));
    // the ciphertext is whole and in order: it opens, and its digest matches
    expect(Buffer.compare(await bytesOf(await downloadAttachment({ pointer, baseUrl: relay.url })), file)).toBe(0);
    // the inline CipherIo is never given the key
    const inlineOpen = inlineCipherIo.open;
    const keysToInline: unknown[] = [];
    inlineCipherIo.open = (skip, key) => {
      keysToInline.push(key);
      return inlineOpen(skip);
    };
    try {
      await uploadAttachment({ file: new Blob([file.subarray(0, 1000)]), grant, baseUrl: relay.url });
    } finally {
      inlineCipherIo.open = inlineOpen;
    }
    expect(keysToInline).toEqual([undefined]);
  });

  it("refuses a file whose stream ends before its size, instead of sending padding in its place", async () => {
    const file = randomBytes(SEAL_PIECE_BYTES + 5000);
    class ShortFile extends Blob {
      override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
        return new Blob([file.subarray(0, SEAL_PIECE_BYTES + 1000)]).stream();
      }
    }
    await expect(uploadAttachment({ file: new ShortFile([file]), grant, baseUrl: relay.url })).rejects.toMatchObject({ name: "TransferError", code: "refused" });
  });

  it("stores a download's pieces in order, those that decrypted while a batch was written together in the next", async () => {
    const file = randomBytes(8 * DOWNLOAD_PIECE_BYTES + 1000);
    const pointer = await uploadAttachment({ file: new Blob([file]), grant, baseUrl: relay.url });
    const batches: number[][] = [];
    const parts: Blob[] = [];
    await streamAttachment({
      pointer,
      baseUrl: relay.url,
      // a slow store: 100 ms a transaction, whatever it holds
      sink: async (pieces) => {
        batches.push(pieces.map((p) => p.index));
        for (const p of pieces) parts.push(p.data);
        await new Promise((r) => setTimeout(r, 100));
      },
    });
    expect(batches.flat()).toEqual([...Array(9).keys()]);
    expect(batches.length).toBeLessThan(9);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(STORE_QUEUE_PIECES + 1);
    expect(Buffer.compare(await bytesOf(new Blob(parts)), file)).toBe(0);
  });

  it("resumes a download cut off midway with a range request", async () => {
    const file = randomBytes(1024 * 1024);
    const pointer = await uploadAttachment({ file: new Blob([file]), grant, baseUrl: relay.url });
    const ranges: string[] = [];
    let cut = false;
    const cutting = async (input: string, init?: RequestInit): Promise<Response> => {
      const range = (init?.headers as Record<string, string> | undefined)?.Range;
      ranges.push(range ?? "whole");
      const res = await fetch(input, init);
      if (cut) return res;
      cut = true;
      // a body that stops after 300,000 bytes with a network error
      let given = 0;
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          const take = value.subarray(0, Math.max(0, 300_000 - given));
          given += take.length;
          if (take.length) controller.enqueue(take);
          if (given >= 300_000) controller.error(new TypeError("network connection lost"));
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const back = await downloadAttachment({ pointer, baseUrl: relay.url, fetch: cutting });
    expect(ranges).toEqual(["whole", "bytes=300000-"]);
    expect(Buffer.compare(await bytesOf(back), file)).toBe(0);
  });

  it("gives nothing but a tampered error for a blob changed on the relay's disk, or a pointer with the wrong key", async () => {
    const file = randomBytes(200_000);
    const pointer = await uploadAttachment({ file: new Blob([file]), grant, baseUrl: relay.url });
    const path = join(relay.dataDir, "blobs", pointer.blobId);
    const stored = readFileSync(path);
    const flipped = Buffer.from(stored);
    flipped[100_000] = (flipped[100_000] ?? 0) ^ 1;
    writeFileSync(path, flipped);
    await expect(downloadAttachment({ pointer, baseUrl: relay.url })).rejects.toMatchObject({ name: "TransferError", code: "tampered" });
    writeFileSync(path, stored);
    expect(Buffer.compare(await bytesOf(await downloadAttachment({ pointer, baseUrl: relay.url })), file)).toBe(0);

    const otherKey: AttachmentPointer = { ...pointer, key: new Uint8Array(randomBytes(32)) };
    await expect(downloadAttachment({ pointer: otherKey, baseUrl: relay.url })).rejects.toBeInstanceOf(TransferError);
    const otherDigest: AttachmentPointer = { ...pointer, digest: new Uint8Array(32) };
    await expect(downloadAttachment({ pointer: otherDigest, baseUrl: relay.url })).rejects.toMatchObject({ code: "tampered" });
    // a pointer claiming another size asks for another length: refused before decrypting anything
    await expect(downloadAttachment({ pointer: { ...pointer, size: pointer.size * 2 }, baseUrl: relay.url })).rejects.toMatchObject({ code: "tampered" });
  });
});
