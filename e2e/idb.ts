// Read-only peeks into a person's IndexedDB, for facts the UI rightly never shows (such as which
// ratchet sessions exist). Only keys are read: never key material.
import type { Page } from "@playwright/test";

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
