// Moving an attachment's ciphertext to and from the relay's blob store (runtime: the worker; Node in
// tests). The plaintext is padded to a size bucket, encrypted as a stream (lib/crypto/attachments:
// 64 KiB chunks, key commitment, digest) and uploaded in pieces of UPLOAD_PIECE_BYTES, each a PATCH at
// the offset the relay holds; a failed piece is resumed from the offset the relay reports. Encryption
// is deterministic for a key, so an upload interrupted by a reload starts over from the plaintext with
// the same key and skips what the relay already has. Downloads resume with range requests, and
// nothing is handed back before the whole ciphertext authenticated and its digest matched.
import { AttachmentDecryptor, AttachmentEncryptor } from "../../crypto";
import { inlineCipherIo, type CipherIo, type CipherPiece, type CipherStream, type SealJob } from "./cipherio";

/**
 * Plaintext bytes encrypted at a time (whole chunks): each of the SEAL_BUFFERS buffers an upload reads into
 * and seals in holds this much, sealed.
 */
export const SEAL_PIECE_BYTES = 512 * 1024;
/**
 * Sealed-piece buffers an upload cycles through: one being sealed while the others are hashed and copied
 * into Blobs (off the engine's thread when a worker does it), then handed back.
 */
export const SEAL_BUFFERS = 2;
/**
 * The same where the CipherIo seals pieces too (a worker of its own, CipherStream.sealPush): one being
 * sealed here, one being sealed there, one being read into or on its way back.
 */
export const SHARED_SEAL_BUFFERS = 3;
/**
 * Plaintext bytes per upload request (whole seal pieces): a failure costs at most this much sent again.
 * The request's body is the sealed pieces' Blobs (outside the worker) put together; fewer, larger
 * requests cost less (bench:media: a request's own cost is tens of ms here, whatever its size).
 */
export const UPLOAD_PIECE_BYTES = 8 * SEAL_PIECE_BYTES;
/** Plaintext bytes of the first upload request: one seal piece, so that progress shows (and a break costs little) early. */
export const FIRST_UPLOAD_PIECE_BYTES = SEAL_PIECE_BYTES;
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
 * digest's last leaves: `digest`); and, named …Pieces, counts (`sealedElsewherePieces`: an upload's pieces
 * sealed by its CipherIo's thread). For Diagnostics and the benchmark; counts and times only.
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
  /** Where the ciphertext is hashed and made into request bodies (default: inline). */
  io?: CipherIo;
}

/** Upload pieces on the wire at once: the relay holds one that arrives early until the one before it is stored. */
export const UPLOADS_IN_FLIGHT = 2;
/**
 * Upload requests ready beyond those on the wire (their Blobs made, outside the worker): the worker goes
 * on sealing while the wire is full, and the next request starts the moment one ends.
 */
export const UPLOADS_READY = 1;

/**
 * Reads the padded plaintext of `file` (`padTo` bytes, zeros after the file's own) into the caller's
 * buffers, a piece at a time: the upload reads each piece straight into the buffer it is then sealed in
 * (AttachmentEncryptor.sealInPlace), so no plaintext buffer of its own stays beside the sealed ones. The
 * file's stream reads ahead by itself while the caller encrypts.
 */
export class PlainReader {
  private readonly byob: ReadableStreamBYOBReader | null = null;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** What a (non-byte) stream's last chunk held beyond the piece it filled. */
  private rest: Uint8Array = new Uint8Array(0);
  private ended = false;
  /** Padded plaintext bytes handed out so far. */
  private given = 0;
  /** The file's own bytes not yet read (what comes after them is padding). */
  private fileLeft: number;

  constructor(
    file: Blob,
    private readonly padTo: number,
  ) {
    this.fileLeft = Math.min(file.size, padTo);
    const stream = file.stream();
    try {
      // read straight into the caller's buffer (no chunk allocated and copied per read)
      this.byob = stream.getReader({ mode: "byob" });
    } catch {
      // not a byte stream here: its chunks are copied in
      this.reader = stream.getReader();
    }
  }

