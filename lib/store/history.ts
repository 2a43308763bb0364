// Where linking and history transfer stand (read model: the UI shows them from the meta table). Runtime:
// browser and Node tests. Written only by the worker; the UI reads them through lib/hooks.
import type { Address } from "../brands";
import type { JunctionDB } from "./db";

/** The meta key of this device's history transfer (as the new device, or as the primary sending it). */
export const HISTORY_KEY = "history";
/** The meta key of a link this new device started (absent once its accounts are here). */
export const LINK_KEY = "link";
/** The meta key of the history this new device still expects (PendingHistory): there until imported or skipped. */
export const HISTORY_OFFER_KEY = "historyOffer";
/** The meta key of my linked devices' asks for the history (the primary's side; HistoryAsk[]). */
export const HISTORY_ASK_KEY = "historyAsk";

/**
 * The meta key of the history archives this primary uploaded ({ blobId, from, media? }[], `media` the photos
 * and files uploaded with one, as { blobId, from }[]): only these it deletes, each with its media.
 */
export const HISTORY_UPLOADS_KEY = "historyUploads";
/**
 * The meta key of the archives my linked devices are done with (blob ids), to delete at the relay with their
 * media. A new device says so once it imported the archive and its media downloads settled (or it skipped it).
 */
export const HISTORY_DONE_KEY = "historyDone";
/**
 * The meta key of the archives whose media this new device is still downloading (HistoryMediaWait[]): the
 * primary hears it is done with one (and deletes it with its media) once these downloads settled.
 */
export const HISTORY_MEDIA_KEY = "historyMedia";
/** How many of each the primary keeps track of. */
export const MAX_HISTORY_BLOBS = 32;

/** A history archive this primary uploaded, under which of my accounts, and the photos and files uploaded with it. */
/**
 * The meta key of the devices (ids) I sent an archive with photos and files to: one that asks again gets it
 * without them (it may be a build that cannot read them, or a download that cannot finish them).
 */
export const HISTORY_MEDIA_SENT_KEY = "historyMediaSent";

export function mediaSentTo(db: JunctionDB): Promise<string[]> {
  return blobList<string>(db, HISTORY_MEDIA_SENT_KEY);
}

export interface HistoryUpload {
  blobId: string;
  from: Address;
  media?: { blobId: string; from: Address }[];
}

/** The primary's offer as kept on disk (checked again by the engine when read: lib/engine/history/offer.ts). */
export type StoredOffer =
  | { t: "history"; blobId: string; key: string; digest: string; commitment: string; size: number; messages: number }
  | { t: "nohistory"; failed?: true };

/**
 * The history this new device expects, kept across reloads: for which accounts, since when it waits (the
 * wait expires after HISTORY_WAIT_MS), and once it came the offer (the archive's key, digest and blob id).
 * `failed`: its transfer failed for a reason a retry would not cure (the person may ask again).
 */
export interface PendingHistory {
  accounts: Address[];
  since: number;
  offer?: StoredOffer;
  failed?: boolean;
  /** The person skipped it before its offer came: an offer that comes later is not fetched, only reported done (the primary deletes it). */
  skipped?: boolean;
  /** Archives whose transfer failed here: a late copy of their offer is not taken again (after "Ask again"). */
  failedBlobs?: string[];
}

/** An archive imported here whose photos and files are still coming: its blob id, accounts and the messages they belong to. */
export interface HistoryMediaWait {
  blobId: string;
  accounts: Address[];
  ids: string[];
}

export function historyMediaWait(db: JunctionDB): Promise<HistoryMediaWait[]> {
  return blobList<HistoryMediaWait>(db, HISTORY_MEDIA_KEY);
}

/** A linked device of mine asked for the history again (the primary sends it once it reads this). */
export interface HistoryAsk {
  our: Address;
  device: string;
  at: number;
}

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
  /**
   * Why it failed. On the new device: no offer came in time, or the transfer itself failed. On the primary:
   * the relay refused the photos and files (no room for them, or too many uploads now).
   */
  reason?: "expired" | "failed" | "quota" | "too_many";
  /** The photos and files sent along (the primary) or queued to download (the new device), and their bytes when known. */
  media?: { count: number; bytes: number };
}

