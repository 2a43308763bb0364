// `npm run bench:history [-- --json] [--messages N] [--media MB]`: history transfer to a newly linked device, with real
// engines (fake-indexeddb in Node) against a real relay process (see docs/BENCHMARKS.md). Alice's primary
// holds N messages (default 10,000) in 40 conversations, with reactions, replies and read states; a second
// engine is linked to her account by code (history left out of the link itself), then the archive is
// timed both ways:
//   - export + upload: read the store, encode the archive, encrypt and upload it to the relay's blob store
//   - download + import: download, decrypt and check it, then import it in batches (search index included)
// in messages/s and MB/s of archive, and then with photos and files ("Include photos and files": --media MB
// of attachments, 2 MB each, default 20): the primary's upload of media + archive, and the new device's
// transfer runner downloading the media (decrypt, check, store in pieces), in MB/s of media;
// beside the bare ChaCha20-Poly1305 rate over 64 KiB chunks in the same
// process (what the archive's encryption uses): the ratio says how much of the time is the cipher.
// Progress goes to stderr; the table (or, with --json, one JSON object) to stdout.
import "fake-indexeddb/auto";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { startRelay } from "../lib/relay/test/relayProcess";
import { aliceAndBob, makeBoot, waitFor, type Client } from "../lib/engine/testClients";
import { randomId } from "../lib/store/ids";
import type { Address } from "../lib/brands";
import type { ConversationRow, MessageRow } from "../lib/store/db";
import { downloadHistory, uploadHistory } from "../lib/engine/history/transfer";
import { buildArchive } from "../lib/engine/history/archive";

const MB = 1_000_000;
const CHUNK = 64 * 1024;
const CONVERSATIONS = 40;

