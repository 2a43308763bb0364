// register, auth:challenge, auth:login, keys:upload, keys:status.
import { randomBytes } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { type Address, type BrandId, brandOf } from "../../brands";
import { MAX_DEVICES } from "../../crypto";
import type { RegisterRequest } from "../../protocol/schemas";
import {
  type EVENTS,
  LOGIN_NONCE_BYTES,
  LOGIN_NONCE_TTL_MS,
  MAX_ACCOUNTS_PER_DEVICE,
  MAX_CONNECTIONS_PER_DEVICE,
  MAX_DEVICES_PER_CONNECTION,
  MAX_STORED_KEM_PREKEYS,
  MAX_STORED_PREKEYS,
  ProtocolError,
  toB64,
} from "../../protocol";
import { AUTH_KEY_TAG, isValidAuthKey, verifyLogin } from "../loginAuth";
import type { AccountRegistration, PrekeyCaps, RegisterMode } from "../storage/types";
import type { Connection } from "./connection";
import { checkSignedList, putSignedList } from "./deviceHandlers";
import type { HandlerFn } from "./types";

const PREKEY_CAPS: PrekeyCaps = { oneTime: MAX_STORED_PREKEYS, kemOneTime: MAX_STORED_KEM_PREKEYS };

// One message for every failed login, so the relay is no oracle for which device ids exist.
const LOGIN_FAILED = "login failed";

// A valid tagged Ed25519 public key whose private half was thrown away at start.
const UNKNOWN_DEVICE_KEY = toB64(new Uint8Array([AUTH_KEY_TAG, ...ed25519.getPublicKey(ed25519.utils.randomSecretKey())]));

export const register: HandlerFn<typeof EVENTS.register> = async (conn, req) => {
  const address = req.address as Address;
  const brand = brandOf(address);
  if (!brand) throw new ProtocolError("bad_request", "unknown brand");
  if (!isValidAuthKey(req.device.authKey)) throw new ProtocolError("bad_request", "auth key must be 0x02 and a 32-byte ed25519 public key");
  await conn.limit("registerPerIp", conn.ctx.limitKey("ip", conn.clientKey));
  if (req.companion) return registerCompanion(conn, req, address, brand);
  // checked before anything is stored: a list the account key did not sign refuses the registration
  const listVersion = req.deviceList ? checkSignedList(req.identityKey, address, req.device.deviceId, req.deviceList).version : undefined;
  // Every account is its own device (its own id and auth key), also when a logged-in connection adds
  // one: the new device then logs in on this connection too. So no device id links two brands.
  const mode: RegisterMode = "new_device";
  const outcome = await conn.ctx.store.registerAccount(registrationOf(conn, req, address, brand), mode, MAX_ACCOUNTS_PER_DEVICE);
  switch (outcome) {
    case "ok":
      break;
    case "handle_taken":
      throw new ProtocolError("handle_taken", "handle taken");
    case "device_exists":
      throw new ProtocolError("unauthorized", "device already registered: every account needs a new device id");
    case "unknown_device":
    case "auth_key_mismatch":
      throw new ProtocolError("unauthorized", "auth key does not match the device");
    case "brand_taken":
      throw new ProtocolError("conflict", "this device already has an account on that brand");
    case "too_many_accounts":
      throw new ProtocolError("conflict", "too many accounts on this device");
  }
  // the first device list goes with the account, in the same request, so no one finds the account without one
  if (req.deviceList) await putSignedList(conn, address, listVersion ?? 0, req.deviceList);
  // No address and no device id: together with other lines they would say who registered when.
  conn.ctx.log.debug("registered", { conn: conn.id, brand });
  return { address };
};

function registrationOf(conn: Connection, req: RegisterRequest, address: Address, brand: BrandId): AccountRegistration {
  return {
    address,
    brand,
    identityKey: req.identityKey,
    deviceId: req.device.deviceId,
    authKey: req.device.authKey,
    signedPrekey: req.device.signedPrekey,
    // Required by the schema: PQXDH is mandatory, so a device without one is refused (bad_request).
    kemPrekey: req.device.kemPrekey,
    oneTimePrekeys: req.device.oneTimePrekeys,
    kemOneTimePrekeys: req.device.kemOneTimePrekeys ?? [],
    now: conn.ctx.now(),
  };
}

/**
 * A linked device joins an account: the list it brings must be signed by the account key, name it and be
 * newer than the stored one, so only the account's primary can let a device in (the relay cannot).
 */
