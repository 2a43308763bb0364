// Session records as the engine stores them: the current state in `sessions` (what sending reads) and the
// archived states in `archivedSessions` (only receiving reads them). A row that cannot be read is not an
// error that holds anything up: its record starts empty, the next message from that device fails to open,
// and recovery (a decryption-error request) sets up a fresh session.
import Dexie from "dexie";
import type { Address } from "./deps";
import type { ArchivedSessionRow, JunctionDB, SessionRow } from "../store/db";
import { sessionKey } from "../store/ids";
import { archivedRow, sessionRow } from "../store/sessions";
import {
  deserializeArchive,
  deserializeSession,
  serializeArchive,
  serializeSession,
  type SessionRecord,
} from "../crypto";
import type { EngineContext } from "./context";

export interface LiveRecord {
  our: Address;
  their: Address;
  device: string;
  record: SessionRecord;
  /** The current state changed: write the session row. */
  dirty: boolean;
  /** The archive changed (a promotion, a new session, a reset, or a row that could not be read). */
  archiveDirty: boolean;
}

export interface RecordKey {
  our: Address;
  their: Address;
  device: string;
}

/**
 * A read of committed rows, never part of a transaction: Dexie follows a transaction across native awaits
 * by re-entering its zone for a while, and an unrelated flow that happens to run meanwhile (decrypting
 * beside a commit) would otherwise join that transaction, or fail on it once it has finished.
 */
export function readOutsideTransactions<T>(read: () => Promise<T>): Promise<T> {
  return Dexie.ignoreTransaction(read);
}

/** Reads the records of every key in two bulk reads. Unreadable rows are counted and logged, not thrown. */
export async function loadRecords(ctx: EngineContext, keys: RecordKey[]): Promise<Map<string, LiveRecord>> {
  const ids = keys.map((k) => sessionKey(k.our, k.their, k.device));
  const [current, archived] = await readOutsideTransactions(() => Promise.all([ctx.db.sessions.bulkGet(ids), ctx.db.archivedSessions.bulkGet(ids)]));
  const out = new Map<string, LiveRecord>();
  keys.forEach((k, i) => {
    const live: LiveRecord = { ...k, record: { archived: [] }, dirty: false, archiveDirty: false };
    let currentState;
    try {
      currentState = current[i] ? deserializeSession(current[i].state) : undefined;
    } catch {
      ctx.counters.bump("corrupt_session");
      ctx.log.warn("session row unreadable, starting over", { table: "sessions" });
      live.dirty = true;
    }
    let archive: SessionRecord["archived"] = [];
    try {
      archive = archived[i] ? deserializeArchive(archived[i].states) : [];
    } catch {
      ctx.counters.bump("corrupt_session");
      ctx.log.warn("session row unreadable, starting over", { table: "archivedSessions" });
      live.archiveDirty = true;
    }
    live.record = { current: currentState, archived: archive };
    out.set(ids[i], live);
  });
  return out;
}

/** Rows to write and keys to delete for the records that changed. */
export interface RecordWrites {
  put: SessionRow[];
  drop: string[];
  putArchive: ArchivedSessionRow[];
  dropArchive: string[];
}

/**
 * The rows to write (and delete) for the records that changed, then marks them clean: what changes after
 * this belongs to the next write. The rows are serialised here, so a record that moves on later does not
 * change what this write stores.
 */
export function takeRecordWrites(records: Iterable<LiveRecord>, now: number): RecordWrites {
  const out: RecordWrites = { put: [], drop: [], putArchive: [], dropArchive: [] };
  for (const r of records) {
    const key = sessionKey(r.our, r.their, r.device);
    if (r.dirty) {
      if (r.record.current) out.put.push(sessionRow(r.our, r.their, r.device, serializeSession(r.record.current), now));
      else out.drop.push(key);
    }
    if (r.archiveDirty) {
      if (r.record.archived.length > 0) out.putArchive.push(archivedRow(r.our, r.their, r.device, serializeArchive(r.record.archived), now));
      else out.dropArchive.push(key);
    }
    r.dirty = false;
    r.archiveDirty = false;
  }
  return out;
}

/** Writes what takeRecordWrites returns; call inside a transaction over sessions and archivedSessions. */
export async function applyRecordWrites(db: JunctionDB, w: RecordWrites): Promise<void> {
  if (w.put.length) await db.sessions.bulkPut(w.put);
  if (w.drop.length) await db.sessions.bulkDelete(w.drop);
  if (w.putArchive.length) await db.archivedSessions.bulkPut(w.putArchive);
  if (w.dropArchive.length) await db.archivedSessions.bulkDelete(w.dropArchive);
}
