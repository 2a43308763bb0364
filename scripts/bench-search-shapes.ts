// `node --import tsx scripts/bench-search-shapes.ts [messages]`: the measurement behind the search index's
// shape (docs/BENCHMARKS.md, "Search index"). In headless Chromium's IndexedDB, the same messages indexed
// two ways:
//   A. one row per message { sentAt, id, tokens[] }, key [sentAt+id], a multi-entry index on tokens;
//   B. one row per (word, message) posting { token, sentAt, id }, key [token+sentAt+id].
// It reports the write cost per message (in transactions of 500, as a receive batch writes), a one-word
// and a prefix query (the newest 1,000 matching keys, as lib/engine/search.ts reads them) and the storage
// each took. The words are tokenised the same trivial way for both: only IndexedDB's share differs.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { launch } from "./bench-client/app";

interface ShapeFigures {
  writeMsPerThousand: number;
  oneWordMs: number;
  prefixMs: number;
  bytes: number;
}

async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 50_000);
  const server = createServer((_, res) => {
    res.setHeader("content-type", "text/html");
    res.end("<!doctype html><title>shapes</title>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    // tsx keeps function names with a helper the page lacks
    await page.evaluate("globalThis.__name = (f) => f");
    const figures = await page.evaluate(async (count: number) => {
      const words = ["ok", "see you", "tomorrow", "at the station", "did you get the photos", "haha", "sounds good", "running late", "can you call me",
        "the meeting moved to 3", "thanks!", "where are you", "on my way", "let me check and get back to you", "happy birthday", "lunch?", "I'll bring the keys", "love it"];
      const rows = Array.from({ length: count }, (_, i) => {
        const parts: string[] = [];
        for (let k = 0; k <= i % 4; k++) parts.push(words[(i * 7 + k * 5) % words.length] ?? "ok");
        const tokens = [...new Set(parts.join(" ").toLowerCase().split(/[^\p{L}\p{N}']+/u).filter(Boolean))];
        return { sentAt: 1_700_000_000_000 + i * 1000, id: `m${i.toString(36).padStart(8, "0")}`, tokens };
      });
      const open = (name: string, create: (db: IDBDatabase) => void) =>
        new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open(name, 1);
          req.onupgradeneeded = () => create(req.result);
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      const done = (tx: IDBTransaction) =>
        new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        });
      const usage = async () => (await navigator.storage.estimate()).usage ?? 0;
      const newest = (source: IDBObjectStore | IDBIndex, range: IDBKeyRange, cap: number) =>
        new Promise<number>((resolve, reject) => {
          let n = 0;
          const req = source.openKeyCursor(range, "prev");
          req.onsuccess = () => {
            const c = req.result;
            if (!c || ++n >= cap) resolve(n);
            else c.continue();
          };
          req.onerror = () => reject(req.error);
        });
      const newestInBlocks = (source: IDBIndex, range: IDBKeyRange, word: string, prefix: boolean, cap: number) =>
        new Promise<number>((resolve, reject) => {
          let n = 0;
          const seen = new Set<string>();
          const req = source.openCursor(range, "prev");
          req.onsuccess = () => {
            const c = req.result;
            if (!c) return resolve(n);
            const block = c.value as { receivedAt: number; tokens: string[]; words: number[][] };
            const key = String(block.receivedAt);
            if (!seen.has(key)) {
              seen.add(key);
              const hit = new Set<number>();
              block.tokens.forEach((t, i) => {
                if (prefix ? t.startsWith(word) : t === word) hit.add(i);
              });
              for (const w of block.words) if (w.some((i) => hit.has(i))) n += 1;
            }
            if (n >= cap) resolve(n);
            else c.continue();
          };
          req.onerror = () => reject(req.error);
        });
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

      const shapes = {
        A: {
          create: (db: IDBDatabase) => db.createObjectStore("s", { keyPath: ["sentAt", "id"] }).createIndex("tokens", "tokens", { multiEntry: true }),
          write: (store: IDBObjectStore, r: (typeof rows)[number]) => void store.put(r),
          source: (tx: IDBTransaction) => tx.objectStore("s").index("tokens"),
          range: (word: string, prefix: boolean) => (prefix ? IDBKeyRange.bound(word, `${word}\uffff`) : IDBKeyRange.only(word)),
        },
        B: {
          create: (db: IDBDatabase) => db.createObjectStore("s", { keyPath: ["token", "sentAt", "id"] }),
          write: (store: IDBObjectStore, r: (typeof rows)[number]) => {
            for (const token of r.tokens) store.put({ token, sentAt: r.sentAt, id: r.id });
          },
          source: (tx: IDBTransaction) => tx.objectStore("s"),
          range: (word: string, prefix: boolean) => (prefix ? IDBKeyRange.bound([word], [`${word}\uffff`]) : IDBKeyRange.bound([word], [word, []])),
        },
        C: {
          create: (db: IDBDatabase) => db.createObjectStore("s", { keyPath: "receivedAt" }).createIndex("tokens", "tokens", { multiEntry: true }),
          write: () => undefined,
          writeBatch: (store: IDBObjectStore, batch: (typeof rows)[number][]) => {
            // blocks of up to 200 messages, as a receive commit stores a backlog batch
            for (let b = 0; b < batch.length; b += 200) {
              const part = batch.slice(b, b + 200);
              const tokens = [...new Set(part.flatMap((r) => r.tokens))];
              const at = new Map(tokens.map((t, i) => [t, i]));
              store.put({
                receivedAt: part[0]?.sentAt ?? 0,
                tokens,
                ids: part.map((r) => r.id),
                sentAts: part.map((r) => r.sentAt),
                words: part.map((r) => r.tokens.map((t) => at.get(t) ?? 0)),
              });
            }
          },
          source: (tx: IDBTransaction) => tx.objectStore("s").index("tokens"),
          range: (word: string, prefix: boolean) => (prefix ? IDBKeyRange.bound(word, `${word}\uffff`) : IDBKeyRange.only(word)),
          // the matching messages are inside the blocks: read blocks until 1,000 messages match
          values: true,
        },
      };
      const out: Record<string, { writeMsPerThousand: number; oneWordMs: number; prefixMs: number; bytes: number }> = {};
      for (const [name, shape] of Object.entries(shapes)) {
        const before = await usage();
        const db = await open(`shape-${name}`, shape.create);
        const started = performance.now();
        for (let i = 0; i < rows.length; i += 500) {
          const tx = db.transaction("s", "readwrite");
          const store = tx.objectStore("s");
          const batch = rows.slice(i, i + 500);
          if ("writeBatch" in shape) shape.writeBatch(store, batch);
          else for (const r of batch) shape.write(store, r);
          await done(tx);
        }
        const writeMs = performance.now() - started;
        const time = async (word: string, prefix: boolean) => {
          const runs: number[] = [];
          for (let k = 0; k < 9; k++) {
            const t = performance.now();
            const tx = db.transaction("s", "readonly");
            if ("values" in shape) await newestInBlocks(shape.source(tx) as IDBIndex, shape.range(word, prefix), word, prefix, 1_000);
            else await newest(shape.source(tx), shape.range(word, prefix), 1_000);
            runs.push(performance.now() - t);
          }
          return median(runs);
        };
        out[name] = { writeMsPerThousand: (writeMs / rows.length) * 1000, oneWordMs: await time("photos", false), prefixMs: await time("birt", true), bytes: (await usage()) - before };
        db.close();
      }
      return out;
    }, messages);
    process.stdout.write(`${messages} messages\n`);
    for (const [name, f] of Object.entries(figures) as [string, ShapeFigures][]) {
      process.stdout.write(
        `${name}: write ${f.writeMsPerThousand.toFixed(1)} ms per 1,000 messages; one word ${f.oneWordMs.toFixed(1)} ms; prefix ${f.prefixMs.toFixed(1)} ms; storage ${Math.round(f.bytes / 1024)} KiB\n`,
      );
    }
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