  /** Padded plaintext bytes not yet read. */
  get left(): number {
    return this.padTo - this.given;
  }

  /**
   * Fills `buffer` from its start with the next `n` bytes (whole chunks unless they are the last). A byte
   * stream's read hands the buffer over and back: the buffer to use from then on (the same memory) is
   * returned.
   */
  async fill(buffer: Uint8Array, n: number): Promise<Uint8Array> {
    if (n > this.left || n > buffer.length) throw new RangeError("past the plaintext or the buffer");
    let out = buffer;
    // a read detaches the buffer given: its length is taken before
    const length = buffer.length;
    // the file's own bytes of this piece; the rest is padding
    const own = Math.min(n, this.fileLeft);
    let filled = 0;
    while (filled < own) {
      if (this.ended) throw new TransferError("refused", "the file ended before its size");
      if (this.byob) {
        const { done, value } = await this.byob.read(out.subarray(filled, own));
        // the buffer comes back at the end too (an empty view of it)
        if (value) out = new Uint8Array(value.buffer, 0, length);
        if (done || !value) this.ended = true;
        else filled += value.length;
      } else {
        if (this.rest.length === 0) {
          const { done, value } = await this.reader!.read();
          if (done) {
            this.ended = true;
            continue;
          }
          this.rest = value;
        }
        const take = Math.min(own - filled, this.rest.length);
        out.set(this.rest.subarray(0, take), filled);
        this.rest = this.rest.subarray(take);
        filled += take;
      }
    }
    this.fileLeft -= own;
    out.fill(0, own, n);
    this.given += n;
    return out;
  }

  /** Lets the file's stream go (read to its size, or the upload stopped). */
  close(): void {
    void (this.byob ?? this.reader)?.cancel().catch(() => undefined);
  }
}

/**
 * Runs up to `limit` tasks at once, in the order they came, while the caller goes on: the next piece is
 * encrypted (or decrypted) while the ones before are on the wire (or being stored). Up to `ahead` more
 * wait their turn, ready, so that one starts the moment another ends; add() waits only beyond that. The
 * first failure comes out of the next add() or of done(), and no task waiting starts after it.
 */
export class InFlight {
  private readonly running = new Set<Promise<void>>();
  private waiting: (() => Promise<void>)[] = [];
  private failure: { cause: unknown } | null = null;
  /** Settles whenever a task ends. */
  private ended: Promise<void> = Promise.resolve();
  private wake: () => void = () => {};

  constructor(
    private readonly limit: number,
    private readonly ahead = 0,
  ) {
    this.rearm();
  }

  /** Queues `task`; returns once it started or no more than `ahead` wait. */
  async add(task: () => Promise<void>): Promise<void> {
    this.check();
    this.waiting.push(task);
    this.pump();
    while (this.waiting.length > this.ahead && !this.failure) await this.ended;
    this.check();
  }

  async done(): Promise<void> {
    while ((this.running.size > 0 || this.waiting.length > 0) && !this.failure) await this.ended;
    await this.settled();
    this.check();
  }

  /** Drops the tasks waiting and waits for those running to end, however they end. */
  async settled(): Promise<void> {
    this.waiting = [];
    await Promise.all(this.running);
  }

  private rearm(): void {
    this.ended = new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private pump(): void {
    while (this.running.size < this.limit && this.waiting.length > 0 && !this.failure) {
      const task = this.waiting.shift()!;
      const run: Promise<void> = task()
        .catch((cause: unknown) => {
          this.failure ??= { cause };
        })
        .finally(() => {
          this.running.delete(run);
          this.pump();
          const wake = this.wake;
          this.rearm();
          wake();
        });
      this.running.add(run);
    }
  }

  private check(): void {
    if (this.failure) throw this.failure.cause;
  }
}

/**
 * The sealed-piece buffers of one upload: taken to seal into, handed to the CipherIo with the piece, given
 * back when it returns them. Made as needed, at most `count`; take() waits while all are out.
 */
class SealBuffers {
  private readonly free: Uint8Array[] = [];
  private readonly waiting: ((buffer: Uint8Array) => void)[] = [];
  private made = 0;

