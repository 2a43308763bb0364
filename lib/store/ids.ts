// Random ids for messages and devices: 16 random bytes as base64url (22 characters), which fits the
// relay's envelope/device id rule and cannot collide in practice.
import { toB64 } from "../protocol/bytes";

export function randomId(bytes = 16): string {
  return toB64(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function sessionKey(ourAddress: string, theirAddress: string, theirDevice: string): string {
  return `${ourAddress}|${theirAddress}|${theirDevice}`;
}

export function identityId(ourAddress: string, theirAddress: string): string {
  return `${ourAddress}|${theirAddress}`;
}

export function prekeyKey(address: string, kind: "signed" | "onetime" | "kem" | "kemOneTime", id: number): string {
  return `${address}|${kind}|${id}`;
}

/** The outbox queue of my own other devices (sync copies, requests to them). */
export const SELF_QUEUE_PREFIX = "self|";

export function selfQueue(address: string): string {
  return `${SELF_QUEUE_PREFIX}${address}`;
}
