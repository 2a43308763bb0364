import { chromium } from "@playwright/test";
import { createServer } from "node:http";
import { join } from "node:path";
const { CHROMIUM_PATH, CHROMIUM_ARGS } = await import(join(process.cwd(), "e2e/env.ts"));
const workerA = `
let port, pending;
onmessage = async (e) => {
  if (e.data.port) { port = e.data.port; port.onmessage = (m) => pending(m.data); return; }
  const mode = e.data.mode; const n = 100; const size = 512*1024+128;
  const bufs = [new Uint8Array(size), new Uint8Array(size)]; let post = 0; const t0 = performance.now();
  const views = [];
  for (let i = 0; i < n; i++) {
    let buf = bufs.pop(); while (!buf) { await new Promise((r) => setTimeout(r, 0)); buf = bufs.pop(); }
    if (mode === "u32") { for (let o = 0; o < size - 65552; o += 65552) { const v = new Uint32Array(buf.buffer, o, 16); v[0] ^= 1; views.push(v); } }
    if (mode === "sub") { for (let o = 0; o < size - 65552; o += 65552) { const v = buf.subarray(o, o + 65552); v[0] ^= 1; views.push(v); } }
    const t = performance.now();
    const got = new Promise((r) => pending = r);
    port.postMessage({ op: "push", stream: 0, seq: i, bytes: buf }, [buf.buffer]);
    post += performance.now() - t;
    got.then((d) => bufs.push(d.bytes));
    if (bufs.length === 0) await got;
  }
  postMessage({ mode, post, total: performance.now() - t0 });
};
`;
const workerB = `onmessage = (e) => { const port = e.data.port; port.onmessage = async (m) => { const b = m.data.bytes;
  const ds = []; for (let o = 0; o < b.length; o += 65552) ds.push(crypto.subtle.digest("SHA-256", b.subarray(o, Math.min(b.length, o + 65552))));
  const blob = new Blob([b]); const leaves = (await Promise.all(ds)).map((d) => new Uint8Array(d));
  port.postMessage({ seq: 1, ok: true, leaves, blob, bytes: b }, [b.buffer, ...leaves.map((l) => l.buffer)]); }; };`;
const srv = createServer((req, res) => {
  if (req.url === "/a.js") { res.setHeader("content-type", "text/javascript"); return res.end(workerA); }
  if (req.url === "/b.js") { res.setHeader("content-type", "text/javascript"); return res.end(workerB); }
  res.setHeader("content-type", "text/html"); res.end("<html></html>");
}).listen(0);
await new Promise((r) => srv.on("listening", r));
const browser = await chromium.launch({ headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
const page = await browser.newPage();
await page.goto(`http://localhost:${(srv.address() as any).port}/`);
console.log(JSON.stringify(await page.evaluate(async () => {
  const a = new Worker("/a.js"), b = new Worker("/b.js");
  const ch = new MessageChannel();
  a.postMessage({ port: ch.port1 }, [ch.port1]); b.postMessage({ port: ch.port2 }, [ch.port2]);
  const res: unknown[] = [];
  for (const mode of ["plain", "u32", "sub", "plain", "u32", "sub"]) { a.postMessage({ mode }); res.push(await new Promise((r) => (a.onmessage = (e) => r(e.data)))); }
  return res;
})));
await browser.close(); srv.close();
