// The per-request Content-Security-Policy. Next reads the nonce from the request's CSP header and
// puts it on its own inline scripts; 'strict-dynamic' then trusts what those scripts load.
import { randomBytes } from "node:crypto";

export function newNonce(): string {
  return randomBytes(16).toString("base64");
}

export function contentSecurityPolicy(nonce: string, dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    // decrypted voice notes play from object URLs
    "media-src 'self' blob:",
    // 'self' covers the page's own ws: and wss: origin (CSP Level 3); nothing else is reachable.
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join("; ");
}
