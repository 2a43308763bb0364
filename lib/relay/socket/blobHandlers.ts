// blobs:upload — a short-lived, single-use token for one blob's upload over HTTP (so HTTP needs no
// cookies and no login of its own). The blob's id is random and unguessable; the token is kept only as
// its SHA-256.
import { createHash, randomBytes } from "node:crypto";
import { BLOB_TTL_MS, BLOB_UPLOAD_TOKEN_TTL_MS, type EVENTS, ProtocolError } from "../../protocol";
import type { HandlerFn } from "./types";

export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url");
}

/**
 * blobs:delete — the device that uploaded a blob deletes it before its expiry (a history archive once the
 * new device imported it). Anyone else's blob, or one that is not there, is the same not_found: the answer
 * tells no one whether an id exists.
 */
export const blobDelete: HandlerFn<typeof EVENTS.blobDelete> = async (conn, req) => {
  const deviceId = conn.deviceOf(req.from);
  if (!deviceId) throw new ProtocolError("unauthorized", "from is not an account of this connection");
  await conn.limit("blobUploadsPerDevice", conn.ctx.limitKey("blob", deviceId));
  const meta = await conn.ctx.blobs.get(req.id);
  if (!meta || meta.owner !== deviceId) throw new ProtocolError("not_found", "no such blob of this device");
  return { deleted: await conn.ctx.blobs.delete(req.id) };
};

export const blobUpload: HandlerFn<typeof EVENTS.blobUpload> = async (conn, req) => {
  const deviceId = conn.deviceOf(req.from);
  if (!deviceId) throw new ProtocolError("unauthorized", "from is not an account of this connection");
  await conn.limit("blobUploadsPerDevice", conn.ctx.limitKey("blob", deviceId));
  const now = conn.ctx.now();
  const token = randomBytes(32).toString("base64url");
  const tokenExpiresAt = now + BLOB_UPLOAD_TOKEN_TTL_MS;
  if ("resume" in req) {
    const meta = await conn.ctx.blobs.get(req.resume);
    // only the device that began it may go on
    if (!meta || meta.owner !== deviceId || meta.expiresAt <= now) throw new ProtocolError("not_found", "no upload to resume");
    // whole already (its last piece settled after the uploader lost sight of it: a closed tab, a cut
    // connection): nothing is left to send, and the token given opens nothing; the uploader finishes
    // from its own copy, on this blob
    if (meta.received >= meta.size) return { id: meta.id, token, size: meta.size, offset: meta.size, tokenExpiresAt };
    if (!(await conn.ctx.blobs.renewToken(meta.id, tokenHash(token), tokenExpiresAt))) {
      // it became whole meanwhile
      const latest = await conn.ctx.blobs.get(meta.id);
      if (latest && latest.received >= latest.size) return { id: meta.id, token, size: latest.size, offset: latest.size, tokenExpiresAt };
      throw new ProtocolError("not_found", "no upload to resume");
    }
    return { id: meta.id, token, size: meta.size, offset: meta.received, tokenExpiresAt };
  }
  const id = randomBytes(32).toString("base64url");
  const outcome = await conn.ctx.blobs.create(
    { id, owner: deviceId, size: req.size, tokenHash: tokenHash(token), tokenExpiresAt, createdAt: now, expiresAt: now + BLOB_TTL_MS },
    conn.ctx.blobQuotaBytes,
  );
  if (outcome === "quota_exceeded") throw new ProtocolError("quota_exceeded", "this device's attachment storage is full", { retryAfterMs: 60 * 60 * 1000 });
  conn.ctx.log.debug("blob reserved", { conn: conn.id });
  return { id, token, size: req.size, offset: 0, tokenExpiresAt };
};
