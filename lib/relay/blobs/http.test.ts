// Attachment blobs end to end against a real relay process: a token over the logged-in socket, the
// upload over HTTP in pieces with a resume after a broken request, ranged downloads, and every refusal.
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENTS } from "../../protocol";
import { call, TestDevice } from "../test/device";
import { type RelayProcess, startRelay } from "../test/relayProcess";
import { dropSchemas, postgresUnavailable, TEST_DATABASE_URL } from "../test/services";
import { describeMemory, MB, report, traceMemory } from "../test/hostile";
import { parseRange } from "./http";

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  expect(await relay.stop()).toBe(0);
});

let counter = 0;
async function device(): Promise<{ d: TestDevice; address: string }> {
  const address = `messenger:blob.${process.pid}.${++counter}`;
  const d = await new TestDevice(relay.url).signUp(address);
  return { d, address };
}

interface Grant {
  id: string;
  token: string;
  size: number;
  offset: number;
  tokenExpiresAt: number;
}

async function grant(d: TestDevice, payload: Record<string, unknown>): Promise<Grant> {
  const res = await call<Grant>(d.s, EVENTS.blobUpload, payload);
  if (!res.ok) throw new Error(`refused: ${res.error.code} ${res.error.message}`);
  return res;
}

function patch(id: string, token: string | null, offset: number, bytes: Uint8Array): Promise<Response> {
  const body = new Uint8Array(bytes);
  return fetch(`${relay.url}/blobs/${id}`, {
    method: "PATCH",
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
    body,
  });
}

/** Sends `sent` bytes of a body that claims `claimed`, then cuts the connection: a client that went away. */
function brokenPatch(id: string, token: string, offset: number, sent: Uint8Array, claimed: number): Promise<void> {
  return new Promise((done) => {
    const req = request(`${relay.url}/blobs/${id}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${token}`, "Upload-Offset": String(offset), "Content-Length": String(claimed) },
    });
    req.on("error", () => done());
    req.write(sent, () => setTimeout(() => {
      req.destroy();
      done();
    }, 300));
  });
}

