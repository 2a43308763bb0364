// Moving an attachment's ciphertext to and from the relay's blob store (runtime: the worker; Node in
// tests). The plaintext is padded to a size bucket, encrypted as a stream (lib/crypto/attachments:
// 64 KiB chunks, key commitment, digest) and uploaded in pieces of UPLOAD_PIECE_BYTES, each a PATCH at
// the offset the relay holds; a failed piece is resumed from the offset the relay reports. Encryption
// is deterministic for a key, so an upload interrupted by a reload starts over from the plaintext with
// the same key and skips what the relay already has. Downloads resume with range requests, and
// nothing is handed back before the whole ciphertext authenticated and its digest matched.
import { AttachmentDecryptor, AttachmentEncryptor } from "../../crypto";

/** Ciphertext bytes per upload request: a failure costs at most this much sent again. */
export const UPLOAD_PIECE_BYTES = 1024 * 1024;
/** Attempts per piece (and per download range) before the transfer fails. */
export const TRANSFER_ATTEMPTS = 5;
const CHUNK = 64 * 1024;
const TAG = 16;
const HEADER = 5 + 32;

/**
 * The padded plaintext size for a file of `size` bytes: the smallest of the buckets 541 · 1.05^k at
 * or above it, so the ciphertext length tells the relay the size only to within 5 %.
 */
export function paddedSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError("invalid size");
  return Math.max(541, Math.floor(1.05 ** Math.ceil(Math.log(Math.max(size, 1)) / Math.log(1.05))));
}

/** The ciphertext length of `plainBytes` of (padded) plaintext. */
export function ciphertextSize(plainBytes: number): number {
  const chunks = Math.max(1, Math.ceil(plainBytes / CHUNK));
  return HEADER + plainBytes + chunks * TAG;
}

export class TransferError extends Error {
  constructor(
    readonly code: "refused" | "network" | "tampered" | "too_large",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TransferError";
  }
}

/** What the relay granted for one upload (`blobs:upload`). */
export interface UploadGrant {
  id: string;
  token: string;
  size: number;
  offset: number;
}

/** What the recipient needs to fetch and open the attachment; travels inside the encrypted content. */
export interface AttachmentPointer {
  blobId: string;
  key: Uint8Array;
  digest: Uint8Array;
  commitment: Uint8Array;
  /** The file's own size (the padding is cut off after decryption). */
  size: number;
}

export interface Progress {
  done: number;
  total: number;
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Milliseconds a transfer spent in each phase, added up: the worker computing (`encrypt`, `decrypt`)
 * or waiting (on the file: `read`; on the relay: `wire`, `network`; on the store: `store`; on the
 * digest's last leaves: `digest`). For Diagnostics and the benchmark; counts and times only.
 */
export type TransferTimings = Record<string, number>;

function timed<T>(timings: TransferTimings | undefined, phase: string, work: () => T): T {
  if (!timings) return work();
  const start = performance.now();
  const add = () => {
    timings[phase] = (timings[phase] ?? 0) + (performance.now() - start);
  };
  const out = work();
  if (out instanceof Promise) return out.finally(add) as T;
  add();
  return out;
}

export interface UploadParams {
  /** The file (a Blob or File in the browser). */
  file: Blob;
  /** The attachment key: new for a new upload, the same one to resume after a reload. */
  key?: Uint8Array;
  /** Asks the relay for a grant of `size` ciphertext bytes (or to resume blob `resume`). */
  grant(request: { size: number } | { resume: string }): Promise<UploadGrant>;
  /** The blob being resumed after a reload, if any. */
  resume?: string;
  /** The relay's origin, e.g. `https://relay.example`; empty for the page's own. */
  baseUrl: string;
  fetch?: Fetch;
  onProgress?(progress: Progress): void;
  signal?: AbortSignal;
  /** Filled with where the time went. */
  timings?: TransferTimings;
}

/** Yields the padded plaintext of `file`, `padTo` bytes in all, zeros after the file's own bytes. */
async function* padded(file: Blob, padTo: number): AsyncIterable<Uint8Array> {
  const reader = file.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    yield value;
  }
  let left = padTo - file.size;
  const zeros = new Uint8Array(Math.min(left, CHUNK));
  while (left > 0) {
    const n = Math.min(left, zeros.length);
    yield n === zeros.length ? zeros : zeros.subarray(0, n);
    left -= n;
  }
}

/**
 * Runs tasks one after another while the caller goes on: the next piece is encrypted (or decrypted)
 * while the last one is on the wire (or being stored), and at most one waits. A task's failure comes
 * out of the next add() or of done().
 */
class OneInFlight {
  private last: Promise<void> = Promise.resolve();

