// The I/O worker's protocol over a real MessageChannel (Node's: buffers really move by transfer): the
// same leaves and Blobs as the inline code, the buffers handed over and given back, and a failed worker
// failing what it had in hand and leaving the rest to the inline code.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { AttachmentEncryptor, AttachmentLeafHasher } from "../crypto";
import { inlineCipherIo } from "../engine/attachments/cipherio";
import { serveCipherIo, workerCipherIo, type Endpoint, type IoPort } from "./io";

const SEALED = 64 * 1024 + 16;
const channels: MessageChannel[] = [];
afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

/** A worker CipherIo joined to a server on the other end of a channel, once the server said it is ready. */
async function joined() {
  const channel = new MessageChannel();
  channels.push(channel);
  serveCipherIo(channel.port1 as unknown as Endpoint);
  const io = workerCipherIo();
  // before the server's "ready" arrives, streams run inline
  io.attach(channel.port2 as unknown as IoPort);
  await new Promise((r) => setTimeout(r, 20));
  return io;
}

describe("the I/O worker's CipherIo", () => {
  it("gives the inline code's leaves and Blobs, takes each buffer by transfer and gives it back", async () => {
    const io = await joined();
    const ciphertext = new Uint8Array(randomBytes(37 + 5 * SEALED + 999));
    const remote = io.open(37);
    const local = inlineCipherIo.open(37);
    const leaves: Uint8Array[][] = [[], []];
    for (let o = 0; o < ciphertext.length; o += 100_000) {
      const mine = ciphertext.slice(o, o + 100_000);
      const theirs = mine.slice();
      const sent = remote.push(theirs, 10);
      // handed over: detached here until it comes back
      expect(theirs.byteLength).toBe(0);
      const [r, l] = await Promise.all([sent, local.push(mine, 10)]);
      expect(Buffer.compare(r.bytes, mine)).toBe(0);
      expect(Buffer.compare(Buffer.from(await r.blob!.arrayBuffer()), mine.subarray(10))).toBe(0);
      leaves[0].push(...r.leaves);
      leaves[1].push(...l.leaves);
    }
    leaves[0].push(...(await remote.end()));
    leaves[1].push(...(await local.end()));
    remote.close();
    expect(leaves[0].length).toBe(6);
    expect(leaves[0]).toEqual(leaves[1]);
  });

  it("seals and opens runs of one file's chunks with its key, as the inline code does; a tampered run fails as such", async () => {
    const io = await joined();
    const key = new Uint8Array(randomBytes(32));
    const CHUNK = 64 * 1024;
    const plain = new Uint8Array(randomBytes(3 * CHUNK + 500));
    // the reference: the whole file sealed by an encryptor on this thread
    const whole = new AttachmentEncryptor(key);
    // (a copy of its own: the runs below hand their buffers over)
    const reference = new Uint8Array(Buffer.concat([whole.push(plain), (await whole.finish()).tail]).subarray(37));
    const remote = io.open(0, key);
    const local = inlineCipherIo.open(0, key);
    // chunks 1..3 (the last one short) as one run, their plaintext at their sealed places
    const run = { first: 1, plainBytes: plain.length - CHUNK, last: true };
    const laid = () => {
      const b = new Uint8Array(3 * SEALED);
      for (let i = 0; i < 3; i++) b.set(plain.subarray((i + 1) * CHUNK, (i + 2) * CHUNK), i * SEALED);
      return b;
    };
    const theirs = laid();
    const [r, l] = await Promise.all([remote.sealRun(theirs, run, 5), local.sealRun(laid(), run, 5)]);
    expect(theirs.byteLength).toBe(0);
    const sealedLength = reference.length - SEALED;
    expect(Buffer.compare(r.bytes.subarray(0, sealedLength), reference.subarray(SEALED))).toBe(0);
    expect(Buffer.compare(Buffer.from(await r.blob!.arrayBuffer()), reference.subarray(SEALED + 5))).toBe(0);
    const hasher = new AttachmentLeafHasher();
    const leaves = [...(await hasher.push(reference.subarray(SEALED))), ...(await hasher.end())];
    expect(r.leaves).toEqual(leaves);
    expect(l.leaves).toEqual(leaves);

    // opening chunks 0..1 (not the last) after a start given with them: one Blob, start first
    const open = { first: 0, plainBytes: 2 * CHUNK, last: false };
    const start = new Uint8Array([1, 2, 3]);
    const opened = await remote.openRun(reference.slice(0, 2 * SEALED), open, start);
    expect(start.byteLength).toBe(0);
    expect(Buffer.compare(Buffer.from(await opened.blob.arrayBuffer()), Buffer.concat([Buffer.from([1, 2, 3]), plain.subarray(0, 2 * CHUNK)]))).toBe(0);
    expect(opened.start).toEqual(new Uint8Array([1, 2, 3]));
    // a flipped bit, or the run said to start elsewhere: refused with the CryptoError's code
    const flipped = reference.slice(0, 2 * SEALED);
    flipped[SEALED + 7] ^= 1;
    await expect(local.openRun(flipped.slice(), open)).rejects.toMatchObject({ code: "bad_message" });
    await expect(remote.openRun(flipped, open)).rejects.toMatchObject({ name: "IoWorkerError", code: "bad_message" });
    await expect(remote.openRun(reference.slice(0, 2 * SEALED), { ...open, first: 1 })).rejects.toMatchObject({ code: "bad_message" });
    // another key's stream opens nothing of it
    await expect(io.open(0, new Uint8Array(randomBytes(32))).openRun(reference.slice(0, 2 * SEALED), open)).rejects.toMatchObject({ code: "bad_message" });
    // parts handed over together hash as the same bytes pushed one by one
    const parts = [reference.slice(0, 70_000), reference.slice(70_000, 200_000)];
    const byParts = await remote.pushParts(parts);
    expect(parts[0].byteLength).toBe(0);
    const one = new AttachmentLeafHasher();
    expect(byParts).toEqual(await one.push(reference.subarray(0, 200_000)));
    remote.close();
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
    channel.port1.postMessage({ ready: true });
    await new Promise((r) => setTimeout(r, 20));
    const stream = io.open(0);
    const inHand = stream.push(new Uint8Array(1000));
    io.attach(null);
    await expect(inHand).rejects.toMatchObject({ name: "IoWorkerError" });
    const after = new Uint8Array(1000);
    await io.open(0).push(after);
    expect(after.byteLength).toBe(1000);
  });
});