async function uploadOffset(id: string, token: string): Promise<number> {
  const res = await fetch(`${relay.url}/blobs/${id}`, { method: "HEAD", headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return Number(res.headers.get("upload-offset"));
}

describe("blobs over HTTP", () => {
  it("uploads in pieces, resumes after a broken request, and serves whole and ranged downloads", async () => {
    const { d, address } = await device();
    const bytes = randomBytes(1024 * 1024 + 333);
    const g = await grant(d, { from: address, size: bytes.length });
    expect(g).toMatchObject({ size: bytes.length, offset: 0 });
    expect(g.id).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // not downloadable while incomplete
    expect((await fetch(`${relay.url}/blobs/${g.id}`)).status).toBe(404);
    const first = await patch(g.id, g.token, 0, bytes.subarray(0, 300_000));
    expect(first.status).toBe(204);
    expect(first.headers.get("upload-offset")).toBe("300000");

    // a request that breaks off after 200,000 more bytes keeps what arrived
    await brokenPatch(g.id, g.token, 300_000, bytes.subarray(300_000, 500_000), bytes.length - 300_000);
    // the relay records the broken request's bytes as it notices the break: a resuming client may ask
    // before that and is then sent to the older offset (409 below shows it is told the truth either way)
    let at = await uploadOffset(g.id, g.token);
    for (let i = 0; i < 50 && at === 300_000; i++) {
      await new Promise((r) => setTimeout(r, 100));
      at = await uploadOffset(g.id, g.token);
    }
    expect(at).toBeGreaterThan(300_000);
    expect(at).toBeLessThanOrEqual(500_000);

    // resuming from the wrong offset is told the right one
    const wrong = await patch(g.id, g.token, 300_000, bytes.subarray(300_000));
    expect(wrong.status).toBe(409);
    expect(Number(wrong.headers.get("upload-offset"))).toBe(at);

    const rest = await patch(g.id, g.token, at, bytes.subarray(at));
    expect(rest.status).toBe(204);
    expect(Number(rest.headers.get("upload-offset"))).toBe(bytes.length);

    const whole = await fetch(`${relay.url}/blobs/${g.id}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    expect(Buffer.compare(Buffer.from(await whole.arrayBuffer()), bytes)).toBe(0);

    const part = await fetch(`${relay.url}/blobs/${g.id}`, { headers: { Range: "bytes=1000-262999" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 1000-262999/${bytes.length}`);
    expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), bytes.subarray(1000, 263_000))).toBe(0);

    const tail = await fetch(`${relay.url}/blobs/${g.id}`, { headers: { Range: "bytes=-100" } });
    expect(Buffer.compare(Buffer.from(await tail.arrayBuffer()), bytes.subarray(bytes.length - 100))).toBe(0);
    const beyond = await fetch(`${relay.url}/blobs/${g.id}`, { headers: { Range: `bytes=${bytes.length}-` } });
    expect(beyond.status).toBe(416);

    // the token was spent by completing the upload
    expect((await patch(g.id, g.token, bytes.length, new Uint8Array(1))).status).toBe(401);
    d.disconnect();
  });

  it("holds a piece that comes early (two on the wire) until the one before it is stored; a second early one is told where to resume", async () => {
    const { d, address } = await device();
    const bytes = randomBytes(300_000);
    const g = await grant(d, { from: address, size: bytes.length });
    // the second piece arrives before the first and waits for it, unread
    const second = patch(g.id, g.token, 100_000, bytes.subarray(100_000, 200_000));
    await new Promise((r) => setTimeout(r, 300));
    // one early piece per blob at a time: another is told at once where the stored bytes end
    const third = await patch(g.id, g.token, 200_000, bytes.subarray(200_000));
    expect(third.status).toBe(409);
    expect(third.headers.get("upload-offset")).toBe("0");
    const first = await patch(g.id, g.token, 0, bytes.subarray(0, 100_000));
    expect(first.status).toBe(204);
    const held = await second;
    expect(held.status).toBe(204);
    expect(held.headers.get("upload-offset")).toBe("200000");
    expect((await patch(g.id, g.token, 200_000, bytes.subarray(200_000))).status).toBe(204);
    const whole = await fetch(`${relay.url}/blobs/${g.id}`);
    expect(Buffer.compare(Buffer.from(await whole.arrayBuffer()), bytes)).toBe(0);
    d.disconnect();
  });

  it("refuses uploads without the blob's own valid token, past the size, or before login", async () => {
    const { d, address } = await device();
    const a = await grant(d, { from: address, size: 1000 });
    const b = await grant(d, { from: address, size: 1000 });
    expect((await patch(a.id, null, 0, new Uint8Array(10))).status).toBe(401);
    // b's token does not open a
    expect((await patch(a.id, b.token, 0, new Uint8Array(10))).status).toBe(401);
    const over = await patch(a.id, a.token, 0, new Uint8Array(1001));
    expect(over.status).toBe(413);
    // nothing of the refused body was kept
    expect(await uploadOffset(a.id, a.token)).toBe(0);
    expect((await fetch(`${relay.url}/blobs/${"A".repeat(43)}`)).status).toBe(404);
    expect((await fetch(`${relay.url}/blobs/../../relay.sqlite`)).status).toBe(404);
    expect((await fetch(`${relay.url}/blobs/${a.id}`, { method: "DELETE" })).status).toBe(405);

    // someone else's address, a size past the cap, and a socket that never logged in
    const other = await device();
    expect(await call(d.s, EVENTS.blobUpload, { from: other.address, size: 10 })).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    expect(await call(d.s, EVENTS.blobUpload, { from: address, size: 200 * 1024 * 1024 })).toMatchObject({ ok: false, error: { code: "bad_request" } });
    const stranger = new TestDevice(relay.url);
    await stranger.connect();
    expect(await call(stranger.s, EVENTS.blobUpload, { from: address, size: 10 })).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    // only the device that began an upload may resume it
    expect(await call(other.d.s, EVENTS.blobUpload, { from: other.address, resume: a.id })).toMatchObject({ ok: false, error: { code: "not_found" } });
    const again = await grant(d, { from: address, resume: a.id });
    expect(again).toMatchObject({ id: a.id, offset: 0, size: 1000 });
    // the renewed token replaces the old one
    expect((await patch(a.id, a.token, 0, new Uint8Array(10))).status).toBe(401);
    expect((await patch(a.id, again.token, 0, new Uint8Array(1000))).status).toBe(204);
    // whole now: a resume says there is nothing left to send, and its token appends nothing
    const whole = await grant(d, { from: address, resume: a.id });
    expect(whole).toMatchObject({ id: a.id, offset: 1000, size: 1000 });
    expect((await patch(a.id, whole.token, 1000, new Uint8Array(10))).status).toBe(401);
    expect((await patch(a.id, whole.token, 0, new Uint8Array(10))).status).toBe(401);
    expect((await fetch(`${relay.url}/blobs/${a.id}`)).headers.get("content-length")).toBe("1000");
    // and still only for the device that began it
    expect(await call(other.d.s, EVENTS.blobUpload, { from: other.address, resume: a.id })).toMatchObject({ ok: false, error: { code: "not_found" } });
    stranger.disconnect();
    other.d.disconnect();
    d.disconnect();
  });
});