  constructor(
    private readonly count: number,
    private readonly bytes: number,
  ) {}

  take(): Promise<Uint8Array> {
    const buffer = this.free.pop() ?? (this.made < this.count ? (this.made++, new Uint8Array(this.bytes)) : null);
    return buffer ? Promise.resolve(buffer) : new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A buffer back (or, after a failed piece, a new one in its place: nobody waits for it forever). */
  give(buffer: Uint8Array | null): void {
    const whole = buffer ? new Uint8Array(buffer.buffer, 0, this.bytes) : new Uint8Array(this.bytes);
    const waiter = this.waiting.shift();
    if (waiter) waiter(whole);
    else this.free.push(whole);
  }
}

/**
 * The relay holds less than it acknowledged, or than it said when the upload began: a request it had not
 * settled yet (one a crash or a closed tab cut off) kept less than it first counted, or it restarted
 * between syncs. The upload goes on from where the relay is.
 */
class RelayBehind extends TransferError {
  constructor() {
    super("network", "the relay lost the end of the upload");
  }
}

/**
 * Encrypts and uploads `file`; resolves with what the recipient needs once the relay holds all of it. When
 * the relay turns out to hold less than it said, the upload starts again from the file (the encryption is
 * deterministic for a key) and sends from where the relay is, up to TRANSFER_ATTEMPTS times.
 */
export async function uploadAttachment(params: UploadParams): Promise<AttachmentPointer> {
  const total = ciphertextSize(paddedSize(params.file.size));
  let grant = await params.grant(params.resume ? { resume: params.resume } : { size: total });
  let key = params.key;
  for (let pass = 1; ; pass++) {
    if (grant.size !== total) throw new TransferError("refused", "the relay granted another size");
    // the sealed chunks' leaves are hashed where the request bodies are made (params.io), not beside the AEAD
    const encryptor = new AttachmentEncryptor(key, "given");
    key = encryptor.key;
    try {
      return await uploadFrom(params, grant, encryptor);
    } catch (err) {
      if (!(err instanceof RelayBehind) || pass >= TRANSFER_ATTEMPTS || params.signal?.aborted) throw err;
    }
    grant = await params.grant({ resume: grant.id });
  }
}

/** One pass of an upload: from the offset the relay holds in `grant`, to the end. */
async function uploadFrom(params: UploadParams, grant: UploadGrant, encryptor: AttachmentEncryptor): Promise<AttachmentPointer> {
  const doFetch = params.fetch ?? fetch;
  const plainSize = paddedSize(params.file.size);
  const total = ciphertextSize(plainSize);
  /** The end of the bytes the relay acknowledged, in order. */
  let offset = grant.offset;
  /** Bytes the relay had before this upload began: produced again (to hash them), never sent. */
  const resumeAt = grant.offset;
  const wire = new InFlight(UPLOADS_IN_FLIGHT, UPLOADS_READY);
  // a failed piece stops the others on the wire: the upload resumes from where the relay is
  const stop = new AbortController();
  const signal = params.signal ? AbortSignal.any([params.signal, stop.signal]) : stop.signal;
  let token = grant.token;
  let produced = 0;
  /**
   * Ciphertext produced and not yet sent: a Blob per seal piece (its bytes copied once, by params.io, never
   * sliced; null when the relay holds all of it), put together as one request's body once there are enough.
   */
  let unsent: Promise<Blob | null>[] = [];
  /** The bytes of those Blobs, known before they are made. */
  let unsentBytes = 0;
  let unsentPieces = 0;
  /** Requests made of what this upload produced (those the relay already held skipped). */
  let requests = 0;
  /** The byte offset of the next piece. */
  let pieceStart = offset;
  /** Settles when the piece before the next one has (sent or failed). */
  let previous: Promise<void> = Promise.resolve();

  /** Where the relay is, from a 409 or a HEAD: the next byte of this piece to send, or "wait" / "lost". */
  const resumeFrom = (told: number, start: number, end: number, beforeSettled: boolean): number | "wait" | "lost" => {
    if (told >= start && told <= end) return told;
    if (told >= 0 && told < start) return beforeSettled ? "lost" : "wait";
    return "lost";
  };

  const send = async (body: Blob, start: number, before: Promise<void>): Promise<void> => {
    const end = start + body.size;
    let beforeSettled = false;
    void before.then(() => {
      beforeSettled = true;
    });
    let at = start;
    /**
     * A fresh token for the blob, when the one held expired during a long upload, or was spent: another
     * request of this upload (one a closed tab or a cut connection lost sight of) made the blob whole. The
     * fresh grant says which, and where the relay is: "stored" when it holds this piece.
     */
    const regrant = async (): Promise<"stored" | "go on"> => {
      const fresh = await params.grant({ resume: grant.id });
      token = fresh.token;
      if (fresh.offset >= end) return "stored";
      await where(fresh.offset);
      return "go on";
    };
    const where = async (told: number): Promise<void> => {
      const next = resumeFrom(told, start, end, beforeSettled);
      if (next === "wait") {
        // the piece before is still on its way (or being sent again): this one goes once it is there
        await before;
        at = start;
      } else if (next === "lost") {
        // the relay holds less than it acknowledged (a request it settled late, a restart between syncs):
        // this pass stops, and the next one sends from where the relay is
        throw new RelayBehind();
      } else at = next;
    };
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      if (at === end) break;
      try {
        const res = await doFetch(`${params.baseUrl}/blobs/${grant.id}`, {
          method: "PATCH",
          headers: { Authorization: `Bearer ${token}`, "Upload-Offset": String(at), "Content-Type": "application/offset+octet-stream" },
          // a Blob, not the bytes themselves: Chromium sends an ArrayBuffer body from a worker about
          // ten times slower (bench:media: 375 ms a MiB, against 30 ms as a Blob)
          body: at === start ? body : body.slice(at - start),
          signal,
        });
        const told = Number(res.headers.get("upload-offset"));
        if (res.status === 204 && told === end) break;
        if (res.status === 409 && Number.isSafeInteger(told)) {
          // part of it arrived before a failure, or the piece before it is not there yet
          await where(told);
          continue;
        }
        if (res.status === 401 && attempt < TRANSFER_ATTEMPTS) {
          if ((await regrant()) === "stored") break;
          continue;
        }
        throw new TransferError("refused", `the relay refused the upload (${res.status})`);
      } catch (err) {
        if (err instanceof TransferError || signal.aborted || attempt >= TRANSFER_ATTEMPTS) {
          throw err instanceof TransferError ? err : new TransferError("network", "the upload failed", { cause: err });
        }
        // ask where the relay is before sending again
        const head = await doFetch(`${params.baseUrl}/blobs/${grant.id}`, { method: "HEAD", headers: { Authorization: `Bearer ${token}` } }).catch(() => null);
        const told = Number(head?.headers.get("upload-offset"));
        if (head?.status === 200 && Number.isSafeInteger(told)) await where(told);
        // the token no longer opens it (a relay that refused the body and closed on it, as Node's fetch sees it)
        else if (head?.status === 401 && (await regrant()) === "stored") break;
      }
    }
    // pieces finish in order: the one before is acknowledged too (the relay stores them in order)
    offset = Math.max(offset, end);
    params.onProgress?.({ done: offset, total });
  };

