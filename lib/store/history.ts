// Where linking and history transfer stand (read model: the UI shows them from the meta table). Runtime:
// browser and Node tests. Written only by the worker; the UI reads them through lib/hooks.
import type { JunctionDB } from "./db";

/** The meta key of this device's history transfer (as the new device, or as the primary sending it). */
export const HISTORY_KEY = "history";
/** The meta key of a link this new device started (absent once its accounts are here). */
export const LINK_KEY = "link";

/**
 * A history transfer. The primary: building → uploading → done (or failed). The new device: waiting (for
 * the primary's archive) → downloading → importing → done, or skipped (by the person, or the primary sent
 * none), or failed. `done` and `total` count bytes while moving and messages while importing.
 */
export interface HistoryProgress {
  direction: "in" | "out";
  state: "waiting" | "building" | "uploading" | "downloading" | "importing" | "done" | "skipped" | "failed";
  done: number;
  total: number;
  /** Messages in the archive, once known. */
  messages?: number;
  /** The other device's name (the primary's side). */
  peer?: string;
}

/** Why a link failed on the new device: the UI says it in words and offers to start again. */
export type LinkFailure = "expired" | "cancelled" | "refused" | "failed";

export interface LinkState {
  state: "waiting" | "failed";
  reason?: LinkFailure;
}

export async function setHistoryProgress(db: JunctionDB, progress: HistoryProgress): Promise<void> {
  await db.meta.put({ key: HISTORY_KEY, value: progress });
}

export async function historyProgress(db: JunctionDB): Promise<HistoryProgress | null> {
  const row = await db.meta.get(HISTORY_KEY);
  return row && typeof row.value === "object" && row.value !== null ? (row.value as HistoryProgress) : null;
}

export async function setLinkState(db: JunctionDB, state: LinkState | null): Promise<void> {
  if (state) await db.meta.put({ key: LINK_KEY, value: state });
  else await db.meta.delete(LINK_KEY);
}

/**
 * At start: a transfer shown as under way did not survive the reload (its offer lived in the last worker's
 * memory), so it shows as failed, which the person can dismiss; a link this device was waiting on is gone.
 */
export async function settleAfterRestart(db: JunctionDB): Promise<void> {
  const shown = await historyProgress(db);
  if (shown && !["done", "skipped", "failed"].includes(shown.state)) await setHistoryProgress(db, { ...shown, state: "failed" });
  await db.meta.delete(LINK_KEY);
}
