// Group membership changes as a signed hash chain (docs/CRYPTO.md, "Group state"). Every change to a
// group (create, add, remove, promote, demote, rename, leave, timer, who may add) is signed by its
// author's account identity key and names the hash of the change before it, with a version one higher.
// So every member holds one history: a change that is not the next link — an older version (rollback),
// a second change at one version (fork), a change on a head the member never saw — is refused here,
// before the rules of who may do what (lib/engine/groups/membership.ts) are even asked.
// What a change does travels as `body`: bytes the engine defines (JSON), signed exactly as sent.
import { type Bytes, equalBytes } from "./bytes";
import { Reader, Writer } from "./codec";
import { CryptoError } from "./errors";
import { type KeyPair, SIGNATURE_BYTES, signIdentity, verifyIdentity } from "./keys";
import { sha256 } from "./primitives";

export const GROUP_ID_BYTES = 32;
const LABEL = "Junction group change v1";
const NO_PREVIOUS = new Uint8Array(32);
/** Largest body of one change (an add of 1,024 members with their accounts fits). */
export const MAX_GROUP_CHANGE_BODY = 128 * 1024;

export interface GroupChange {
  groupId: Bytes;
  /** 1 for the group's creation, then one more per change. */
  version: number;
  /** SHA-256 of the previous signed change; 32 zero bytes for version 1. */
  previous: Bytes;
  /** The author's address (the account whose identity key signs). */
  author: string;
  /** The author's clock (ms); shown, never trusted for order (the chain orders). */
  at: number;
  body: Bytes;
}

/** The head of a group's chain as a member holds it. */
export interface GroupHead {
  version: number;
  hash: Bytes;
}

function encode(c: GroupChange): Bytes {
  if (c.groupId.length !== GROUP_ID_BYTES) throw new CryptoError("bad_message", "invalid group id");
  if (!Number.isSafeInteger(c.version) || c.version < 1) throw new CryptoError("bad_message", "invalid version");
  if (c.previous.length !== 32) throw new CryptoError("bad_message", "invalid previous hash");
  if (c.author.length === 0 || c.author.length > 200) throw new CryptoError("bad_message", "invalid author");
  if (!Number.isSafeInteger(c.at) || c.at < 0) throw new CryptoError("bad_message", "invalid time");
  if (c.body.length > MAX_GROUP_CHANGE_BODY) throw new CryptoError("bad_message", "change too large");
  return new Writer().str(LABEL).raw(c.groupId).varint(c.version).raw(c.previous).str(c.author).varint(c.at).bytes(c.body).finish();
}

/** Signs a change with the author's account identity key: `bytes(change) ‖ signature`. */
export function signGroupChange(author: KeyPair, change: GroupChange): Bytes {
  const encoded = encode(change);
  return new Writer().bytes(encoded).raw(signIdentity(author, encoded)).finish();
}

/** Reads a signed change without checking its signature (to learn whose key must check it). */
export function readGroupChange(signed: Bytes): { change: GroupChange; encoded: Bytes; signature: Bytes } {
  const outer = new Reader(signed, "bad_message");
  const encoded = outer.bytes(MAX_GROUP_CHANGE_BODY + 1024);
  const signature = outer.raw(SIGNATURE_BYTES);
  outer.end();
  const r = new Reader(encoded, "bad_message");
  if (r.str(64) !== LABEL) throw new CryptoError("bad_message", "not a group change");
  const change: GroupChange = {
    groupId: r.raw(GROUP_ID_BYTES),
    version: r.varint(),
    previous: r.raw(32),
    author: r.str(800),
    at: r.varint(),
    body: r.bytes(MAX_GROUP_CHANGE_BODY),
  };
  r.end();
  // only the canonical encoding: the bytes signed are the bytes read
  if (!equalBytes(encode(change), encoded)) throw new CryptoError("bad_message", "group change not canonical");
  return { change, encoded, signature };
}

/**
 * Opens a signed change of `groupId` by the holder of `authorKey` that is the next link after `head`
 * (undefined: the group is new to me, only its creation opens). Throws bad_signature for a signature
 * that is not the author's, duplicate for the head itself (a replay), bad_state for a rollback, a fork
 * or a gap, bad_message for anything malformed or of another group.
 */
export function openGroupChange(authorKey: Bytes, groupId: Bytes, head: GroupHead | undefined, signed: Bytes): { change: GroupChange; head: GroupHead } {
  const { change, encoded, signature } = readGroupChange(signed);
  if (!equalBytes(change.groupId, groupId)) throw new CryptoError("bad_message", "change of another group");
  if (!verifyIdentity(authorKey, encoded, signature)) throw new CryptoError("bad_signature", "group change not signed by its author");
  const hash = sha256(signed);
  if (!head) {
    if (change.version !== 1 || !equalBytes(change.previous, NO_PREVIOUS)) throw new CryptoError("bad_state", "a group starts with its creation");
  } else if (change.version === head.version && equalBytes(hash, head.hash)) {
    throw new CryptoError("duplicate", "group change already applied");
  } else if (change.version <= head.version) {
    throw new CryptoError("bad_state", change.version < head.version ? "group change older than the group's state" : "a second group change at one version");
  } else if (change.version !== head.version + 1 || !equalBytes(change.previous, head.hash)) {
    throw new CryptoError("bad_state", "group change does not follow the group's state");
  }
  return { change, head: { version: change.version, hash } };
}

export { NO_PREVIOUS as GROUP_GENESIS_PREVIOUS };
