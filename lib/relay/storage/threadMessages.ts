// The messages between the relay's event loop and its SQLite store thread (threadStore.ts,
// storeThread.ts). Both ends are this code base in one process, and what crosses is the RelayStore's
// own arguments and answers (already checked by the socket handlers), so frames are checked for shape
// where they are read, not schema-parsed per call: that would add a zod pass per envelope to the hot path.
import type { RelayStore } from "./types";

/** The RelayStore methods the thread answers: every one but `close`, which has its own message. */
export const STORE_METHODS = [
  "getDevice",
  "registerAccount",
  "addCompanion",
  "removeDevices",
  "accountsOfDevice",
  "getAccount",
  "putDeviceList",
  "claimBundles",
  "updateKeys",
  "keyStatus",
  "storeEnvelopes",
  "pendingEnvelopes",
  "deleteEnvelopes",
  "deleteExpired",
  "mailboxStats",
  "scrub",
] as const satisfies readonly (keyof RelayStore)[];

export type StoreMethod = (typeof STORE_METHODS)[number];

export function isStoreMethod(name: unknown): name is StoreMethod {
  return typeof name === "string" && (STORE_METHODS as readonly string[]).includes(name);
}

/** Given to the thread at start (workerData). */
export interface StoreThreadData {
  dataDir: string;
  /** Group-commit concurrent sends and acks inside the thread (GROUP_COMMIT, default on). */
  groupCommit: boolean;
}

/** One call; a frame from the event loop carries the calls of one turn. */
export interface StoreCall {
  seq: number;
  method: StoreMethod | "close";
  args: unknown[];
}

/** An error as it crosses: rebuilt on the other side with its class where it is a standard one. */
export interface CrossedError {
  name: string;
  message: string;
}

export type StoreAnswer = { seq: number; value: unknown } | { seq: number; error: CrossedError };

/** From the thread: answers of one turn, a committed group (for the metrics), or how opening went. */
export type ThreadFrame =
  | { kind: "answers"; answers: StoreAnswer[] }
  | { kind: "group"; envelopes: number; calls: number }
  | { kind: "ready" }
  | { kind: "failed"; error: CrossedError };

export function crossError(err: unknown): CrossedError {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

const STANDARD: Record<string, new (message: string) => Error> = { RangeError, TypeError, Error };

/** The error for a caller: a RangeError stays a RangeError (the store's argument checks throw those). */
export function rebuildError(crossed: CrossedError): Error {
  const Standard = STANDARD[crossed.name];
  if (Standard) return new Standard(crossed.message);
  const err = new Error(crossed.message);
  err.name = crossed.name;
  return err;
}