  async add(task: () => Promise<void>): Promise<void> {
    await this.last;
    const run = task();
    run.catch(() => undefined);
    this.last = run;
  }

  done(): Promise<void> {
    return this.last;
  }
}

/** Encrypts and uploads `file`; resolves with what the recipient needs once the relay holds all of it. */
export async function uploadAttachment(params: UploadParams): Promise<AttachmentPointer> {
  const doFetch = params.fetch ?? fetch;
  const plainSize = paddedSize(params.file.size);
  const total = ciphertextSize(plainSize);
  const encryptor = new AttachmentEncryptor(params.key);
  const grant = await params.grant(params.resume ? { resume: params.resume } : { size: total });
  if (grant.size !== total) throw new TransferError("refused", "the relay granted another size");
  let offset = grant.offset;
  /** Bytes the relay had before this upload began: produced again (to hash them), never sent. */
  const resumeAt = grant.offset;
  const wire = new OneInFlight();
  let token = grant.token;
  let produced = 0;
  /** The piece being filled (a new one each time: the last one may still be on the wire). */
  let piece = new Uint8Array(Math.min(UPLOAD_PIECE_BYTES, total - offset));
  let pieceBytes = 0;
  /** The byte offset of the piece being collected. */
  let pieceStart = offset;

  const send = async (bytes: Uint8Array, start: number): Promise<void> => {
    let at = start;
    for (let attempt = 1; ; attempt++) {
      params.signal?.throwIfAborted();
      const rest = bytes.subarray(at - start);
      if (rest.length === 0) return;
      try {
        const res = await doFetch(`${params.baseUrl}/blobs/${grant.id}`, {
          method: "PATCH",
          headers: { Authorization: `Bearer ${token}`, "Upload-Offset": String(at), "Content-Type": "application/offset+octet-stream" },
          // a Blob, not the bytes themselves: Chromium sends an ArrayBuffer body from a worker about
          // ten times slower (bench:media: 375 ms a MiB, against 30 ms as a Blob)
          body: new Blob([rest as Uint8Array<ArrayBuffer>]),
          signal: params.signal,
        });
        const told = Number(res.headers.get("upload-offset"));
        if (res.status === 204 && told === start + bytes.length) {
          offset = told;
          params.onProgress?.({ done: offset, total });
          return;
        }
        if (res.status === 409 && Number.isSafeInteger(told) && told >= start && told <= start + bytes.length) {
          // part of it arrived before a failure: go on from where the relay is
          at = told;
          continue;
        }
        if (res.status === 409 && Number.isSafeInteger(told) && told >= 0 && told < start) {
          // the relay restarted and kept less than it had acknowledged (it syncs every few MiB): this
          // upload resumes from there, encrypting again, at the next kick (the relay's restart brings one)
          throw new TransferError("network", "the relay lost the end of the upload");
        }
        if (res.status === 401) {
          // the token expired during a long upload: a fresh one for the same blob
          token = (await params.grant({ resume: grant.id })).token;
          continue;
        }
        throw new TransferError("refused", `the relay refused the upload (${res.status})`);
      } catch (err) {
        if (err instanceof TransferError || params.signal?.aborted || attempt >= TRANSFER_ATTEMPTS) {
          throw err instanceof TransferError ? err : new TransferError("network", "the upload failed", { cause: err });
        }
        // ask where the relay is before sending again
        const head = await doFetch(`${params.baseUrl}/blobs/${grant.id}`, { method: "HEAD", headers: { Authorization: `Bearer ${token}` } }).catch(() => null);
        const told = Number(head?.headers.get("upload-offset"));
        if (head?.status === 200 && Number.isSafeInteger(told) && told >= start && told <= start + bytes.length) at = told;
      }
    }
  };

  const take = async (cipher: Uint8Array): Promise<void> => {
    // bytes before the relay's offset are already there (a resumed upload): only hashed, not sent
    const skip = Math.max(0, Math.min(cipher.length, resumeAt - produced));
    produced += cipher.length;
    let rest = cipher.subarray(skip);
    while (rest.length > 0) {
      if (piece.length === 0) throw new TransferError("refused", "the upload ran past its size");
      const part = rest.subarray(0, piece.length - pieceBytes);
      piece.set(part, pieceBytes);
      pieceBytes += part.length;
      rest = rest.subarray(part.length);
      if (pieceBytes === piece.length) {
        const bytes = piece;
        const start = pieceStart;
        await wire.add(() => send(bytes, start));
        pieceStart += pieceBytes;
        piece = new Uint8Array(Math.min(UPLOAD_PIECE_BYTES, total - pieceStart));
        pieceBytes = 0;
      }
    }
  };

  const t = params.timings;
  const plaintext = padded(params.file, plainSize)[Symbol.asyncIterator]();
  for (;;) {
    const next = await timed(t, "read", () => plaintext.next());
    if (next.done) break;
    const cipher = timed(t, "encrypt", () => encryptor.push(next.value));
    // waits only while the piece before is still on the wire
    await timed(t, "wire", () => take(cipher));
  }
  const { tail, digest } = await timed(t, "digest", () => encryptor.finish());
  await timed(t, "wire", () => take(tail));
  await timed(t, "wire", () => wire.done());
  if (produced !== total || offset !== total) throw new TransferError("refused", "the upload ended short");
  return { blobId: grant.id, key: encryptor.key, digest, commitment: encryptor.commitment, size: params.file.size };
}

/** Plaintext bytes per piece a download hands its sink (and the store keeps as one row): whole chunks. */
export const DOWNLOAD_PIECE_BYTES = 16 * CHUNK;

export interface DownloadParams {
  pointer: AttachmentPointer;
  baseUrl: string;
  fetch?: Fetch;
  onProgress?(progress: Progress): void;
  signal?: AbortSignal;
  /** Filled with where the time went. */
  timings?: TransferTimings;
}

export interface StreamParams extends DownloadParams {
  /**
   * The pieces kept from an interrupted download of this attachment, in order: read one at a time,
   * sealed again to bring the digest up to date (never trusted for more), and the download goes on
   * from the ciphertext byte after them with a range request.
   */
  kept?: { count: number; read(index: number): Promise<Uint8Array> };
  /**
   * Takes piece `index` of the plaintext (DOWNLOAD_PIECE_BYTES each, the last shorter) as it
   * authenticates, to be stored, but not shown, until the download ends: the digest is checked only
   * after the last byte, so a sink must be ready to throw away what it took when the download throws.
   */
  sink(index: number, plain: Uint8Array): Promise<void>;
}

/** The ciphertext offset after `pieces` whole pieces of plaintext. */
function offsetAfter(pieces: number): number {
  return HEADER + pieces * (DOWNLOAD_PIECE_BYTES / CHUNK) * (CHUNK + TAG);
}

/**
 * Downloads and decrypts an attachment as a stream: every chunk authenticates before its plaintext goes
 * to the sink, a piece at a time, so the file is never whole in memory. It resolves only after the last
 * chunk and the digest of the whole ciphertext checked out; a tampered blob gives a `tampered` error
 * (and the sink's pieces must go).
 */
export async function streamAttachment(params: StreamParams): Promise<void> {
  const { pointer } = params;
  const doFetch = params.fetch ?? fetch;
  const total = ciphertextSize(paddedSize(pointer.size));
  let decryptor: AttachmentDecryptor;
  try {
    decryptor = new AttachmentDecryptor({ key: pointer.key, digest: pointer.digest, commitment: pointer.commitment });
  } catch (err) {
    throw new TransferError("tampered", "the attachment's key does not match its commitment", { cause: err });
  }
  // kept pieces are whole and never reach the last chunk (it is opened only at the end)
  const lastPiece = Math.floor((Math.ceil(paddedSize(pointer.size) / CHUNK) - 1) / (DOWNLOAD_PIECE_BYTES / CHUNK));
  const keptCount = Math.max(0, Math.min(params.kept?.count ?? 0, lastPiece, Math.floor(pointer.size / DOWNLOAD_PIECE_BYTES)));
  for (let i = 0; i < keptCount; i++) {
    const plain = await params.kept!.read(i);
    // this device's own store went wrong: the download fails (and starts over when asked again)
    if (plain.length !== DOWNLOAD_PIECE_BYTES) throw new Error("a kept piece has the wrong length");
    decryptor.replay(plain);
  }
  let index = keptCount;
  let plainKept = keptCount * DOWNLOAD_PIECE_BYTES;
  /** The piece being filled (a new one each time: the sink may still be storing the last one). */
  let piece = new Uint8Array(DOWNLOAD_PIECE_BYTES);
  let pieceBytes = 0;
  const store = new OneInFlight();
  const flush = async () => {
    if (pieceBytes === 0) return;
    const bytes = pieceBytes === piece.length ? piece : piece.slice(0, pieceBytes);
    const at = index++;
    piece = new Uint8Array(0);
    pieceBytes = 0;
    await store.add(() => params.sink(at, bytes));
  };
  const keep = async (plain: Uint8Array) => {
    // the padding after the file's own bytes is dropped as it comes
    let rest = plain.subarray(0, Math.max(0, Math.min(plain.length, pointer.size - plainKept)));
    plainKept += rest.length;
    while (rest.length > 0) {
      if (piece.length === 0) piece = new Uint8Array(DOWNLOAD_PIECE_BYTES);
      const part = rest.subarray(0, DOWNLOAD_PIECE_BYTES - pieceBytes);
      piece.set(part, pieceBytes);
      pieceBytes += part.length;
      rest = rest.subarray(part.length);
      if (pieceBytes === DOWNLOAD_PIECE_BYTES) await flush();
    }
  };
  const t = params.timings;
  let received = offsetAfter(keptCount);
  if (keptCount === 0) received = 0;
  params.onProgress?.({ done: received, total });
  for (let attempt = 1; received < total; attempt++) {
    params.signal?.throwIfAborted();
    try {
      const res = await doFetch(`${params.baseUrl}/blobs/${pointer.blobId}`, {
        headers: received > 0 ? { Range: `bytes=${received}-` } : {},
        signal: params.signal,
      });
      if (res.status === 404) throw new TransferError("refused", "the attachment is no longer on the relay");
      if (res.status !== (received > 0 ? 206 : 200) || !res.body) throw new TransferError("refused", `the relay answered ${res.status}`);
      const length = Number(res.headers.get("content-length"));
      if (length !== total - received) throw new TransferError("tampered", "the attachment has the wrong length");
      const body = (res.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await timed(t, "network", () => body.next());
          if (next.done) break;
          const chunk = next.value;
          if (received + chunk.length > total) throw new TransferError("tampered", "the attachment is longer than announced");
          received += chunk.length;
          let plain: Uint8Array;
          try {
            plain = timed(t, "decrypt", () => decryptor.push(chunk));
          } catch (err) {
            throw new TransferError("tampered", "the attachment did not authenticate", { cause: err });
          }
          // waits only while the piece before is still being stored
          await timed(t, "store", () => keep(plain));
          params.onProgress?.({ done: received, total });
        }
      } catch (err) {
        // the rest of the response is not wanted
        void body.return?.().catch(() => undefined);
        throw err;
      }
    } catch (err) {
      if (err instanceof TransferError || params.signal?.aborted || attempt >= TRANSFER_ATTEMPTS) {
        throw err instanceof TransferError ? err : new TransferError("network", "the download failed", { cause: err });
      }
    }
  }
  let last: Uint8Array;
  try {
    last = await timed(t, "digest", () => decryptor.finish());
  } catch (err) {
    throw new TransferError("tampered", "the attachment did not authenticate", { cause: err });
  }
  await keep(last);
  if (plainKept !== pointer.size) throw new TransferError("tampered", "the attachment is shorter than announced");
  await timed(t, "store", async () => {
    await flush();
    await store.done();
  });
}

/** Downloads and decrypts an attachment whole into a Blob (streamAttachment into memory). */
export async function downloadAttachment(params: DownloadParams & { type?: string }): Promise<Blob> {
  const parts: Uint8Array[] = [];
  await streamAttachment({
    ...params,
    sink: async (_index, plain) => {
      parts.push(plain);
    },
  });
  return new Blob(parts as BlobPart[], params.type ? { type: params.type } : {});
}