  /** Sends what is unsent once it holds a request's worth of seal pieces (or whatever it holds, when `all`). */
  const sendPieces = async (all: boolean): Promise<void> => {
    const want = (requests === 0 ? FIRST_UPLOAD_PIECE_BYTES : UPLOAD_PIECE_BYTES) / SEAL_PIECE_BYTES;
    if (unsentPieces < want && !all) return;
    requests++;
    const parts = unsent;
    const size = unsentBytes;
    unsent = [];
    unsentBytes = 0;
    unsentPieces = 0;
    if (size === 0) return;
    const start = pieceStart;
    pieceStart += size;
    if (pieceStart > total) throw new TransferError("refused", "the upload ran past its size");
    await wire.add(() => {
      const before = previous;
      // the request goes once its Blobs are made (the pieces before it may still be on the wire)
      const run = Promise.all(parts).then((blobs) => {
        const made = blobs.filter((b): b is Blob => b !== null);
        return send(made.length === 1 ? made[0] : new Blob(made), start, before);
      });
      previous = run.catch(() => undefined);
      // a failed piece stops the one beside it at once (it may be waiting at the relay for this one)
      return run.catch((err: unknown) => {
        stop.abort();
        throw err;
      });
    });
  };

  const t = params.timings;
  // the file's AEAD key goes where the CipherIo runs only if it seals there (a worker of its own)
  const io = params.io ?? inlineCipherIo;
  const stream = io === inlineCipherIo ? io.open(0) : io.open(0, encryptor.sealKey());
  const buffers = new SealBuffers(stream.sealPush ? SHARED_SEAL_BUFFERS : SEAL_BUFFERS, ciphertextSize(Math.min(SEAL_PIECE_BYTES, plainSize)) - HEADER);
  /** Pieces handed to params.io to seal whose buffers have not come back. */
  let sealingElsewhere = 0;
  /** The first failure of params.io: the upload stops at the next piece. */
  let ioFailure = null as { cause: unknown } | null;

