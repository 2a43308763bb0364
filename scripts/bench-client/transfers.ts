// The attachment transfers of the app in a bench's page, watched on the page's own clock (bench:media,
// bench:detached).
import type { Page } from "@playwright/test";
import type { TableChanges } from "./app";

/**
 * Waits in the page (its clock) for the attachment transfer to reach `state`: the outgoing one not among
 * `skip` (an upload), or that of `messageId` (a download). Returns its message id, when its row was first
 * seen moving and when it reached `state`. The transfers store is read when a commit changed it (app.ts,
 * installTableChanges), and every 250 ms besides; with `poll`, every 20 ms instead (the bench's old way: about
 * 50 IndexedDB reads a second on the page's main thread during the timed transfer).
 */
export async function watchTransfer(page: Page, state: "uploaded" | "ready", target: { skip?: string[]; messageId?: string }, poll: boolean): Promise<TransferSeen> {
  return page.evaluate(transferWatcher, { state, skip: target.skip ?? [], messageId: target.messageId ?? null, poll });
}

export interface TransferSeen {
  messageId: string;
  /** When its row was first seen moving, and when it reached the state (the page's clock). */
  seenAt: number;
  doneAt: number;
}

export interface WatchArgs {
  state: "uploaded" | "ready";
  skip: string[];
  messageId: string | null;
  poll: boolean;
}

/** watchTransfer's work in the page (runs there: its own imports only). */
export async function transferWatcher({ state, skip, messageId, poll }: WatchArgs): Promise<TransferSeen> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open("junction");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const changes = (window as unknown as { __benchChanges(table: string): TableChanges }).__benchChanges("transfers");
  try {
    let seenAt = -1;
    const start = performance.now();
    for (;;) {
      if (performance.now() - start > 120_000) throw new Error(`the transfer did not reach "${state}" in 2 minutes`);
      const rows = await new Promise<{ messageId: string; state: string; direction: string }[]>((resolve, reject) => {
        const req = db.transaction("transfers", "readonly").objectStore("transfers").getAll();
        req.onsuccess = () => resolve(req.result as { messageId: string; state: string; direction: string }[]);
        req.onerror = () => reject(req.error);
      });
      const row = rows.find((r) => (messageId ? r.messageId === messageId : r.direction === "out" && !skip.includes(r.messageId)));
      if (row && seenAt < 0 && (state === "uploaded" || row.state === "downloading" || row.state === "queued")) seenAt = performance.now();
      if (row?.state === state) return { messageId: row.messageId, seenAt: seenAt < 0 ? performance.now() : seenAt, doneAt: performance.now() };
      if (row?.state === "failed" || row?.state === "tampered") throw new Error(`the transfer ${row.state}`);
      if (poll) await new Promise((resolve) => setTimeout(resolve, 20));
      else await changes.next(250);
    }
  } finally {
    changes.close();
    db.close();
  }
}

/** The message ids of the transfers out of this page's device so far. */
export async function outgoing(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open("junction");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      return await new Promise<string[]>((resolve, reject) => {
        const req = db.transaction("transfers", "readonly").objectStore("transfers").getAll();
        req.onsuccess = () => resolve((req.result as { messageId: string; direction: string }[]).filter((r) => r.direction === "out").map((r) => r.messageId));
        req.onerror = () => reject(req.error);
      });
    } finally {
      db.close();
    }
  });
}