function parseArgs(argv: string[]): { json: boolean; messages: number; media: number } {
  const opts = { json: false, messages: 10_000, media: 20 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--json") opts.json = true;
    else if (argv[i] === "--messages") opts.messages = Number(argv[++i]);
    else if (argv[i] === "--media") opts.media = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}; use --json, --messages N, --media MB`);
  }
  if (!(Number.isInteger(opts.messages) && opts.messages > 0)) throw new Error("--messages takes a positive integer");
  if (!(Number.isInteger(opts.media) && opts.media >= 0)) throw new Error("--media takes a whole number of MB");
  return opts;
}

const MEDIA_FILE = 2 * MB;

/** `mb` MB of photos Alice holds, 2 MB each, as attachment messages with their media rows (as if she had sent them). */
async function seedMedia(alice: Client, aliceAddr: Address, mb: number): Promise<string[]> {
  const conv = (await alice.db.conversations.toArray()).find((c) => c.ourAddress === aliceAddr)!;
  const ids: string[] = [];
  const now = Date.now();
  for (let i = 0; i < Math.ceil((mb * MB) / MEDIA_FILE); i++) {
    const id = `bench-media-${i}-${randomId()}`;
    const bytes = new Uint8Array(randomBytes(MEDIA_FILE));
    await alice.db.messages.put({ id, conversationId: conv.id, direction: "out", author: aliceAddr, text: "", sentAt: now - 1000 + i, receivedAt: now, state: "read", sentToRelayAt: now, deliveredAt: now, kind: "attachment", attachment: { name: `photo-${i}.jpg`, mime: "image/jpeg", size: MEDIA_FILE } });
    await alice.db.media.put({ messageId: id, conversationId: conv.id, blob: new Blob([bytes], { type: "image/jpeg" }), size: MEDIA_FILE, storedAt: now });
    ids.push(id);
  }
  return ids;
}

const WORDS = "the harbour lights came on early tonight and we walked along the pier talking about the trip next summer".split(" ");

/** A chat-like text: mostly short, some long. */
function text(i: number): string {
  const n = i % 10 === 0 ? 60 : 3 + (i % 14);
  return Array.from({ length: n }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]).join(" ");
}

/** N messages over CONVERSATIONS conversations of Alice's, written straight into her store. */
async function seed(alice: Client, aliceAddr: Address, n: number): Promise<void> {
  const now = Date.now();
  const start = now - 30 * 86_400_000;
  const convs: ConversationRow[] = Array.from({ length: CONVERSATIONS }, (_, c) => {
    const theirAddress = `whatsapp:+1555${String(9_000_000 + c)}` as Address;
    return { id: `${aliceAddr}|${theirAddress}`, ourAddress: aliceAddr, theirAddress, ourBrand: "messenger", theirBrand: "whatsapp", lastActivity: now - c, lastMessageId: null, lastPreview: text(c), lastDirection: "in", lastState: null, unread: c % 3, hasUnread: c % 3 ? 1 : 0, createdAt: start };
  });
  await alice.db.conversations.bulkPut(convs);
  for (let i = 0; i < n; i += 1000) {
    const rows: MessageRow[] = [];
    for (let k = i; k < Math.min(n, i + 1000); k++) {
      const conv = convs[k % CONVERSATIONS];
      const out = k % 2 === 1;
      rows.push({
        id: `bench-${k}-${randomId()}`,
        conversationId: conv.id,
        direction: out ? "out" : "in",
        author: out ? aliceAddr : conv.theirAddress,
        text: text(k),
        sentAt: start + k * 200,
        receivedAt: start + k * 200,
        state: out ? "read" : "delivered",
        sentToRelayAt: out ? start + k * 200 : null,
        deliveredAt: out ? start + k * 200 : null,
        ...(out ? { readAt: start + k * 200 + 5000 } : {}),
        ...(k % 9 === 0 ? { reactions: [{ by: conv.theirAddress, emoji: "❤️", at: start + k * 200 + 1000 }] } : {}),
      });
    }
    await alice.db.messages.bulkPut(rows);
  }
}

/** The bare AEAD rate: MB/s sealing then opening `bytes` in 64 KiB chunks (a warm-up first). */
function aeadRate(bytes: number): { seal: number; open: number } {
  const data = crypto.getRandomValues(new Uint8Array(CHUNK));
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = new Uint8Array(12);
  const n = Math.max(1, Math.ceil(bytes / CHUNK));
  const run = () => {
    let t = performance.now();
    let sealed = data;
    for (let i = 0; i < n; i++) sealed = chacha20poly1305(key, nonce).encrypt(data);
    const seal = (n * CHUNK) / MB / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < n; i++) chacha20poly1305(key, nonce).decrypt(sealed);
    const open = (n * CHUNK) / MB / ((performance.now() - t) / 1000);
    return { seal, open };
  };
  run();
  return run();
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const relay = await startRelay({ env: { LOG_LEVEL: "warn" } });
  const boot = makeBoot(() => relay.url);
  const clients: Client[] = [];
  try {
    const { alice, bob, aliceAddr } = await aliceAndBob(boot);
    clients.push(alice, bob);
    const address = aliceAddr as Address;
    log(`seeding ${opts.messages} messages…`);
    await seed(alice, address, opts.messages);
    const laptop = boot();
    clients.push(laptop);
    await waitFor(async () => laptop.sockets.some((s) => s.connected), "laptop connected");
    const { code } = await laptop.api.startLink({ name: "Bench laptop" });
    const asked = await alice.api.linkDevice({ code });
    await alice.api.confirmLink({ linkId: asked.linkId, confirm: true, history: false });
    await waitFor(async () => (await laptop.db.accounts.get(address)) !== undefined, "the laptop linked");
    const blobs = { baseUrl: relay.url };

    log("export + upload…");
    let t = performance.now();
    const built = await buildArchive(alice.db, [address], Date.now());
    const buildMs = performance.now() - t;
    t = performance.now();
    const { offer } = await uploadHistory(alice.engine.context, blobs, address, [address]);
    const exportUploadMs = performance.now() - t;
    log("download + import…");
    let downloadMs = 0;
    t = performance.now();
    const counts = await downloadHistory(laptop.engine.context, blobs, offer, [address], (phase) => {
      if (phase === "importing" && downloadMs === 0) downloadMs = performance.now() - t;
    });
    const downloadImportMs = performance.now() - t;
    if (counts.messages !== opts.messages) throw new Error(`imported ${counts.messages} of ${opts.messages} messages`);
    const archiveMB = offer.size / MB;
    const aead = aeadRate(offer.size);
    const rate = (ms: number) => ({ ms: Math.round(ms), messagesPerSecond: Math.round(opts.messages / (ms / 1000)), mbPerSecond: +(archiveMB / (ms / 1000)).toFixed(2) });
    // photos and files: uploaded with the archive by the primary, then downloaded by the new device's runner
    let media: { mb: number; files: number; uploadMs: number; uploadMBps: number; downloadMs: number; downloadMBps: number } | null = null;
    if (opts.media > 0) {
      log(`media: ${opts.media} MB…`);
      const ids = await seedMedia(alice, address, opts.media);
      const mediaMB = (ids.length * MEDIA_FILE) / MB;
      t = performance.now();
      const uploaded = await uploadHistory(alice.engine.context, blobs, address, [address], undefined, undefined, { media: true });
      const uploadMs = performance.now() - t;
      if (uploaded.media.count !== ids.length) throw new Error(`sent ${uploaded.media.count} of ${ids.length} files`);
      const withMedia = await downloadHistory(laptop.engine.context, blobs, uploaded.offer, [address]);
      t = performance.now();
      laptop.engine.transfers.kick();
      await waitFor(async () => (await laptop.db.media.count()) === withMedia.media.length || undefined, "the media downloaded", 600_000);
      const downloadMs = performance.now() - t;
      media = {
        mb: mediaMB,
        files: ids.length,
        uploadMs: Math.round(uploadMs),
        // the archive went again with it: its bytes count too
        uploadMBps: +((mediaMB + uploaded.offer.size / MB) / (uploadMs / 1000)).toFixed(2),
        downloadMs: Math.round(downloadMs),
        downloadMBps: +(mediaMB / (downloadMs / 1000)).toFixed(2),
      };
    }
    const result = {
      media,
      messages: opts.messages,
      archiveBytes: offer.size,
      bytesPerMessage: Math.round(offer.size / opts.messages),
      exportUpload: rate(exportUploadMs),
      exportOnly: rate(buildMs),
      downloadImport: rate(downloadImportMs),
      downloadOnly: rate(downloadMs),
      importOnly: rate(downloadImportMs - downloadMs),
      aeadMBps: { seal: +aead.seal.toFixed(1), open: +aead.open.toFixed(1) },
      ratioToAead: { exportUpload: +(rate(exportUploadMs).mbPerSecond / aead.seal).toFixed(3), downloadImport: +(rate(downloadImportMs).mbPerSecond / aead.open).toFixed(3) },
      loadAverage: loadavg().map((l) => +l.toFixed(2)),
      builtBytes: built.bytes.length,
    };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const row = (name: string, r: { ms: number; messagesPerSecond: number; mbPerSecond: number }) => `| ${name} | ${r.ms} | ${r.messagesPerSecond} | ${r.mbPerSecond} |`;
    process.stdout.write(
      [
        `History transfer: ${opts.messages} messages, archive ${archiveMB.toFixed(2)} MB (${result.bytesPerMessage} B a message); load average ${result.loadAverage.join(" ")}`,
        "",
        "| step | ms | messages/s | MB/s |",
        "|---|---|---|---|",
        row("export + upload", result.exportUpload),
        row("  of which export (read + encode)", result.exportOnly),
        row("download + import", result.downloadImport),
        row("  of which download + decrypt", result.downloadOnly),
        row("  of which import (batches of 400)", result.importOnly),
        "",
        `bare ChaCha20-Poly1305, 64 KiB chunks, same process: seal ${result.aeadMBps.seal} MB/s, open ${result.aeadMBps.open} MB/s`,
        `ratio to the bare AEAD: export + upload ${result.ratioToAead.exportUpload}, download + import ${result.ratioToAead.downloadImport}`,
        ...(media
          ? [
              "",
              `With photos and files: ${media.files} files, ${media.mb} MB`,
              `primary, media + archive encrypted and uploaded: ${media.uploadMs} ms, ${media.uploadMBps} MB/s (ratio to the bare AEAD seal ${+(media.uploadMBps / aead.seal).toFixed(3)})`,
              `new device, media downloaded by the transfer runner (decrypt, check, store): ${media.downloadMs} ms, ${media.downloadMBps} MB/s (ratio to the bare AEAD open ${+(media.downloadMBps / aead.open).toFixed(3)})`,
            ]
          : []),
        "",
      ].join("\n"),
    );
  } finally {
    for (const c of clients) await c.engine.stop().catch(() => undefined);
    await relay.stop();
  }
}

await main();
