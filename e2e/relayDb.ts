// Plays a malicious relay for specs that need one: edits the e2e relay's SQLite file while the relay
// runs (WAL lets a second connection write beside it). Only public keys are touched.
import Database from "better-sqlite3";
import { join } from "node:path";
import { RELAY_DATA_DIR } from "./env";

const SQLITE_FILE = join(process.cwd(), RELAY_DATA_DIR, "relay.sqlite");

function open(): Database.Database {
  const db = new Database(SQLITE_FILE, { fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  return db;
}

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

interface LastResortKem {
  device_id: string;
  kem_id: number | null;
  kem_public: string | null;
  kem_signature: string | null;
}

interface OneTimeKem {
  address: string;
  device_id: string;
  prekey_id: number;
  public_key: string;
  signature: string;
}

/**
 * Strips every ML-KEM prekey of `address` (the last-resort one on each device and, where the relay
 * has them, the one-time ones), so its bundles carry X25519 prekeys only. Returns a function that
 * puts them back: a last-resort key only where the slot is still empty (the device may have uploaded
 * a new one meanwhile), one-time keys unless the same id came back.
 */
export function stripKemPrekeys(address: string): { devices: number; oneTime: number; restore: () => void } {
  const db = open();
  try {
    const strip = db.transaction(() => {
      const lastResort = db.prepare("SELECT device_id, kem_id, kem_public, kem_signature FROM account_devices WHERE address = ?").all(address) as LastResortKem[];
      db.prepare("UPDATE account_devices SET kem_id = NULL, kem_public = NULL, kem_signature = NULL WHERE address = ?").run(address);
      let oneTime: OneTimeKem[] = [];
      if (hasTable(db, "kem_one_time_prekeys")) {
        oneTime = db.prepare("SELECT address, device_id, prekey_id, public_key, signature FROM kem_one_time_prekeys WHERE address = ?").all(address) as OneTimeKem[];
        db.prepare("DELETE FROM kem_one_time_prekeys WHERE address = ?").run(address);
      }
      return { lastResort, oneTime };
    });
    const saved = strip();
    if (saved.lastResort.length === 0) throw new Error(`the relay has no device for ${address}`);
    return {
      devices: saved.lastResort.length,
      oneTime: saved.oneTime.length,
      restore() {
        const db = open();
        try {
          db.transaction(() => {
            const put = db.prepare(
              "UPDATE account_devices SET kem_id = ?, kem_public = ?, kem_signature = ? WHERE address = ? AND device_id = ? AND kem_id IS NULL",
            );
            for (const row of saved.lastResort) put.run(row.kem_id, row.kem_public, row.kem_signature, address, row.device_id);
            if (saved.oneTime.length > 0) {
              const add = db.prepare(
                "INSERT OR IGNORE INTO kem_one_time_prekeys (address, device_id, prekey_id, public_key, signature) VALUES (@address, @device_id, @prekey_id, @public_key, @signature)",
              );
              for (const row of saved.oneTime) add.run(row);
            }
          })();
        } finally {
          db.close();
        }
      },
    };
  } finally {
    db.close();
  }
}

/** How many devices of `address` the relay would serve an ML-KEM prekey for (last-resort or one-time). */
export function kemPrekeyCount(address: string): number {
  const db = open();
  try {
    const lastResort = (db.prepare("SELECT COUNT(*) AS n FROM account_devices WHERE address = ? AND kem_public IS NOT NULL").get(address) as { n: number }).n;
    const oneTime = hasTable(db, "kem_one_time_prekeys")
      ? (db.prepare("SELECT COUNT(*) AS n FROM kem_one_time_prekeys WHERE address = ?").get(address) as { n: number }).n
      : 0;
    return lastResort + oneTime;
  } finally {
    db.close();
  }
}