/**
 * Photos and files go with the history by default up to this much (a few minutes on a phone's data, and
 * under the relay's burst of uploads from one device); above it the person chooses to send them. An
 * "Ask again" from the new device sends them by the same rule, unless the relay refused them last time or
 * that device already got an archive with them (HISTORY_MEDIA_SENT_KEY).
 */
export const HISTORY_MEDIA_BY_DEFAULT = { bytes: 100_000_000, count: 150 };

export function mediaByDefault(media: { count: number; bytes: number }): boolean {
  return media.count > 0 && media.bytes <= HISTORY_MEDIA_BY_DEFAULT.bytes && media.count <= HISTORY_MEDIA_BY_DEFAULT.count;
}

/** Why a link failed on the new device: the UI says it in words and offers to start again. */
export type LinkFailure = "expired" | "cancelled" | "refused" | "failed";

export interface LinkState {
  state: "waiting" | "failed";
  reason?: LinkFailure;
  /** Waiting: a code typed on the other device did not match this one (the code is still good). */
  mistyped?: boolean;
}

export async function setHistoryProgress(db: JunctionDB, progress: HistoryProgress): Promise<void> {
  await db.meta.put({ key: HISTORY_KEY, value: progress });
}

/** The object kept in meta under `key`; null when there is none. */
async function metaObject<T>(db: JunctionDB, key: string): Promise<T | null> {
  const row = await db.meta.get(key);
  return row && typeof row.value === "object" && row.value !== null ? (row.value as T) : null;
}

/** Keeps `value` in meta under `key`, or removes it (null). */
async function setMetaObject(db: JunctionDB, key: string, value: object | null): Promise<void> {
  if (value) await db.meta.put({ key, value });
  else await db.meta.delete(key);
}

export function historyProgress(db: JunctionDB): Promise<HistoryProgress | null> {
  return metaObject<HistoryProgress>(db, HISTORY_KEY);
}

export function setLinkState(db: JunctionDB, state: LinkState | null): Promise<void> {
  return setMetaObject(db, LINK_KEY, state);
}

export function pendingHistory(db: JunctionDB): Promise<PendingHistory | null> {
  return metaObject<PendingHistory>(db, HISTORY_OFFER_KEY);
}

export function setPendingHistory(db: JunctionDB, pending: PendingHistory | null): Promise<void> {
  return setMetaObject(db, HISTORY_OFFER_KEY, pending);
}

/**
 * Keeps an offer that came for this device (inside the caller's transaction, which holds meta): only while
 * the history is still expected, and not the one already held (it comes both over the link channel and as
 * a sync). True when it was kept.
 */
export async function keepOffer(db: JunctionDB, offer: StoredOffer): Promise<boolean> {
  const pending = await pendingHistory(db);
  if (!pending || pending.skipped) return false;
  const held = pending.offer;
  if (held && held.t === offer.t && (held.t === "nohistory" || (offer.t === "history" && held.blobId === offer.blobId))) return false;
  if (offer.t === "history" && pending.failedBlobs?.includes(offer.blobId)) return false;
  await setPendingHistory(db, { ...pending, offer, failed: false });
  return true;
}

/** A list kept under one meta key (empty when absent or not a list). */
export async function blobList<T>(db: JunctionDB, key: typeof HISTORY_UPLOADS_KEY | typeof HISTORY_DONE_KEY | typeof HISTORY_MEDIA_SENT_KEY | typeof HISTORY_MEDIA_KEY | typeof HISTORY_ASK_KEY): Promise<T[]> {
  const row = await db.meta.get(key);
  return Array.isArray(row?.value) ? (row.value as T[]) : [];
}

export function historyAsks(db: JunctionDB): Promise<HistoryAsk[]> {
  return blobList<HistoryAsk>(db, HISTORY_ASK_KEY);
}

/**
 * At start: a transfer shown as under way whose offer is kept resumes (the engine goes on with it); one
 * without (a primary's upload lives only in its worker's memory) shows as failed, which the person can
 * dismiss; a link this device was waiting on is gone.
 */
export async function settleAfterRestart(db: JunctionDB): Promise<void> {
  const shown = await historyProgress(db);
  const resumes = shown?.direction === "in" && (await pendingHistory(db)) !== null;
  if (shown && !resumes && !["done", "skipped", "failed"].includes(shown.state)) await setHistoryProgress(db, { ...shown, state: "failed" });
  await db.meta.delete(LINK_KEY);
}
