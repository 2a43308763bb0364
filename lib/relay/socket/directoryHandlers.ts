// directory:lookup (reads only) and directory:bundles (consumes one one-time X25519 prekey and one
// one-time KEM prekey per device).
import type { Address } from "../../brands";
import { type EVENTS, ProtocolError } from "../../protocol";
import type { DeviceBundle } from "../../protocol/schemas";
import type { HandlerFn } from "./types";

export const lookup: HandlerFn<typeof EVENTS.lookup> = async (conn, req) => {
  const address = req.address as Address;
  const account = await conn.ctx.store.getAccount(address);
  if (!account) throw new ProtocolError("not_found", "no such address");
  return { address, identityKey: account.identityKey, deviceIds: account.deviceIds };
};

export const bundles: HandlerFn<typeof EVENTS.bundles> = async (conn, req) => {
  const address = req.address as Address;
  const claimed = await conn.ctx.store.claimBundles(address, req.deviceIds);
  if (!claimed) throw new ProtocolError("not_found", "no such address");
  if (claimed.missing.length) conn.ctx.log.info("bundles for unknown devices", { conn: conn.id, address, missing: claimed.missing.length });
  const out: DeviceBundle[] = claimed.bundles.map((b) => {
    const bundle: DeviceBundle = { deviceId: b.deviceId, signedPrekey: b.signedPrekey };
    if (b.kemPrekey) bundle.kemPrekey = b.kemPrekey;
    if (b.oneTimePrekey) bundle.oneTimePrekey = b.oneTimePrekey;
    if (b.kemOneTimePrekey) bundle.kemOneTimePrekey = b.kemOneTimePrekey;
    return bundle;
  });
  conn.ctx.log.info("bundles", {
    conn: conn.id,
    device: conn.deviceId,
    address,
    devices: out.length,
    oneTime: out.filter((b) => b.oneTimePrekey).length,
    kemOneTime: out.filter((b) => b.kemOneTimePrekey).length,
  });
  return { address, identityKey: claimed.identityKey, bundles: out };
};
