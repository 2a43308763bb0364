// A relay (serving the built app) that a spec starts, kills and restarts itself, on the port after the
// suite's (E2E_PORT + 1) with its own data directory: for what the shared relay must not go through
// (SIGKILL in the middle of an upload, a small attachment quota). Its output goes to a log file
// beside its data, for when a spec fails.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { E2E_PORT } from "./env";
import { TEST_RELAY_LIMITS_ENV } from "../lib/relay/test/limits";

export const OWN_RELAY_PORT = E2E_PORT + 1;
export const OWN_RELAY_URL = `http://localhost:${OWN_RELAY_PORT}`;
const DATA_DIR = ".e2e-data/own-relay";

export class OwnRelay {
  private child: ChildProcess | null = null;
  quotaBytes: number | undefined;

  /** Starts it on a fresh data directory. */
  static async fresh(quotaBytes?: number): Promise<OwnRelay> {
    rmSync(DATA_DIR, { recursive: true, force: true });
    const relay = new OwnRelay();
    await relay.start(quotaBytes);
    return relay;
  }

  async start(quotaBytes = this.quotaBytes): Promise<void> {
    if (this.child) throw new Error("the relay is running");
    this.quotaBytes = quotaBytes;
    mkdirSync(".e2e-data", { recursive: true });
    const log = createWriteStream(join(".e2e-data", `own-relay-${OWN_RELAY_PORT}.log`), { flags: "a" });
    const child = spawn(process.execPath, ["--import", "tsx", "lib/relay/main.ts"], {
      env: {
        ...process.env,
        PORT: String(OWN_RELAY_PORT),
        DATA_DIR,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        RELAY_LIMITS: TEST_RELAY_LIMITS_ENV,
        ...(quotaBytes !== undefined ? { BLOB_QUOTA_BYTES: String(quotaBytes) } : {}),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the relay exited (${child.exitCode}); see its log under .e2e-data`);
      const up = await fetch(`${OWN_RELAY_URL}/manifest.webmanifest`).then((r) => r.ok, () => false);
      if (up) return;
      if (Date.now() > deadline) throw new Error("the relay did not start within 90 s");
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** SIGKILL: no shutdown, no flush, as a crash or a pulled plug. */
  async kill(): Promise<void> {
    await this.end("SIGKILL");
  }

  async stop(): Promise<void> {
    await this.end("SIGTERM");
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** How many blobs (complete or under way) the relay's index holds. */
  blobCount(): number {
    const db = new Database(join(DATA_DIR, "blobs", "index.sqlite"), { readonly: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM blobs").get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  /** Makes a blob expired as far as the relay is concerned (its clock passed its expiry): the index's row, as the relay reads it. */
  expireBlob(blobId: string): void {
    const db = new Database(join(DATA_DIR, "blobs", "index.sqlite"));
    try {
      const changed = db.prepare("UPDATE blobs SET expires_at = 1 WHERE id = ?").run(blobId).changes;
      if (changed !== 1) throw new Error("no such blob on the relay");
    } finally {
      db.close();
    }
  }
}
