import { describe, expect, it } from "vitest";
import { equalBytes, utf8 } from "./bytes";
import {
  acceptDeviceList,
  certifyDevice,
  createProvisioningRequest,
  decodeProvisioningCode,
  type DeviceList,
  encodeProvisioningCode,
  listedDevice,
  MAX_DEVICES,
  openDeviceList,
  openProvisioning,
  sealProvisioning,
  signDeviceList,
  verifyDeviceCertificate,
} from "./devices";
import { generateIdentityKeyPair } from "./keys";

const ALICE = "whatsapp:+15550100";
const account = generateIdentityKeyPair();
const primary = generateIdentityKeyPair();
const laptop = generateIdentityKeyPair();

function list(version: number, devices = [{ deviceId: "primary", identityKey: primary.publicKey, linkedAt: 1 }, { deviceId: "laptop", identityKey: laptop.publicKey, linkedAt: 5 }]): DeviceList {
  return { address: ALICE, version, timestamp: 1_000 + version, devices };
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] ^= 1;
  return out;
}

describe("device certificates", () => {
  const cert = { address: ALICE, deviceId: "laptop", identityKey: laptop.publicKey, linkedAt: 5 };

  it("verify under the account key that issued them and bind every field", () => {
    const sig = certifyDevice(account, cert);
    expect(verifyDeviceCertificate(account.publicKey, cert, sig)).toBe(true);
    // another account's key, or any field changed: a relay or a peer cannot reuse the signature
    expect(verifyDeviceCertificate(generateIdentityKeyPair().publicKey, cert, sig)).toBe(false);
    expect(verifyDeviceCertificate(account.publicKey, { ...cert, address: "instagram:alice" }, sig)).toBe(false);
    expect(verifyDeviceCertificate(account.publicKey, { ...cert, deviceId: "phone" }, sig)).toBe(false);
    expect(verifyDeviceCertificate(account.publicKey, { ...cert, identityKey: primary.publicKey }, sig)).toBe(false);
    expect(verifyDeviceCertificate(account.publicKey, { ...cert, linkedAt: 6 }, sig)).toBe(false);
    expect(verifyDeviceCertificate(account.publicKey, cert, flip(sig, 3))).toBe(false);
  });
});

describe("device lists", () => {
  it("open under the account key, sorted, with every device and key", () => {
    const opened = openDeviceList(account.publicKey, ALICE, signDeviceList(account, list(3)));
    expect(opened.version).toBe(3);
    expect(opened.devices.map((d) => d.deviceId)).toEqual(["laptop", "primary"]);
    expect(listedDevice(opened, "laptop", laptop.publicKey)).toBeDefined();
    // a device that is listed with another key is not that device
    expect(listedDevice(opened, "laptop", primary.publicKey)).toBeUndefined();
    expect(listedDevice(opened, "tablet", laptop.publicKey)).toBeUndefined();
  });

  it("refuse a list the account key did not sign: a relay that adds a device is caught", () => {
    const signed = signDeviceList(account, list(3));
    // the relay signs its own list (with a key of its own) naming its own device
    const injected = list(4, [...list(4).devices, { deviceId: "relay", identityKey: generateIdentityKeyPair().publicKey, linkedAt: 9 }]);
    expect(() => openDeviceList(account.publicKey, ALICE, signDeviceList(generateIdentityKeyPair(), injected))).toThrow(/not signed/);
    // or alters a byte of the real one
    for (const at of [30, signed.length - 70, signed.length - 1]) expect(() => openDeviceList(account.publicKey, ALICE, flip(signed, at))).toThrow();
  });

  it("refuse another account's list, even one its own key signed", () => {
    const bob = { ...list(1), address: "messenger:bob" };
    expect(() => openDeviceList(account.publicKey, ALICE, signDeviceList(account, bob))).toThrow(/another account/);
  });

  it("refuse duplicates, too many devices and none", () => {
    const d = list(1).devices[0];
    expect(() => signDeviceList(account, list(1, [d, d]))).toThrow(/duplicate/);
    const many = Array.from({ length: MAX_DEVICES + 1 }, (_, i) => ({ ...d, deviceId: `d${i}` }));
    expect(() => signDeviceList(account, list(1, many))).toThrow(/count/);
    expect(() => signDeviceList(account, list(1, []))).toThrow(/count/);
  });

  it("only grow: an older version is a rollback and one version has one content", () => {
    const v3 = openDeviceList(account.publicKey, ALICE, signDeviceList(account, list(3)));
    const known = acceptDeviceList(undefined, v3);
    expect(known.version).toBe(3);
    // the same list again is fine; a newer one replaces it
    expect(acceptDeviceList(known, v3).version).toBe(3);
    const v4 = list(4, [list(4).devices[0]]);
    expect(acceptDeviceList(known, v4).version).toBe(4);
    // a removed device cannot come back with an older list, nor with another list of the same version
    expect(() => acceptDeviceList(acceptDeviceList(known, v4), v3)).toThrow(/older/);
    expect(() => acceptDeviceList(known, { ...v3, devices: [v3.devices[0]] })).toThrow(/one version/);
  });
});

describe("provisioning", () => {
  it("round-trips to the device that showed the code, through its text form", async () => {
    const request = await createProvisioningRequest();
    const code = decodeProvisioningCode(encodeProvisioningCode(request));
    const plaintext = utf8("everything the new device needs");
    const sealed = await sealProvisioning(code, plaintext);
    expect(equalBytes(await openProvisioning(request, sealed), plaintext)).toBe(true);
    // fresh every time: nothing about the plaintext repeats
    expect(equalBytes(await sealProvisioning(code, plaintext), sealed)).toBe(false);
  });

  it("does not open for another code, another id with the same key, or altered bytes", async () => {
    const request = await createProvisioningRequest();
    const sealed = await sealProvisioning(request, utf8("secret"));
    const other = await createProvisioningRequest();
    await expect(openProvisioning(other, sealed)).rejects.toThrow();
    // the id binds too: the same key pair under another code's id
    await expect(openProvisioning({ ...request, id: other.id }, sealed)).rejects.toThrow();
    for (const at of [0, 5, 40, sealed.length - 1]) await expect(openProvisioning(request, flip(sealed, at))).rejects.toThrow();
  });

  it("refuses malformed codes", () => {
    expect(() => decodeProvisioningCode(new Uint8Array(10))).toThrow(/link code/);
    const code = encodeProvisioningCode({ id: new Uint8Array(16), publicKey: new Uint8Array(32).fill(9) });
    expect(() => decodeProvisioningCode(flip(code, 0))).toThrow(/link code/);
  });
});
