// Peeks into a person's IndexedDB, for facts the UI rightly never shows (such as which ratchet
// sessions exist): only keys are read, never key material. A few writers stage states that the UI
// cannot produce on demand (a lost session, a row as an engine would leave it); the page must reload
// to see a raw write, since Dexie's live queries notice only writes made through Dexie.
import { createHash } from "node:crypto";
import type { Page } from "@playwright/test";

/** SHA-256 (hex) of bytes here, to compare with mediaHash's of what a person keeps. */
export const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

export async function storeKeys(page: Page, store: "sessions" | "messages" | "outbox"): Promise<string[]> {
  return page.evaluate(async (name) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open("junction");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      const keys = await new Promise<IDBValidKey[]>((resolve, reject) => {
        const req = db.transaction(name, "readonly").objectStore(name).getAllKeys();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      return keys.map(String).sort();
    } finally {
      db.close();
    }
  }, store);
}

/**
 * Deletes every ratchet session my account `ours` holds with `theirs` (the current ones and, when the
 * store exists, archived ones), as a device that lost them would be. Walks keys only: the session
 * states themselves are never read. Stores are found by their [ourAddress+theirAddress] index, or
 * else by keys of the form `${ours}|${theirs}|${device}`. Returns how many rows went.
 */
export async function deleteSessions(page: Page, ours: string, theirs: string): Promise<number> {
  return page.evaluate(
    async ({ ours, theirs }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open("junction");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      try {
        const names = ["sessions", "archivedSessions"].filter((name) => db.objectStoreNames.contains(name));
        if (names.length === 0) return 0;
        const tx = db.transaction(names, "readwrite");
        let deleted = 0;
        for (const name of names) {
          const store = tx.objectStore(name);
          const byPair = store.indexNames.contains("[ourAddress+theirAddress]");
          const source = byPair ? store.index("[ourAddress+theirAddress]") : store;
          const range = byPair ? IDBKeyRange.only([ours, theirs]) : undefined;
          await new Promise<void>((resolve, reject) => {
            const req = source.openKeyCursor(range);
            req.onsuccess = () => {
              const cursor = req.result;
              if (!cursor) return resolve();
              const key = cursor.primaryKey;
              if (byPair || (typeof key === "string" && key.startsWith(`${ours}|${theirs}|`))) {
                store.delete(key);
                deleted += 1;
              }
              cursor.continue();
            };
            req.onerror = () => reject(req.error);
          });
        }
        await new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
          tx.onabort = () => reject(tx.error);
        });
        return deleted;
      } finally {
        db.close();
      }
    },
    { ours, theirs },
  );
}

/** The kinds of the message rows of one conversation ("text" for rows without one), oldest first. */
export async function messageKinds(page: Page, conversationId: string): Promise<string[]> {
  return page.evaluate(async (conversationId) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open("junction");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      const rows = await new Promise<{ kind?: string; sentAt: number }[]>((resolve, reject) => {
        const req = db.transaction("messages", "readonly").objectStore("messages")
          .index("[conversationId+sentAt]")
          .getAll(IDBKeyRange.bound([conversationId, -Infinity], [conversationId, Infinity]));
        req.onsuccess = () => resolve(req.result as { kind?: string; sentAt: number }[]);
        req.onerror = () => reject(req.error);
      });
      return rows.sort((a, b) => a.sentAt - b.sentAt).map((row) => row.kind ?? "text");
    } finally {
      db.close();
    }
  }, conversationId);
}

/** Writes rows as they are (put: insert or replace) into one of the read-model stores. */
export async function putRows(page: Page, store: "messages" | "conversations" | "meta", rows: Record<string, unknown>[]): Promise<void> {
  await page.evaluate(
    async ({ store, rows }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open("junction");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      try {
        const tx = db.transaction(store, "readwrite");
        for (const row of rows) tx.objectStore(store).put(row);
        await new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
          tx.onabort = () => reject(tx.error);
        });
      } finally {
        db.close();
      }
    },
    { store, rows },
  );
}

/** Changes fields of the identity row `${ours}|${theirs}` (its key bytes are left as they are). */
export async function patchIdentity(page: Page, ours: string, theirs: string, patch: Record<string, unknown>): Promise<void> {
  await patchRow(page, "identities", `${ours}|${theirs}`, patch);
}

/**
 * Changes fields of one conversation row, as the engine would leave it (for a state the UI cannot ask
 * for, such as a disappearing timer of a few seconds). The page must reload to see it.
 */
export async function patchConversation(page: Page, id: string, patch: Record<string, unknown>): Promise<void> {
  await patchRow(page, "conversations", id, patch);
}

/** Changes fields of the row `id` of `store`; fails when there is no such row. */
async function patchRow(page: Page, store: string, id: string, patch: Record<string, unknown>): Promise<void> {
  await page.evaluate(
    async ({ store, id, patch }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open("junction");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      try {
        const tx = db.transaction(store, "readwrite");
        const rows = tx.objectStore(store);
        const req = rows.get(id);
        req.onsuccess = () => {
          if (!req.result) {
            tx.abort();
            return;
          }
          rows.put({ ...req.result, ...patch });
        };
        await new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error ?? new Error(`no row ${id} in ${store}`));
          tx.onabort = () => reject(tx.error ?? new Error(`no row ${id} in ${store}`));
        });
      } finally {
        db.close();
      }
    },
    { store, id, patch },
  );
}

