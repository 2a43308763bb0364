// A second person, in Node: the real client engine (lib/engine) on fake-indexeddb, talking to the
// real relay over socket.io. It writes the backlog that the browser account later receives.
import "fake-indexeddb/auto";
import { io } from "socket.io-client";
import { Engine } from "../../lib/engine/engine";
import { leaderHandlers } from "../../lib/engine/api";
import type { RelaySocket } from "../../lib/engine/relay";
import { JunctionDB } from "../../lib/store/db";
import { randomId, sessionKey } from "../../lib/store/ids";
import { request } from "../../lib/engine/relay";
import { CONTENT_VERSION, encodeContent } from "../../lib/engine/content/envelope";
import { envelopeId } from "../../lib/engine/envelopes";
import { deserializeSession, encrypt, serializeSession, signAuth } from "../../lib/crypto";
import { EVENTS, fromB64, loginMessage, ProtocolError, toB64, type schemas } from "../../lib/protocol";
import { MAX_ENVELOPES_PER_SEND } from "../../lib/protocol/limits";
import type { RpcHandlers } from "../../lib/worker/rpc";
import type { Address, BrandId } from "../../lib/brands";
import { setTimeout as sleep } from "node:timers/promises";

export class SenderError extends Error {
  override name = "SenderError";
}

export interface Sender {
  url: string;
  address: string;
  db: JunctionDB;
  api: RpcHandlers;
  engine: Engine;
  /** How often the relay's per-connection limits answered rate_limited (the engine retries by itself). */
  rateLimited(): number;
  isOnline(): boolean;
  /** The engine's latest warnings (codes and names only). */
  warnings(): string[];
  stop(): Promise<void>;
}

