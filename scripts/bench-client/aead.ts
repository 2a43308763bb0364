// The bare AEAD in a worker of a page: the same run's reference for what the app's own crypto could reach
// (bench:media's ratios) and for how fast this machine's cores run just now (bench:client's backlog).
import type { Page } from "@playwright/test";
import { build } from "esbuild";
import { ROOT } from "./server";

export const MB = 1_000_000;
const CHUNK = 64 * 1024;

/** The bare AEAD loop, bundled for a worker of the page: MB/s sealing and opening `bytes` in 64 KiB chunks. */
export async function aeadWorkerSource(): Promise<string> {
  const out = await build({
    stdin: {
      contents: `
        import { chacha20poly1305, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
        self.onmessage = (e) => {
          const { bytes, chunk } = e.data;
          const data = crypto.getRandomValues(new Uint8Array(chunk));
          const key = crypto.getRandomValues(new Uint8Array(32));
          let n = Math.ceil(bytes / chunk);
          const run = (make, nonceBytes) => {
            const nonce = new Uint8Array(nonceBytes);
            let t = performance.now();
            let sealed;
            for (let i = 0; i < n; i++) {
              new DataView(nonce.buffer).setUint32(0, i);
              sealed = make(key, nonce).encrypt(data);
            }
            const seal = (n * chunk) / MB / ((performance.now() - t) / 1000);
            t = performance.now();
            for (let i = 0; i < n; i++) make(key, nonce).decrypt(sealed);
            const open = (n * chunk) / MB / ((performance.now() - t) / 1000);
            return { seal, open };
          };
          const MB = ${MB};
          // a warm-up (a tenth of the bytes), so neither is measured cold
          const all = n;
          n = Math.max(1, Math.ceil(all / 10));
          run(xchacha20poly1305, 24);
          run(chacha20poly1305, 12);
          n = all;
          self.postMessage({ xchacha: run(xchacha20poly1305, 24), chacha: run(chacha20poly1305, 12) });
        };`,
      resolveDir: ROOT,
      loader: "js",
    },
    bundle: true,
    format: "iife",
    write: false,
    minify: true,
  });
  return out.outputFiles[0].text;
}

export interface AeadRates {
  xchacha: { seal: number; open: number };
  chacha: { seal: number; open: number };
}

/** The median of each rate over several runs of the bare AEAD (one before each transfer, one after both). */
export function medianRates(runs: AeadRates[]): AeadRates {
  const median = (pick: (r: AeadRates) => number) => {
    const v = runs.map(pick).sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  return {
    xchacha: { seal: median((r) => r.xchacha.seal), open: median((r) => r.xchacha.open) },
    chacha: { seal: median((r) => r.chacha.seal), open: median((r) => r.chacha.open) },
  };
}

export async function bareAead(page: Page, source: string, bytes: number): Promise<AeadRates> {
  return page.evaluate(
    ({ source, bytes, chunk }) =>
      new Promise<AeadRates>((resolve, reject) => {
        const w = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), { name: "bench-aead" });
        w.onmessage = (e) => {
          w.terminate();
          resolve(e.data as AeadRates);
        };
        w.onerror = (e) => reject(new Error(e.message));
        w.postMessage({ bytes, chunk });
      }),
    { source, bytes, chunk: CHUNK },
  );
}
