// Downloaded media in the origin-private file system: one file per message, in a directory per database,
// written by the engine's worker through a sync access handle (the worker writes the file itself; through
// Blobs and IndexedDB the browser process copied every byte again: docs/BENCHMARKS.md, sixth session).
// IndexedDB keeps the rows (transfers, media with `file: true`, keys). A file and its rows are not in one
// transaction, so: a piece is written and flushed before the download counts it; files are removed after
// the transaction that removed their rows commits (db.ts hooks); a sweep at start removes what no row names.
// Where a worker cannot open a sync access handle (Node's tests, older browsers) downloads keep their pieces
// in mediaChunks rows as before.
import type { JunctionDB } from "./db";

/** The synchronous file of a dedicated worker (not in TypeScript's DOM library). */
export interface SyncFile {
  read(into: Uint8Array, options: { at: number }): number;
  write(bytes: Uint8Array, options: { at: number }): number;
  getSize(): number;
  flush(): void;
  /** Closing again does nothing (as with a sync access handle). */
  close(): void;
}

/**
 * Where media files live: the origin-private file system in a browser. Node's tests put a directory of
 * real files in its place (setMediaFileSystem), so the same download code runs over both.
 */
export interface MediaFileSystem {
  /** The file `name` of `dir` opened (made when missing) for synchronous use; null where this context cannot. */
  open(dir: string, name: string): Promise<SyncFile | null>;
  /** The file as a File (on disk, not read into memory); null when it is not there. */
  read(dir: string, name: string): Promise<File | null>;
  /** Removes the file; false when it was not there or could not go (open elsewhere). */
  remove(dir: string, name: string): Promise<boolean>;
  /** Removes the directory and everything in it. */
  removeAll(dir: string): Promise<void>;
  list(dir: string): Promise<string[]>;
}

interface SyncFileHandle extends FileSystemFileHandle {
  createSyncAccessHandle?(): Promise<SyncFile>;
}

function isNotFound(err: unknown): boolean {
  return err instanceof DOMException && err.name === "NotFoundError";
}

/** The origin-private file system, where this context has one (a worker can open sync handles; the page only read). */
export const originPrivateFiles: MediaFileSystem = {
  async open(dir, name) {
    const d = await directory(dir, true);
    if (!d) return null;
    const handle = (await d.getFileHandle(name, { create: true })) as SyncFileHandle;
    if (typeof handle.createSyncAccessHandle !== "function") return null;
    return handle.createSyncAccessHandle();
  },
  async read(dir, name) {
    const d = await directory(dir, false);
    if (!d) return null;
    try {
      return await (await d.getFileHandle(name)).getFile();
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  },
  async remove(dir, name) {
    const d = await directory(dir, false);
    if (!d) return false;
    try {
      await d.removeEntry(name);
      return true;
    } catch {
      // not there (never downloaded here, or already gone), or open
      return false;
    }
  },
  async removeAll(dir) {
    const r = await root();
    await r?.removeEntry(dir, { recursive: true }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  },
  async list(dir) {
    const d = await directory(dir, false);
    const names: string[] = [];
    if (d) for await (const name of (d as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    return names;
  },
};

/** The origin-private file system's root, where there is one. */
async function root(): Promise<FileSystemDirectoryHandle | null> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (typeof storage?.getDirectory !== "function") return null;
  try {
    return await storage.getDirectory();
  } catch {
    // refused (a profile that keeps nothing, a storage error): no files
    return null;
  }
}

async function directory(name: string, create: boolean): Promise<FileSystemDirectoryHandle | null> {
  const r = await root();
  if (!r) return null;
  try {
    return await r.getDirectoryHandle(name, { create });
  } catch {
    return null;
  }
}

let files: MediaFileSystem = originPrivateFiles;

/** Puts another file system in place of the origin-private one (Node's tests); returns the one it replaced. */
export function setMediaFileSystem(next: MediaFileSystem): MediaFileSystem {
  const before = files;
  files = next;
  return before;
}

/** The directory of this database's media (one per database: tests and other profiles use other names). */
function directoryName(db: JunctionDB): string {
  return `media-${db.name}`;
}

/** Message ids are base64url (lib/store/ids.ts); anything else never names a file. */
function fileName(messageId: string): string | null {
  return /^[A-Za-z0-9_-]{1,64}$/.test(messageId) ? messageId : null;
}

/**
 * Opens (creating it) the file a download of `messageId` writes, for synchronous reads and writes;
 * null where this context cannot (not a dedicated worker, no origin-private file system). Only one
 * handle to a file can be open at a time: the caller closes it.
 */
export async function openMediaFile(db: JunctionDB, messageId: string): Promise<SyncFile | null> {
  const name = fileName(messageId);
  return name ? files.open(directoryName(db), name) : null;
}

/** A stored media file as a File (on disk, not read into memory); null when it is not there. */
export async function mediaFile(db: JunctionDB, messageId: string): Promise<File | null> {
  const name = fileName(messageId);
  return name ? files.read(directoryName(db), name) : null;
}

/**
 * Removes these messages' files; returns how many went. One still open (a download under way in this or
 * another tab) stays: its download finds its rows gone and removes it, or the next start's sweep does.
 */
export async function removeMediaFiles(db: JunctionDB, ids: Iterable<string>): Promise<number> {
  let removed = 0;
  for (const id of ids) {
    const name = fileName(id);
    if (name && (await files.remove(directoryName(db), name))) removed++;
  }
  return removed;
}

/** Removes every media file of this database (log out). */
export async function removeAllMediaFiles(db: JunctionDB): Promise<void> {
  await files.removeAll(directoryName(db));
}

/** The ids whose files are stored. */
export async function mediaFileIds(db: JunctionDB): Promise<string[]> {
  return files.list(directoryName(db));
}

/**
 * Removes the files no row names: neither a media row kept in a file nor an incoming transfer (a
 * download under way, waiting, or stopped halfway keeps its file to resume from). What a crash or a
 * removal that could not run left behind. Returns how many went.
 */
export async function sweepMediaFiles(db: JunctionDB): Promise<number> {
  const ids = await mediaFileIds(db);
  if (ids.length === 0) return 0;
  const [media, transfers] = await db.transaction("r", [db.media, db.transfers], () => Promise.all([db.media.bulkGet(ids), db.transfers.bulkGet(ids)]));
  const orphans = ids.filter((_, i) => !media[i]?.file && transfers[i]?.direction !== "in");
  return removeMediaFiles(db, orphans);
}