/** Uploads `size` bytes as a stream (never whole in this process either), downloads them, and compares digests. */
async function roundTrip(d: TestDevice, address: string, size: number): Promise<void> {
  const g = await grant(d, { from: address, size });
  const piece = randomBytes(256 * 1024);
  const sent = createHash("sha256");
  let made = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (made >= size) return controller.close();
      // each piece differs (its first bytes count), so a store that mixed pieces up would show
      const chunk = Buffer.from(piece.subarray(0, Math.min(piece.length, size - made)));
      chunk.writeUInt32BE(made / piece.length, 0);
      sent.update(chunk);
      made += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const res = await fetch(`${relay.url}/blobs/${g.id}`, {
    method: "PATCH",
    headers: { Authorization: `Bearer ${g.token}`, "Upload-Offset": "0" },
    body,
    duplex: "half",
  } as RequestInit);
  expect(res.status).toBe(204);
  const down = await fetch(`${relay.url}/blobs/${g.id}`);
  const got = createHash("sha256");
  let bytes = 0;
  for await (const chunk of down.body as unknown as AsyncIterable<Uint8Array>) {
    got.update(chunk);
    bytes += chunk.length;
  }
  expect(bytes).toBe(size);
  expect(got.digest("hex")).toBe(sent.digest("hex"));
}

describe("blobs in bounded memory", () => {
  it("streams a 96 MiB upload to storage and back without holding it", async () => {
    const { d, address } = await device();
    // the first transfer warms the relay's HTTP path up (a fixed ~30 MB here whatever the size)
    await roundTrip(d, address, 8 * MB);
    const size = 96 * MB;
    const { memory } = await traceMemory(relay.child.pid as number, () => roundTrip(d, address, size));
    report(describeMemory("96 MiB blob up and down", memory));
    // a relay that buffered the blob would grow by at least its size (12–17 MB is usual; a loaded machine
    // collects garbage later, so the bound leaves room for that and still catches a buffered blob)
    expect(memory.peak - memory.baseline).toBeLessThan(size / 2);
    d.disconnect();
  });
});

const pgReason = await postgresUnavailable();
const describePg = pgReason === null ? describe : describe.skip;
describePg(pgReason === null ? "blobs across relay nodes on postgres" : `blobs across relay nodes (skipped: no Postgres: ${pgReason})`, () => {
  const schema = `blobs_http_${process.pid}_${Date.now().toString(36)}`;
  const nodes: RelayProcess[] = [];
  beforeAll(async () => {
    const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema };
    nodes.push(await startRelay({ env }));
    nodes.push(await startRelay({ env }));
  });
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await dropSchemas([schema]);
  });

  it("takes an upload on one node, its resume on the other, and serves it from both", async () => {
    const [a, b] = nodes as [RelayProcess, RelayProcess];
    const address = `messenger:blobnode.${process.pid}.${++counter}`;
    const d = await new TestDevice(a.url).signUp(address);
    const bytes = randomBytes(600 * 1024);
    const g = await grant(d, { from: address, size: bytes.length });
    const put = (url: string, offset: number, bytes: Uint8Array) =>
      fetch(`${url}/blobs/${g.id}`, { method: "PATCH", headers: { Authorization: `Bearer ${g.token}`, "Upload-Offset": String(offset) }, body: new Uint8Array(bytes) });
    expect((await put(a.url, 0, bytes.subarray(0, 262_144))).status).toBe(204);
    const head = await fetch(`${b.url}/blobs/${g.id}`, { method: "HEAD", headers: { Authorization: `Bearer ${g.token}` } });
    expect(head.headers.get("upload-offset")).toBe("262144");
    expect((await put(b.url, 262_144, bytes.subarray(262_144))).status).toBe(204);
    for (const node of [a, b]) {
      const res = await fetch(`${node.url}/blobs/${g.id}`, { headers: { Range: "bytes=100000-" } });
      expect(res.status).toBe(206);
      expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), bytes.subarray(100_000))).toBe(0);
    }
    d.disconnect();
  });
});

describe("parseRange", () => {
  it("reads single byte ranges and refuses what cannot be served", () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange("bytes=0-9", 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=90-", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=90-500", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-10", 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange("bytes=-500", 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange("bytes=100-", 100)).toBe("unsatisfiable");
    expect(parseRange("bytes=5-4", 100)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 100)).toBe("unsatisfiable");
    // several ranges or another unit: the whole blob
    expect(parseRange("bytes=0-1,5-6", 100)).toBeNull();
    expect(parseRange("items=0-1", 100)).toBeNull();
  });
});