  /** Of the next `length` bytes produced, those the relay does not hold yet: from this index on (`length` when none). */
  const unheld = (length: number): number => {
    const skip = Math.max(0, Math.min(length, resumeAt - produced));
    produced += length;
    return skip;
  };

  /**
   * Hands one sealed piece (its buffer) to params.io: hashed, what the relay lacks of it made a Blob, the
   * buffer given back. `sealed` is the piece's sealed length; with `elsewhere`, `cipher` is still plaintext,
   * sealed by params.io (sealPush) as the chunks `elsewhere` names.
   */
  const take = (cipher: Uint8Array, sealed: number, elsewhere?: SealJob): void => {
    const skip = unheld(sealed);
    const blobFrom = skip < sealed ? skip : undefined;
    // handed over: `cipher` may be detached from here on
    const piece: Promise<CipherPiece> = elsewhere && stream.sealPush ? stream.sealPush(cipher, elsewhere, blobFrom) : stream.push(cipher.subarray(0, sealed), blobFrom);
    const leaves = piece.then((p) => p.leaves);
    encryptor.addLeaves(leaves);
    leaves.catch((cause: unknown) => {
      ioFailure ??= { cause };
    });
    const back = () => {
      if (elsewhere) sealingElsewhere--;
    };
    const blob = piece.then(
      (p) => {
        back();
        buffers.give(p.bytes);
        return p.blob;
      },
      (cause: unknown) => {
        back();
        ioFailure ??= { cause };
        buffers.give(null);
        throw cause;
      },
    );
    blob.catch(() => undefined);
    unsent.push(blob);
    unsentBytes += sealed - skip;
    unsentPieces++;
  };

