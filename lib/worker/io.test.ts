// The I/O worker's protocol over a real MessageChannel (Node's: buffers really move by transfer): the
// same leaves and Blobs as the inline code, the buffers handed over and given back, and a failed worker
// failing what it had in hand and leaving the rest to the inline code.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AttachmentEncryptor } from "../crypto/attachments";
import { inlineCipherIo } from "../engine/attachments/cipherio";
import { serveCipherIo, workerCipherIo, type Endpoint, type IoPort } from "./io";

const SEALED = 64 * 1024 + 16;
const channels: MessageChannel[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

/**
 * Resolves once `port` has delivered a "ready": to a listener added after the CipherIo's own, so the CipherIo
 * has seen it first (listeners run in the order they were added). No fixed wait: a loaded machine may take
 * longer than any.
 */
function readySeen(port: MessagePort): Promise<void> {
  return new Promise((resolve) => {
    const seen = (event: MessageEvent) => {
      if (event.data && typeof event.data === "object" && "ready" in event.data) {
        port.removeEventListener("message", seen);
        resolve();
      }
    };
    port.addEventListener("message", seen);
  });
}

/** A worker CipherIo joined to a server on the other end of a channel, once the server said it is ready. */
async function joined() {
  const channel = new MessageChannel();
  channels.push(channel);
  const io = workerCipherIo();
  // before the server's "ready" arrives, streams run inline
  io.attach(channel.port2 as unknown as IoPort);
  const ready = readySeen(channel.port2);
  serveCipherIo(channel.port1 as unknown as Endpoint);
  await ready;
  return io;
}

describe("the I/O worker's CipherIo", () => {
  it("gives the inline code's leaves and Blobs, takes each buffer by transfer and gives it back; parts in one message hash as one push", async () => {
    const io = await joined();
    const ciphertext = new Uint8Array(randomBytes(37 + 5 * SEALED + 999));
    const remote = io.open(37);
    const local = inlineCipherIo.open(37);
    const leaves: Uint8Array[][] = [[], []];
    for (let o = 0; o < ciphertext.length; o += 100_000) {
      const mine = ciphertext.slice(o, o + 100_000);
      if ((o / 100_000) % 3 === 2) {
        // two uneven parts (a sealed chunk split across them), handed over in one message, not given back
        const parts = [mine.slice(0, 30_000), mine.slice(30_000)];
        const sent = remote.pushParts(parts);
        expect(parts.every((p) => p.byteLength === 0)).toBe(true);
        leaves[0].push(...(await sent));
        leaves[1].push(...(await (await local.push(mine)).leaves));
        continue;
      }
      const theirs = mine.slice();
      const sent = remote.push(theirs, 10);
      // handed over: detached here until it comes back
      expect(theirs.byteLength).toBe(0);
      const [r, l] = await Promise.all([sent, local.push(mine, 10)]);
      expect(Buffer.compare(r.bytes, mine)).toBe(0);
      expect(Buffer.compare(Buffer.from(await r.blob!.arrayBuffer()), mine.subarray(10))).toBe(0);
      leaves[0].push(...(await r.leaves));
      leaves[1].push(...(await l.leaves));
    }
    leaves[0].push(...(await remote.end()));
    leaves[1].push(...(await local.end()));
    remote.close();
    expect(leaves[0].length).toBe(6);
    expect(leaves[0]).toEqual(leaves[1]);
  });

  it("gives a pushed buffer (and its Blob) back before its leaves' digests end, the leaves after them", async () => {
    const io = await joined();
    // every leaf digest held until released: the worker may not wait for them to give the bytes back
    const held: (() => void)[] = [];
    const digest = crypto.subtle.digest.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, "digest").mockImplementation((algorithm, data) => {
      const result = digest(algorithm, data);
      return new Promise((resolve) => held.push(() => resolve(result)));
    });
    const mine = new Uint8Array(randomBytes(2 * SEALED + 5));
    const theirs = mine.slice();
    const remote = io.open(0);
    const piece = await Promise.race([
      remote.push(theirs, 0),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the bytes waited for the digests")), 2000)),
    ]);
    expect(Buffer.compare(piece.bytes, mine)).toBe(0);
    expect(Buffer.compare(Buffer.from(await piece.blob!.arrayBuffer()), mine)).toBe(0);
    // two whole sealed chunks: two digests started, neither done
    expect(held.length).toBe(2);
    let settled = false;
    void piece.leaves.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    for (const release of held.splice(0)) release();
    vi.restoreAllMocks();
    const local = inlineCipherIo.open(0);
    expect(await piece.leaves).toEqual(await (await local.push(mine)).leaves);
    remote.close();
  });

  it("seals the plaintext it is handed with the stream's key, in the stream's order among pushes; not on a stream opened without one", async () => {
    const io = await joined();
    const key = new Uint8Array(randomBytes(32));
    const plain = new Uint8Array(randomBytes(5 * 64 * 1024 + 700));
    // the reference: an encryptor sealing every piece itself, leaves hashed inline
    const reference = new AttachmentEncryptor(key, "given");
    const prefix = reference.prefix();
    const local = inlineCipherIo.open(prefix.length);
    const e = new AttachmentEncryptor(key, "given");
    e.prefix();
    const remote = io.open(prefix.length, e.sealKey());
    const piece = 2 * 64 * 1024;
    const sealed: Uint8Array[] = [];
    const expected: Uint8Array[] = [];
    const pieces: Promise<{ leaves: Promise<Uint8Array[]> }>[] = [];
    const localLeaves: Uint8Array[] = [];
    for (let o = 0, n = 0; o < plain.length; o += piece, n++) {
      const part = plain.subarray(o, o + piece);
      const last = o + piece >= plain.length;
      const ours = new Uint8Array(piece + 2 * 16);
      ours.set(part);
      const refLength = reference.sealInPlace(ours, part.length, last);
      expected.push(ours.slice(0, refLength));
      localLeaves.push(...(await (await local.push(ours.slice(0, refLength))).leaves));
      const theirs = new Uint8Array(piece + 2 * 16);
      theirs.set(part);
      if (n % 2 === 0) {
        // sealed there: handed over as plaintext, all pieces sent before any answer is awaited
        const { first, written } = e.claimInPlace(part.length, last);
        const p = remote.sealPush!(theirs, { plainBytes: part.length, first, last }, 0);
        expect(theirs.byteLength).toBe(0);
        pieces.push(p.then((r) => (sealed.push(r.bytes.slice(0, written)), r)));
      } else {
        const written = e.sealInPlace(theirs, part.length, last);
        const p = remote.push(theirs.subarray(0, written), 0);
        pieces.push(p.then((r) => (sealed.push(r.bytes.slice(0, written)), r)));
      }
    }
    const leaves = (await Promise.all((await Promise.all(pieces)).map((p) => p.leaves))).flat();
    leaves.push(...(await remote.end()));
    localLeaves.push(...(await local.end()));
    // the pieces came back in order, sealed as the encryptor seals them, and hashed in that order
    expect(Buffer.compare(Buffer.concat(sealed), Buffer.concat(expected))).toBe(0);
    expect(leaves).toEqual(localLeaves);
    remote.close();
    // a stream opened without a key offers no seal (the next test: the worker refuses one)
    const keyless = io.open(0);
    expect(keyless.sealPush).toBeUndefined();
  });

  it("refuses a seal on a stream the worker holds no key for, both replies failing", async () => {
    const channel = new MessageChannel();
    channels.push(channel);
    serveCipherIo(channel.port1 as unknown as Endpoint);
    const replies: unknown[] = [];
    const two = new Promise<void>((resolve) => {
      channel.port2.addEventListener("message", (event) => {
        if ("seq" in (event.data as object)) replies.push(event.data);
        if (replies.length === 2) resolve();
      });
    });
    channel.port2.start();
    channel.port2.postMessage({ op: "open", stream: 1, skip: 0 });
    channel.port2.postMessage({ op: "seal", stream: 1, seq: 7, leavesSeq: 8, bytes: new Uint8Array(64 * 1024 + 16), plainBytes: 64 * 1024, first: 0, last: true });
    await two;
    expect(replies).toEqual(expect.arrayContaining([expect.objectContaining({ seq: 7, ok: false }), expect.objectContaining({ seq: 8, ok: false })]));
  });

  it("runs inline until the worker is ready, and after it failed; what it had in hand fails", async () => {
    const io = workerCipherIo();
    const before = io.open(0);
    const bytes = new Uint8Array(1000);
    await before.push(bytes);
    // inline: nothing was handed over
    expect(bytes.byteLength).toBe(1000);

    const channel = new MessageChannel();
    channels.push(channel);
    // a worker that takes requests and never answers, then fails
    channel.port1.start();
    io.attach(channel.port2 as unknown as IoPort);
    const ready = readySeen(channel.port2);
    channel.port1.postMessage({ ready: true });
    await ready;
    const stream = io.open(0);
    const inHand = stream.push(new Uint8Array(1000));
    io.attach(null);
    await expect(inHand).rejects.toMatchObject({ name: "IoWorkerError" });
    const after = new Uint8Array(1000);
    await io.open(0).push(after);
    expect(after.byteLength).toBe(1000);
  });
});
