// What every engine step gets: storage, the relay socket, a clock, a logger and the session lock.
import type { JunctionDB } from "../store/db";
import type { Counters, Logger } from "./log";
import type { Mutex } from "./mutex";
import type { RelaySocket } from "./relay";

export interface EngineContext {
  readonly db: JunctionDB;
  readonly log: Logger;
  readonly counters: Counters;
  /** Held around every read-modify-write of ratchet sessions. */
  readonly sessions: Mutex;
  now(): number;
  /** The connected, logged-in socket; throws OfflineError otherwise. */
  socket(): RelaySocket;
  /**
   * The socket once it is connected, waiting up to `ms` (OfflineError after). For what a person waits on
   * at the screen; queued work does not wait, it goes when the connection comes.
   */
  connectedSocket(ms: number): Promise<RelaySocket>;
}
