// A directory of real files in place of the origin-private file system, for Node's tests: the same
// download, removal and sweep code runs over it (lib/store/mediaFiles.ts). Like a sync access handle, a
// file open for writing cannot be opened again or removed until it is closed.
import { closeSync, constants, existsSync, fstatSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MediaFileSystem, SyncFile } from "./mediaFiles";

export interface NodeMediaFiles extends MediaFileSystem {
  /** The directory the files are under (removed by `dispose`). */
  readonly base: string;
  /** How many files are open now. */
  openCount(): number;
  dispose(): void;
}

export function nodeMediaFiles(): NodeMediaFiles {
  const base = mkdtempSync(join(tmpdir(), "junction-media-"));
  const open = new Set<string>();
  const pathOf = (dir: string, name: string) => join(base, dir, name);
  return {
    base,
    openCount: () => open.size,
    dispose: () => rmSync(base, { recursive: true, force: true }),
    async open(dir, name) {
      mkdirSync(join(base, dir), { recursive: true });
      const path = pathOf(dir, name);
      if (open.has(path)) throw new DOMException("the file is open elsewhere", "NoModificationAllowedError");
      const fd = openSync(path, constants.O_RDWR | constants.O_CREAT);
      open.add(path);
      const file: SyncFile = {
        read: (into, { at }) => readSync(fd, into, 0, into.length, at),
        write: (bytes, { at }) => writeSync(fd, bytes, 0, bytes.length, at),
        getSize: () => fstatSync(fd).size,
        flush: () => fsyncSync(fd),
        close: () => {
          if (!open.delete(path)) return;
          closeSync(fd);
        },
      };
      return file;
    },
    async read(dir, name) {
      const path = pathOf(dir, name);
      return existsSync(path) ? new File([readFileSync(path)], name) : null;
    },
    async remove(dir, name) {
      const path = pathOf(dir, name);
      if (open.has(path) || !existsSync(path)) return false;
      rmSync(path);
      return true;
    },
    async removeAll(dir) {
      rmSync(join(base, dir), { recursive: true, force: true });
    },
    async list(dir) {
      return existsSync(join(base, dir)) ? readdirSync(join(base, dir)) : [];
    },
  };
}