  const plaintext = new PlainReader(params.file, plainSize);
  let digest: Uint8Array;
  try {
    // the ciphertext's first bytes: hashed by the encryptor itself, sent with the first piece
    const prefix = encryptor.prefix();
    const skip = unheld(prefix.length);
    if (skip < prefix.length) {
      unsent.push(Promise.resolve(new Blob([prefix.subarray(skip) as Uint8Array<ArrayBuffer>])));
      unsentBytes += prefix.length - skip;
    }
    while (plaintext.left > 0) {
      const n = Math.min(SEAL_PIECE_BYTES, plaintext.left);
      const last = n === plaintext.left;
      // waits only while every buffer is still with params.io
      const free = await timed(t, "io", () => buffers.take());
      if (ioFailure) throw ioFailure.cause;
      // the plaintext is read into the buffer it is sealed in, where it lies
      const out = await timed(t, "read", () => plaintext.fill(free, n));
      if (stream.sealPush && sealingElsewhere === 0) {
        // the other thread has no piece of its own to seal: this one is sealed there, while this thread
        // reads and seals the next (its order in the stream is kept by the CipherIo)
        const { first, written } = encryptor.claimInPlace(n, last);
        sealingElsewhere++;
        if (t) t.sealedElsewherePieces = (t.sealedElsewherePieces ?? 0) + 1;
        take(out, written, { plainBytes: n, first, last });
      } else timed(t, "encrypt", () => take(out, encryptor.sealInPlace(out, n, last)));
      // waits only while the pieces before are still on the wire
      await timed(t, "wire", () => sendPieces(last));
    }
    encryptor.addLeaves(stream.end());
    digest = (await timed(t, "digest", () => encryptor.finish())).digest;
    await timed(t, "wire", () => wire.done());
  } catch (err) {
    stop.abort();
    await wire.settled();
    throw err;
  } finally {
    stream.close();
    plaintext.close();
  }
  if (produced !== total || offset !== total) throw new TransferError("refused", "the upload ended short");
  return { blobId: grant.id, key: encryptor.key, digest, commitment: encryptor.commitment, size: params.file.size };
}

/** Plaintext bytes per piece a download hands its sink (and the store keeps as one row): whole chunks. */
export const DOWNLOAD_PIECE_BYTES = 16 * CHUNK;
/** Ciphertext bytes a download hands to its CipherIo ahead of their leaves' digests. */
const HASH_AHEAD_BYTES = DOWNLOAD_PIECE_BYTES;
/** Ciphertext bytes a download gathers (its network reads) before it hands them to its CipherIo to hash. */
const HASH_BATCH_BYTES = DOWNLOAD_PIECE_BYTES / 4;
/** Pieces decrypted ahead of the store: they wait (as Blobs, outside the worker) for the batch being written. */
export const STORE_QUEUE_PIECES = 4;

export interface DownloadParams {
  pointer: AttachmentPointer;
  baseUrl: string;
  fetch?: Fetch;
  onProgress?(progress: Progress): void;
  signal?: AbortSignal;
  /** Filled with where the time went. */
  timings?: TransferTimings;
  /** Where the ciphertext's leaves are hashed (default: inline). */
  io?: CipherIo;
}

/** One piece of a download's plaintext: DOWNLOAD_PIECE_BYTES (the last one shorter), numbered from 0. */
export interface PlainPiece<D = Blob> {
  index: number;
  /** The piece as `StreamParams.piece` made it (by default a Blob of its bytes). */
  data: D;
}

export interface StreamParams<D = Blob> extends DownloadParams {
  /**
   * The pieces kept from an interrupted download of this attachment, in order: read one at a time,
   * sealed again to bring the digest up to date (never trusted for more), and the download goes on
   * from the ciphertext byte after them with a range request.
   */
  kept?: { count: number; read(index: number): Promise<Uint8Array> };
  /**
   * Takes pieces of the plaintext as they authenticate, in order, several at once when they came while
   * the last ones were being stored, to be stored (in one transaction), but not shown, until the download
   * ends: the digest is checked only after the last byte, so a sink must be ready to throw away what it
   * took when the download throws.
   */
  sink(pieces: PlainPiece<D>[]): Promise<void>;
  /**
   * Makes what the sink gets of piece `index` the moment its bytes are whole, before the next chunk opens
   * into them (the view is reused once it returns): by default a Blob of them (outside the worker), or
   * something that writes them where they are kept (a file written synchronously). An error it throws is
   * the store's, not the attachment's.
   */
  piece?(index: number, bytes: Uint8Array<ArrayBuffer>): D;
}

/**
 * Hands pieces to a sink in batches: one batch is written while the next pieces decrypt and queue;
 * those go together in the next batch. The first failure comes out of room() or done().
 */
class BatchWriter<D> {
  private queue: PlainPiece<D>[] = [];
  private writing: Promise<void> | null = null;
  private failure: { cause: unknown } | null = null;

