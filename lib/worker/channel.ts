// Messages between the workers of one device's tabs, over a BroadcastChannel. Followers forward the
// calls that need the relay to the leader, poke it after queuing a send, and learn the status from it.
import type { ConnectionStatus, EngineErrorCode, RpcMethod } from "./rpc";

export const CHANNEL_NAME = "junction-engine";
export const LOCK_NAME = "junction-engine";

export type PeerMessage =
  | { type: "rpc"; id: string; method: RpcMethod; params: unknown }
  | { type: "rpc-reply"; id: string; ok: true; result: unknown }
  | { type: "rpc-reply"; id: string; ok: false; error: { code: EngineErrorCode; message: string } }
  | { type: "poke" }
  | { type: "status"; online: boolean }
  | { type: "status?" };

/** The part of BroadcastChannel the host uses. */
export interface PeerChannel {
  postMessage(message: PeerMessage): void;
  addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void;
  close(): void;
}

/** The part of navigator.locks the host uses: the callback holds the lock until its promise settles. */
export interface LockProvider {
  request(name: string, callback: () => Promise<void>): Promise<unknown>;
}

export function isPeerMessage(data: unknown): data is PeerMessage {
  if (typeof data !== "object" || data === null) return false;
  const type = (data as { type?: unknown }).type;
  return type === "rpc" || type === "rpc-reply" || type === "poke" || type === "status" || type === "status?";
}

export type StatusListener = (status: ConnectionStatus) => void;