/** Plaintext bytes per piece of a download (lib/engine/attachments/transfer.ts DOWNLOAD_PIECE_BYTES). */
const PIECE_BYTES = 1024 * 1024;

/**
 * A message's decrypted media as the UI would show it (its own Blob, its file in the origin-private file
 * system, or a download's pieces from mediaChunks joined in order), with where it is kept; null when there
 * is none. Pieces or a file without a media row (a download under way or refused) are not media: null.
 */
async function readMedia(page: Page, messageId: string, as: "hash" | "bytes"): Promise<{ kept: "blob" | "file" | "pieces"; hash: string; bytes?: number[] } | null> {
  return page.evaluate(
    async ({ id, as }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open("junction");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const get = <T>(req: IDBRequest) =>
        new Promise<T>((resolve, reject) => {
          req.onsuccess = () => resolve(req.result as T);
          req.onerror = () => reject(req.error);
        });
      let blob: Blob | null = null;
      let kept: "blob" | "file" | "pieces";
      try {
        const tx = db.transaction(["media", "mediaChunks"], "readonly");
        const row = await get<{ blob?: Blob; pieces?: number; file?: true; size: number } | undefined>(tx.objectStore("media").get(id));
        if (!row) return null;
        if (row.blob) {
          blob = row.blob;
          kept = "blob";
        } else if (row.file) {
          kept = "file";
          const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("media-junction");
          blob = await (await dir.getFileHandle(id)).getFile().catch(() => null);
          if (blob?.size !== row.size) return null;
        } else {
          kept = "pieces";
          const pieces = await get<{ data: Blob }[]>(tx.objectStore("mediaChunks").getAll(IDBKeyRange.bound([id, -Infinity], [id, Infinity])));
          if (pieces.length !== row.pieces) return null;
          blob = new Blob(pieces.map((p) => p.data));
        }
      } finally {
        db.close();
      }
      const bytes = await blob.arrayBuffer();
      const digest = await crypto.subtle.digest("SHA-256", bytes);
      const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
      return { kept, hash, ...(as === "bytes" ? { bytes: [...new Uint8Array(bytes)] } : {}) };
    },
    { id: messageId, as },
  );
}

/** SHA-256 (hex) of a message's decrypted media as the UI would show it; null when there is none. */
export async function mediaHash(page: Page, messageId: string): Promise<string | null> {
  return (await readMedia(page, messageId, "hash"))?.hash ?? null;
}

/** A message's decrypted media (small ones: the bytes cross as a list) and where it is kept; null when none. */
export async function mediaBytes(page: Page, messageId: string): Promise<{ kept: "blob" | "file" | "pieces"; bytes: Buffer } | null> {
  const media = await readMedia(page, messageId, "bytes");
  return media ? { kept: media.kept, bytes: Buffer.from(media.bytes!) } : null;
}

/**
 * How many pieces of downloads this person keeps, shown or not: mediaChunks rows, and the pieces in media
 * files (whole or cut off: a file's size over the piece size, rounded up).
 */
export async function mediaPieceCount(page: Page): Promise<number> {
  return page.evaluate(async (pieceBytes) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open("junction");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    let count: number;
    try {
      count = await new Promise<number>((resolve, reject) => {
        const req = db.transaction("mediaChunks", "readonly").objectStore("mediaChunks").count();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    } finally {
      db.close();
    }
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("media-junction").catch(() => null);
    if (!dir) return count;
    for await (const handle of (dir as unknown as { values(): AsyncIterable<FileSystemFileHandle> }).values()) {
      count += Math.ceil((await handle.getFile()).size / pieceBytes);
    }
    return count;
  }, PIECE_BYTES);
}

/** The names of this person's media files (message ids), sorted. */
export async function mediaFileNames(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("media-junction").catch(() => null);
    const names: string[] = [];
    if (dir) for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    return names.sort();
  });
}

/** The relay's blob id of my attachment (read from the worker's table, which the UI never reads). */
export async function blobIdOf(page: Page, messageId: string): Promise<string> {
  return page.evaluate(async (id) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open("junction");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = db.transaction("attachmentKeys", "readonly").objectStore("attachmentKeys").get(id);
        req.onsuccess = () => resolve((req.result as { blobId: string }).blobId);
        req.onerror = () => reject(req.error);
      });
    } finally {
      db.close();
    }
  }, messageId);
}

/** When the message with this text was sent and received, and when it disappears (null: no such message). */
export async function messageExpiry(page: Page, text: string): Promise<{ sentAt: number; receivedAt: number; expiresAt?: number } | null> {
  return page.evaluate(async (text) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open("junction");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      type Row = { text?: string; sentAt: number; receivedAt: number; expiresAt?: number };
      const rows = await new Promise<Row[]>((resolve, reject) => {
        const req = db.transaction("messages", "readonly").objectStore("messages").getAll();
        req.onsuccess = () => resolve(req.result as Row[]);
        req.onerror = () => reject(req.error);
      });
      const row = rows.find((r) => r.text === text);
      return row ? { sentAt: row.sentAt, receivedAt: row.receivedAt, ...(row.expiresAt !== undefined ? { expiresAt: row.expiresAt } : {}) } : null;
    } finally {
      db.close();
    }
  }, text);
}
