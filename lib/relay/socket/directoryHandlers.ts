// directory:lookup (whether an address exists, and its identity key) and directory:bundles (its device
// list with prekey bundles, consuming one one-time X25519 and one one-time KEM prekey per device while
// the requester and the target are within their limits).
import type { Address } from "../../brands";
import { type EVENTS, ProtocolError } from "../../protocol";
import type { DeviceBundle } from "../../protocol/schemas";
import type { Connection } from "./connection";
import type { HandlerFn } from "./types";

/** Takes one `name` token from every device this connection is logged in as, and from its address. */
async function limitRequester(conn: Connection, perDevice: "lookupPerDevice" | "bundlesPerDevice", perIp?: "lookupPerIp"): Promise<void> {
  for (const deviceId of conn.deviceIds) await conn.limit(perDevice, conn.ctx.limitKey("dev", deviceId));
  if (perIp) await conn.limit(perIp, conn.ctx.limitKey("ip", conn.clientKey));
}

export const lookup: HandlerFn<typeof EVENTS.lookup> = async (conn, req) => {
  await limitRequester(conn, "lookupPerDevice", "lookupPerIp");
  const address = req.address as Address;
  const account = await conn.ctx.store.getAccount(address);
  if (!account) throw new ProtocolError("not_found", "no such address");
  // No device ids: a sender learns them with the bundles it needs to write, which are rate-limited.
  return { address, identityKey: account.identityKey, ...(account.deviceList ? { deviceList: account.deviceList.signed } : {}) };
};

export const bundles: HandlerFn<typeof EVENTS.bundles> = async (conn, req) => {
  // a bundle fetch also tells whether an address exists: it spends the lookup budget too
  await limitRequester(conn, "lookupPerDevice", "lookupPerIp");
  await limitRequester(conn, "bundlesPerDevice");
  const address = req.address as Address;
  const account = await conn.ctx.store.getAccount(address);
  if (!account) throw new ProtocolError("not_found", "no such address");
  const known = new Set(req.known ?? []);
  const wanted = (req.deviceIds ?? account.deviceIds).filter((id) => !known.has(id));
  let out: DeviceBundle[] = [];
  if (wanted.length) {
    // Past a few bundles of one target from one requester, or past the target's hourly share from
    // everyone, bundles still come but without one-time prekeys: a drain gets the signed and
    // last-resort keys, which stay valid, and the target's one-time prekeys last. The pair allowance
    // is per requesting device (each device this connection is logged in as), so no combination of
    // devices opens a fresh one.
    let pairsOk = true;
    for (const deviceId of conn.deviceIds) if (!(await conn.within("oneTimePrekeysPerPair", conn.ctx.limitKey("pair", deviceId, address)))) pairsOk = false;
    const oneTime =
      pairsOk &&
      (await conn.within("oneTimePrekeysPerTarget", conn.ctx.limitKey("target", address), Math.min(wanted.length, conn.ctx.limits.oneTimePrekeysPerTarget.burst)));
    const claimed = await conn.ctx.store.claimBundles(address, wanted, { oneTime });
    if (!claimed) throw new ProtocolError("not_found", "no such address");
    if (claimed.missing.length) conn.ctx.log.debug("bundles for unknown devices", { conn: conn.id, missing: claimed.missing.length });
    out = claimed.bundles.map((b) => {
      const bundle: DeviceBundle = { deviceId: b.deviceId, signedPrekey: b.signedPrekey };
      if (b.kemPrekey) bundle.kemPrekey = b.kemPrekey;
      if (b.oneTimePrekey) bundle.oneTimePrekey = b.oneTimePrekey;
      if (b.kemOneTimePrekey) bundle.kemOneTimePrekey = b.kemOneTimePrekey;
      return bundle;
    });
  }
  // Never the requester with the target: that pair is who is about to write to whom.
  conn.ctx.log.debug("bundles", {
    conn: conn.id,
    devices: out.length,
    oneTime: out.filter((b) => b.oneTimePrekey).length,
    kemOneTime: out.filter((b) => b.kemOneTimePrekey).length,
  });
  return { address, identityKey: account.identityKey, deviceIds: account.deviceIds, bundles: out, ...(account.deviceList ? { deviceList: account.deviceList.signed } : {}) };
};