async function until(probe: () => Promise<boolean> | boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new SenderError(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface AckEmitter {
  emitWithAck(event: string, payload: unknown): Promise<unknown>;
}

/**
 * Watches the acks for rate_limited without changing what the engine sees. `timeout(ms)` returns
 * the socket itself, so wrapping `emitWithAck` once on the socket covers every request.
 */
function countRateLimited(socket: RelaySocket, bump: () => void): RelaySocket {
  const emitter = socket as unknown as AckEmitter;
  const emitWithAck = emitter.emitWithAck.bind(emitter);
  emitter.emitWithAck = async (event, payload) => {
    const reply = (await emitWithAck(event, payload)) as { ok?: boolean; error?: { code?: string } } | undefined;
    if (reply?.ok === false && reply.error?.code === "rate_limited") bump();
    return reply;
  };
  return socket;
}

export async function startSender(url: string, brand: BrandId, handle: string, displayName: string): Promise<Sender> {
  const db = new JunctionDB(`bench-sender-${randomId()}`);
  let online = false;
  let rateLimited = 0;
  const warnings: string[] = [];
  const engine = new Engine({
    db,
    // the engine's own warnings, kept for the error message if the send stalls
    log: {
      warn: (event, detail) => {
        warnings.push(`${event} ${JSON.stringify(detail ?? {})}`);
        if (warnings.length > 20) warnings.shift();
      },
      info: () => {},
    },
    connect: () => countRateLimited(io(url, { transports: ["websocket"], autoConnect: false, forceNew: true, reconnectionDelayMax: 1_000 }) as RelaySocket, () => (rateLimited += 1)),
    onStatus: (up) => {
      online = up;
    },
  });
  const api = leaderHandlers(engine, {
    db,
    now: () => Date.now(),
    status: () => ({ online: engine.isOnline, leader: true }),
    poke: () => engine.poke(),
  });
  engine.start();
  await until(() => online, "the sender's connection", 30_000);
  const { address } = await api.createAccount({ brand, handle, displayName });
  return {
    url,
    address,
    db,
    rateLimited: () => rateLimited,
    isOnline: () => online,
    warnings: () => [...warnings],
    api,
    engine,
    stop: async () => {
      await engine.stop();
      db.close();
    },
  };
}

export interface SendFigures {
  /** direct: the engine's session, encrypted here and sent in bulk; engine: every message through the outbox. */
  how: "direct" | "engine";
  messages: number;
  ms: number;
  /** The relay's per-connection limits answered rate_limited this often (the engine retries by itself). */
  rateLimited: number;
  /**
   * How often the outbox sat unchanged for NUDGE_MS while online and had to be poked again: each one
   * is a wake-up the engine lost (a message that would have waited for the next send or reconnect).
   */
  nudges: number;
}

const NUDGE_MS = 5_000;
const STALL_MS = 90_000;

/** Waits for the outbox to empty; pokes the engine when it stalls, gives up when nothing moves at all. */
async function drainOutbox(sender: Sender, onNudge: () => void): Promise<void> {
  let last = await sender.db.outbox.count();
  let lastChange = Date.now();
  let nudgedAt = lastChange;
  while (last > 0) {
    await sleep(50);
    const now = Date.now();
    const left = await sender.db.outbox.count();
    if (left !== last) {
      last = left;
      lastChange = now;
      nudgedAt = now;
      continue;
    }
    if (now - lastChange > STALL_MS) {
      throw new SenderError(
        `the sender's outbox stopped at ${left} for ${STALL_MS / 1000} s (online: ${sender.isOnline()}; ` +
          `counters: ${JSON.stringify(sender.engine.counters.snapshot())}; warnings: ${sender.warnings().join("; ") || "none"})`,
      );
    }
    if (sender.isOnline() && now - nudgedAt > NUDGE_MS) {
      nudgedAt = now;
      onNudge();
      sender.engine.poke();
    }
  }
}

/**
 * Queues `count` texts to `to` in batches and waits until the relay has stored every one. Batches
 * keep the outbox short, so queueing and draining share the single Node thread fairly.
 */
export async function sendBacklog(sender: Sender, to: string, count: number, text: (i: number) => string, batch = 250): Promise<SendFigures> {
  const started = performance.now();
  const { conversationId } = await sender.api.startChat({ from: sender.address as Address, to });
  const before = sender.rateLimited();
  let nudges = 0;
  for (let i = 0; i < count; i += batch) {
    const end = Math.min(count, i + batch);
    for (let j = i; j < end; j++) await sender.api.sendMessage({ conversationId, text: text(j) });
    await drainOutbox(sender, () => (nudges += 1));
  }
  const failed = await sender.db.messages.where("conversationId").equals(conversationId).filter((m) => m.state === "failed").count();
  if (failed > 0) throw new SenderError(`${failed} of ${count} messages failed to send`);
  return { how: "engine", messages: count, ms: performance.now() - started, rateLimited: sender.rateLimited() - before, nudges };
}

/**
 * The same backlog, written fast: the first message goes through the engine (which sets up the session
 * from the receiver's prekey bundle and sends a real PQXDH prekey message); the rest are encrypted here in
 * that session with the engine's own functions (content encoding, `encrypt`, envelope ids), exactly as
 * the outbox would, and handed to the relay 100 envelopes per `mailbox:send` on a socket of their own
 * (logged in as the sender's device). What the receiver gets is byte for byte the kind of envelope the
 * engine sends (prekey messages, since the receiver has not answered yet), without the minutes the Node
 * engine on fake-indexeddb needs to queue and drain 10,000 outbox rows one by one. Stops the engine.
 */
export async function sendBacklogDirect(sender: Sender, to: string, count: number, text: (i: number) => string): Promise<SendFigures> {
  const started = performance.now();
  const { conversationId } = await sender.api.startChat({ from: sender.address as Address, to });
  await sender.api.sendMessage({ conversationId, text: text(0) });
  await drainOutbox(sender, () => sender.engine.poke());
  await sender.engine.idle();
  await sender.engine.stop();
  const from = sender.address as Address;
  const sessions = await sender.db.sessions.where("[ourAddress+theirAddress]").equals([from, to]).toArray();
  if (sessions.length !== 1 || !sessions[0]) throw new SenderError(`expected one session with the receiver, found ${sessions.length}`);
  const row = sessions[0];
  const account = await sender.db.accounts.get(from);
  // every account has its own relay device now (`self` is the shared row of accounts made before that)
  const device = (await sender.db.device.get(from)) ?? (await sender.db.device.get("self"));
  if (!account || !device) throw new SenderError("the sender has no account or device");

  const socket = io(sender.url, { transports: ["websocket"], forceNew: true, reconnection: false }) as RelaySocket;
  let rateLimited = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    const { nonce } = await request(socket, EVENTS.challenge, { deviceId: device.deviceId });
    const signature = signAuth(device.authPrivateKey, loginMessage(fromB64(nonce), device.deviceId));
    await request(socket, EVENTS.login, { deviceId: device.deviceId, signature: toB64(signature) });

    let state = deserializeSession(row.state);
    let sentAt = Date.now();
    for (let i = 1; i < count; i += MAX_ENVELOPES_PER_SEND) {
      const envelopes: schemas.OutgoingEnvelope[] = [];
      for (let j = i; j < Math.min(count, i + MAX_ENVELOPES_PER_SEND); j++) {
        const id = randomId();
        sentAt = Math.max(Date.now(), sentAt + 1);
        const plaintext = encodeContent({ v: CONTENT_VERSION, type: "text", id, sentAt, text: text(j), senderName: account.displayName });
        const sealed = await encrypt(state, plaintext);
        state = sealed.state;
        envelopes.push({ id: envelopeId(id, to, row.theirDevice), to, toDevice: row.theirDevice, body: toB64(sealed.ciphertext) });
      }
      for (;;) {
        try {
          await request(socket, EVENTS.send, { from, envelopes });
          break;
        } catch (error) {
          if (!(error instanceof ProtocolError && error.code === "rate_limited")) throw error;
          rateLimited += 1;
          await sleep(200);
        }
      }
    }
    // the engine's store stays consistent with what was sent, should anyone start it again
    await sender.db.sessions.put({ ...row, key: sessionKey(from, to as Address, row.theirDevice), state: serializeSession(state), updatedAt: Date.now() });
  } finally {
    socket.disconnect();
  }
  return { how: "direct", messages: count, ms: performance.now() - started, rateLimited, nudges: 0 };
}