async function registerCompanion(conn: Connection, req: RegisterRequest, address: Address, brand: BrandId): Promise<{ address: Address }> {
  if (!req.deviceList) throw new ProtocolError("bad_request", "a linked device registers with the account's new device list");
  const { version } = checkSignedList(req.identityKey, address, req.device.deviceId, req.deviceList);
  const outcome = await conn.ctx.store.addCompanion(registrationOf(conn, req, address, brand), { version, signed: req.deviceList }, MAX_DEVICES);
  switch (outcome) {
    case "ok":
      break;
    case "not_found":
      throw new ProtocolError("not_found", "no such address");
    case "key_mismatch":
      throw new ProtocolError("bad_request", "not this account's key");
    case "device_exists":
      throw new ProtocolError("unauthorized", "device already registered: every account needs a new device id");
    case "stale":
      throw new ProtocolError("conflict", "a newer device list is stored");
    case "too_many_devices":
      throw new ProtocolError("conflict", "the account has its most devices");
  }
  conn.ctx.log.debug("companion registered", { conn: conn.id, brand });
  return { address };
}

export const challenge: HandlerFn<typeof EVENTS.challenge> = async (conn, req) => {
  await conn.limit("loginPerIp", conn.ctx.limitKey("ip", conn.clientKey));
  // Issued for any device id, known or not: the login step is where unknown devices fail.
  const nonce = new Uint8Array(randomBytes(LOGIN_NONCE_BYTES));
  conn.challenge = { deviceId: req.deviceId, nonce, expiresAt: conn.ctx.now() + LOGIN_NONCE_TTL_MS };
  return { nonce: toB64(nonce) };
};

export const login: HandlerFn<typeof EVENTS.login> = async (conn, req) => {
  const pending = conn.challenge;
  // Single use: consumed before verifying, so neither success nor failure lets a nonce be tried again.
  conn.challenge = null;
  if (!pending || pending.deviceId !== req.deviceId || conn.ctx.now() > pending.expiresAt) {
    throw new ProtocolError("unauthorized", LOGIN_FAILED);
  }
  if (!conn.hasDevice(req.deviceId) && conn.deviceIds.length >= MAX_DEVICES_PER_CONNECTION) {
    throw new ProtocolError("conflict", `at most ${MAX_DEVICES_PER_CONNECTION} devices per connection`);
  }
  const device = await conn.ctx.store.getDevice(req.deviceId);
  // An unknown device is verified against a key nobody holds, so it costs the same time as a known
  // one with a wrong signature: the answer's latency does not tell which device ids exist.
  const valid = verifyLogin(device?.authKey ?? UNKNOWN_DEVICE_KEY, pending.nonce, req.deviceId, req.signature);
  if (!device || !valid) throw new ProtocolError("unauthorized", LOGIN_FAILED);
  const addresses = await conn.ctx.store.accountsOfDevice(req.deviceId);
  conn.loginAs(req.deviceId, addresses);
  conn.ctx.hub.limitConnections(req.deviceId, MAX_CONNECTIONS_PER_DEVICE, conn);
  conn.ctx.log.debug("login", { conn: conn.id, accounts: addresses.length });
  // Pending envelopes follow the login ack.
  setImmediate(() => conn.pump());
  return { addresses };
};

/** The account and the device that holds it on this connection; `unauthorized` for anyone else's. */
function ownAccount(conn: Connection, address: string): { address: Address; deviceId: string } {
  const deviceId = conn.deviceOf(address);
  if (!deviceId) throw new ProtocolError("unauthorized", "not an account of this connection");
  return { address: address as Address, deviceId };
}

export const keysUpload: HandlerFn<typeof EVENTS.keysUpload> = async (conn, req) => {
  const { address, deviceId } = ownAccount(conn, req.address);
  const outcome = await conn.ctx.store.updateKeys(address, deviceId, req, PREKEY_CAPS);
  if (outcome === "not_found") throw new ProtocolError("not_found", "no such account device");
  if (outcome === "too_many") throw new ProtocolError("bad_request", `at most ${MAX_STORED_PREKEYS} one-time prekeys are kept`);
  if (outcome === "too_many_kem") throw new ProtocolError("bad_request", `at most ${MAX_STORED_KEM_PREKEYS} one-time kem prekeys are kept`);
  const status = await conn.ctx.store.keyStatus(address, deviceId);
  if (!status) throw new ProtocolError("not_found", "no such account device");
  conn.ctx.log.debug("keys uploaded", {
    conn: conn.id,
    prekeys: req.oneTimePrekeys?.length ?? 0,
    kemPrekeys: req.kemOneTimePrekeys?.length ?? 0,
    signed: Boolean(req.signedPrekey),
    kem: Boolean(req.kemPrekey),
  });
  return status;
};

export const keysStatus: HandlerFn<typeof EVENTS.keysStatus> = async (conn, req) => {
  const { address, deviceId } = ownAccount(conn, req.address);
  const status = await conn.ctx.store.keyStatus(address, deviceId);
  if (!status) throw new ProtocolError("not_found", "no such account device");
  return status;
};