  constructor(private readonly write: (pieces: PlainPiece<D>[]) => Promise<void>) {}

  add(piece: PlainPiece<D>): void {
    this.queue.push(piece);
    this.pump();
  }

  /** A piece could not be made: nothing more is written, and room() or done() throws `cause`. */
  fail(cause: unknown): void {
    this.failure ??= { cause };
    this.queue = [];
  }

  /** Waits while STORE_QUEUE_PIECES wait already. */
  async room(): Promise<void> {
    while (this.writing && this.queue.length >= STORE_QUEUE_PIECES) await this.writing;
    this.check();
  }

  async done(): Promise<void> {
    while (this.writing) await this.writing;
    this.check();
  }

  /** Drops what waits and waits for the batch being written, however it ends. */
  async settled(): Promise<void> {
    this.queue = [];
    while (this.writing) await this.writing;
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  private pump(): void {
    if (this.writing || this.queue.length === 0 || this.failure) return;
    const batch = this.queue;
    this.queue = [];
    this.writing = this.write(batch).then(
      () => {
        this.writing = null;
        this.pump();
      },
      (cause: unknown) => {
        this.failure ??= { cause };
        this.writing = null;
      },
    );
  }

  private check(): void {
    if (this.failure) throw this.failure.cause;
  }
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
export async function streamAttachment<D = Blob>(params: StreamParams<D>): Promise<void> {
  const { pointer } = params;
  const doFetch = params.fetch ?? fetch;
  const total = ciphertextSize(paddedSize(pointer.size));
  let decryptor: AttachmentDecryptor;
  try {
    // the sealed chunks' leaves are hashed by params.io, beside the AEAD rather than on its thread
    decryptor = new AttachmentDecryptor({ key: pointer.key, digest: pointer.digest, commitment: pointer.commitment, leaves: "given" });
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
  /** The piece being opened into, reused: each full piece is copied out as a Blob. */
  const piece = new Uint8Array(DOWNLOAD_PIECE_BYTES);
  let pieceBytes = 0;
  const store = new BatchWriter<D>(params.sink);
  const make = params.piece ?? ((_: number, bytes: Uint8Array<ArrayBuffer>) => new Blob([bytes]) as D);
  let stream: CipherStream | null = null;
  const flush = () => {
    // the padding after the file's own bytes is dropped (a piece of padding only is not stored)
    const own = Math.max(0, Math.min(pieceBytes, pointer.size - index * DOWNLOAD_PIECE_BYTES));
    if (own > 0 && !store.failed) {
      try {
        store.add({ index, data: make(index, piece.subarray(0, own)) });
      } catch (err) {
        // thrown here it would read as the decryptor's (a tampered blob): the store's failure comes out of room()
        store.fail(err);
      }
    }
    index++;
    pieceBytes = 0;
  };
  /** Where the next chunk's plaintext is opened: the free end of the piece (chunks never straddle pieces). */
  const into = (length: number): Uint8Array => {
    if (pieceBytes + length > piece.length) flush();
    pieceBytes += length;
    return piece.subarray(pieceBytes - length, pieceBytes);
  };
  try {
    const t = params.timings;
    let received = offsetAfter(keptCount);
    if (keptCount === 0) received = 0;
    params.onProgress?.({ done: received, total });
    // the bytes from `received` on, the prefix passed over (the decryptor hashes it, or replay() did)
    stream = (params.io ?? inlineCipherIo).open(received === 0 ? HEADER : 0);
    const hashing = stream;
    /** Bytes handed to params.io and not yet hashed, oldest first: no more than HASH_AHEAD_BYTES wait. */
    const pending: { done: Promise<unknown>; bytes: number }[] = [];
    let pendingBytes = 0;
    /**
     * The network's reads gathered for params.io's hashing and handed over (by transfer, each read's own
     * buffer: a copy only when a read is a view of a larger one) HASH_BATCH_BYTES at a time, in one
     * message instead of one a read (bench:media: `postMessage` was a tenth of the engine's download time).
     */
    let parts: Uint8Array[] = [];
    let partsBytes = 0;
    const handOver = (): void => {
      if (partsBytes === 0) return;
      const leaves = hashing.pushParts(parts);
      decryptor.addLeaves(leaves);
      pending.push({ done: leaves.catch(() => undefined), bytes: partsBytes });
      pendingBytes += partsBytes;
      parts = [];
      partsBytes = 0;
    };
    const hash = async (chunk: Uint8Array): Promise<void> => {
      // handed over with its buffer (detached once handed over): a copy when the buffer holds more than it
      parts.push(chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice());
      partsBytes += chunk.length;
      if (partsBytes >= HASH_BATCH_BYTES) handOver();
      while (pendingBytes > HASH_AHEAD_BYTES) {
        const oldest = pending.shift()!;
        await oldest.done;
        pendingBytes -= oldest.bytes;
      }
    };
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
            try {
              timed(t, "decrypt", () => decryptor.pushInto(chunk, into));
            } catch (err) {
              throw new TransferError("tampered", "the attachment did not authenticate", { cause: err });
            }
            // gathered for hashing once opened (the decryptor keeps a copy of a chunk's part it could not open yet)
            await timed(t, "io", () => hash(chunk));
            // waits only while earlier pieces queue for the store
            await timed(t, "store", () => store.room());
            params.onProgress?.({ done: received, total });
          }
        } catch (err) {
          // the rest of the response is not wanted
          void body.return?.().catch(() => undefined);
          throw err;
        }
      } catch (err) {
        // a failed store is not the network's: not tried again
        if (err instanceof TransferError || store.failed || params.signal?.aborted || attempt >= TRANSFER_ATTEMPTS) {
          throw err instanceof TransferError || store.failed ? err : new TransferError("network", "the download failed", { cause: err });
        }
      }
    }
    let last: Uint8Array;
    try {
      handOver();
      decryptor.addLeaves(hashing.end());
      last = await timed(t, "digest", () => decryptor.finish());
    } catch (err) {
      throw new TransferError("tampered", "the attachment did not authenticate", { cause: err });
    }
    into(last.length).set(last);
    const plainKept = index * DOWNLOAD_PIECE_BYTES + pieceBytes;
    if (plainKept < pointer.size) throw new TransferError("tampered", "the attachment is shorter than announced");
    flush();
    await timed(t, "store", () => store.done());
  } catch (err) {
    // nothing more is stored once it failed: the caller throws away what was
    await store.settled();
    throw err;
  } finally {
    stream?.close();
  }
}

/** Downloads and decrypts an attachment whole into a Blob (streamAttachment into memory). */
export async function downloadAttachment(params: DownloadParams & { type?: string }): Promise<Blob> {
  const parts: Blob[] = [];
  await streamAttachment({
    ...params,
    sink: async (pieces) => {
      for (const p of pieces) parts[p.index] = p.data;
    },
  });
  return new Blob(parts, params.type ? { type: params.type } : {});
}
