// Test clients: real engines, each with its own IndexedDB (fake-indexeddb), against a real relay process.
import { io } from "socket.io-client";
import { JunctionDB, type MessageRow } from "../store/db";
import { randomId } from "../store/ids";
import { Engine } from "./engine";
import { leaderHandlers } from "./api";
import type { RelaySocket } from "./relay";
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
  return function boot(db = new JunctionDB(`test-${randomId()}`), patch?: (socket: RelaySocket) => void): Client {
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

// unique handles per test so that one relay serves the whole file
let n = 0;
export function handles() {
  n += 1;
  const tag = `${Date.now() % 100000}${n}`;
  return { alice: `alice.smith${tag}`, bob: `+1555${tag.padStart(7, "0").slice(-7)}`, carol: `@carol${tag}` };
}


