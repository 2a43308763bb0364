// A fresh attachment key: 32 bytes from the platform's CSPRNG (WebCrypto, in the worker and in Node).
export function attachmentKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}
