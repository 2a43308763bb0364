// What a device signs with its auth key to log in: domain-separated, bound to the nonce and device.
const DOMAIN = new TextEncoder().encode("junction/login/v1\0");

export function loginMessage(nonce: Uint8Array, deviceId: string): Uint8Array {
  const id = new TextEncoder().encode(deviceId);
  const out = new Uint8Array(DOMAIN.length + nonce.length + 1 + id.length);
  out.set(DOMAIN, 0);
  out.set(nonce, DOMAIN.length);
  out[DOMAIN.length + nonce.length] = 0;
  out.set(id, DOMAIN.length + nonce.length + 1);
  return out;
}
