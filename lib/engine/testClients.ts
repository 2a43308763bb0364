// Test clients: real engines, each with its own IndexedDB (fake-indexeddb), against a real relay process.
import { io } from "socket.io-client";
import { JunctionDB, type MessageRow } from "../store/db";
import { randomId } from "../store/ids";
import { Engine } from "./engine";
import { leaderHandlers } from "./api";
import { request, type RelaySocket } from "./relay";
import { deserializeSession, encrypt, serializeSession } from "../crypto";
import { EVENTS, toB64, type Address } from "./deps";
import { sessionKey } from "../store/ids";
import type { RpcHandlers } from "../worker/rpc";

export interface Client {
  db: JunctionDB;
  engine: Engine;
  api: RpcHandlers;
  sockets: RelaySocket[];
  online: boolean;
}

/** Starts an engine on `db` (a fresh one unless given: a restart reuses the same database). */
/** Returns a `boot` that starts engines against the relay at `url()`. */
export function makeBoot(url: () => string) {
  return function boot(db = new JunctionDB(`test-${randomId()}`), patch?: (socket: RelaySocket) => void, blobFetch?: (input: string, init?: RequestInit) => Promise<Response>): Client {
  const client = { db, sockets: [] as RelaySocket[], online: false } as Client;
  client.engine = new Engine({
    db,
    connect: () => {
      const socket = io(url(), { transports: ["websocket"], autoConnect: false, forceNew: true, reconnectionDelayMax: 500 }) as RelaySocket;
      patch?.(socket);
      client.sockets.push(socket);
      return socket;
    },
    onStatus: (online) => {
      client.online = online;
    },
    blobs: { baseUrl: url(), fetch: blobFetch },
  });
  client.api = leaderHandlers(client.engine, {
    db,
    now: () => Date.now(),
    status: () => ({ online: client.engine.isOnline, leader: true }),
    poke: () => client.engine.poke(),
  });
  client.engine.start();
  return client;
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function messagesOf(db: JunctionDB, conversationId: string): Promise<MessageRow[]> {
  return db.messages.where("[conversationId+sentAt]").between([conversationId, 0], [conversationId, Infinity]).toArray();
}

export async function account(c: Client, brand: "messenger" | "whatsapp" | "instagram", handle: string, name: string): Promise<string> {
  await waitFor(async () => c.online, "connection");
  const { address } = await c.api.createAccount({ brand, handle, displayName: name });
  return address;
}

/**
 * Alice on Messenger and Bob on WhatsApp, each on an engine of their own, with Alice's chat to Bob started
 * (Bob's engine from `bobBoot` when he is on another relay node; Alice's socket patched by `alicePatch`).
 */
export async function aliceAndBob(boot: ReturnType<typeof makeBoot>, bobBoot = boot, alicePatch?: (socket: RelaySocket) => void) {
  const h = handles();
  const alice = boot(undefined, alicePatch);
  const bob = bobBoot();
  const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
  const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
  const aConv = (await alice.api.startChat({ from: aliceAddr as never, to: bobAddr })).conversationId;
  const bConv = `${bobAddr}|${aliceAddr}`;
  return { h, alice, bob, aliceAddr, bobAddr, aConv, bConv };
}

// unique handles per test so that one relay serves the whole file
let n = 0;
export function handles() {
  n += 1;
  const tag = `${Date.now() % 100000}${n}`;
  return { alice: `alice.smith${tag}`, bob: `+1555${tag.padStart(7, "0").slice(-7)}`, carol: `@carol${tag}` };
}



/** A socket patch that holds deliveries back until `release()`, then hands them over all at once. */
export function holdDeliveries() {
  let held = true;
  const queue: unknown[] = [];
  let handler: ((payload: unknown) => void) | null = null;
  const patch = (socket: RelaySocket) => {
    const on = socket.on.bind(socket) as (event: string, fn: (payload: unknown) => void) => RelaySocket;
    (socket as unknown as { on: typeof on }).on = (event, fn) => {
      if (event !== "mailbox:deliver") return on(event, fn);
      handler = fn;
      return on(event, (payload) => (held ? queue.push(payload) : fn(payload)));
    };
  };
  return {
    patch,
    release() {
      held = false;
      for (const p of queue.splice(0)) handler?.(p);
    },
    /** Holds what comes from now on, until the next release. */
    hold() {
      held = true;
    },
    /** The envelopes held so far. */
    envelopes(): number {
      return queue.reduce<number>((n, p) => n + ((p as { envelopes?: unknown[] }).envelopes?.length ?? 0), 0);
    },
  };
}

/** Alice (with an optional socket patch), Bob on WhatsApp and Carol on Instagram; Alice has a chat open with each. */
export async function aliceBobCarol(boot: ReturnType<typeof makeBoot>, alicePatch?: (socket: RelaySocket) => void) {
  const h = handles();
  const alice = boot(undefined, alicePatch);
  const bob = boot();
  const carol = boot();
  const aliceAddr = await account(alice, "messenger", h.alice, "Alice");
  const bobAddr = await account(bob, "whatsapp", h.bob, "Bob");
  const carolAddr = await account(carol, "instagram", h.carol, "Carol");
  const toBob = (await alice.api.startChat({ from: aliceAddr as never, to: bobAddr })).conversationId;
  const toCarol = (await alice.api.startChat({ from: aliceAddr as never, to: carolAddr })).conversationId;
  return { alice, bob, carol, aliceAddr, bobAddr, carolAddr, toBob, toCarol };
}

/**
 * A modified client: `from` encrypts `content` (JSON) by hand in its real session with `toAddr`'s device
 * `toDevice`, stores the advanced session and sends the envelope through its connected socket. Under the
 * engine's session lock: a receipt decrypted meanwhile would write back the state it read, and the next
 * message would reuse a message number.
 */
export async function sendByHand(
  from: Client,
  fromAddr: string,
  toAddr: string,
  toDevice: string,
  content: unknown,
  { envelopeId = randomId(18), subset = false }: { envelopeId?: string; subset?: boolean } = {},
): Promise<void> {
  await from.engine.withSessionLock(async () => {
    const row = await from.db.sessions.get(sessionKey(fromAddr, toAddr, toDevice));
    if (!row) throw new Error(`${fromAddr} has no session with ${toAddr}'s device`);
    const sealed = await encrypt(deserializeSession(row.state), new TextEncoder().encode(JSON.stringify(content)));
    await from.db.sessions.put({ ...row, state: serializeSession(sealed.state) });
    const socket = [...from.sockets].reverse().find((s) => s.connected);
    if (!socket) throw new Error(`${fromAddr} is offline`);
    const envelopes = [{ id: envelopeId, to: toAddr as Address, toDevice, body: toB64(sealed.ciphertext) }];
    await request(socket, EVENTS.send, { from: fromAddr as Address, envelopes, ...(subset ? { subset: true as const } : {}) });
  });
}

/**
 * Blob downloads (GETs of /blobs/) stall after `cut` bytes of each response, as a connection that hangs,
 * until the request is aborted (a closed tab, a stopped engine) or `release()` lets them (and every later
 * one) through; `ranges` lists each GET's Range header ("whole" without one). Undone by `restore()`.
 */
export function stallBlobDownloads(cut: number) {
  const realFetch = globalThis.fetch;
  const ranges: string[] = [];
  let stall = true;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const res = await realFetch(input, init);
    if ((init?.method ?? "GET") !== "GET" || !String(input).includes("/blobs/")) return res;
    ranges.push((init?.headers as Record<string, string> | undefined)?.Range ?? "whole");
    if (!stall) return res;
    const reader = res.body!.getReader();
    let given = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (given >= cut && stall) {
          await Promise.race([released, new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))))]);
        }
        const { done, value } = await reader.read();
        if (done) return controller.close();
        const take = stall ? value.subarray(0, cut - given) : value;
        given += take.length;
        controller.enqueue(take);
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  }) as typeof fetch;
  return {
    ranges,
    /** The stalled responses go on, and later ones come whole. */
    release: () => {
      stall = false;
      release();
    },
    restore: () => {
      globalThis.fetch = realFetch;
    },
  };
}

/** Stops each client's engine, one after another. */
export async function stopAll(...clients: Client[]): Promise<void> {
  for (const c of clients) await c.engine.stop();
}

/** SHA-256 of a Blob's bytes, as hex. */
export async function blobSha256(blob: Blob): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
