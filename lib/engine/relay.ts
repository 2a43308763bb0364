// One typed request/response over the relay socket: emit with ack and a timeout, then validate the
// reply with the lib/protocol schema before anything reads it.
import { z } from "zod";
import type { Socket } from "socket.io-client";
import { ERROR_CODES, MAX_ENVELOPES_PER_SEND, ProtocolError, SCHEMAS, type ClientEvent, type ClientToServerEvents, type ServerToClientEvents } from "../protocol";

export type RelaySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type RequestOf<E extends ClientEvent> = Parameters<ClientToServerEvents[E]>[0];
export type ResponseOf<E extends ClientEvent> = z.infer<(typeof SCHEMAS)[E]["response"]>;

/** Thrown when the relay cannot be reached; the caller keeps its work queued and retries later. */
export class OfflineError extends Error {
  constructor(message = "offline", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OfflineError";
  }
}

const AckShape = z.union([
  z.object({
    ok: z.literal(false),
    error: z.object({
      // a code this client does not know yet is an error all the same, not a malformed reply
      code: z.enum(ERROR_CODES).catch("internal"),
      message: z.string().max(500),
      retryAfterMs: z.number().int().nonnegative().max(7 * 24 * 3600 * 1000).optional(),
      devices: z
        .array(z.object({ address: z.string().max(200), missing: z.array(z.string().max(64)).max(32), extra: z.array(z.string().max(64)).max(MAX_ENVELOPES_PER_SEND) }))
        .max(MAX_ENVELOPES_PER_SEND)
        .optional(),
    }),
  }),
  z.looseObject({ ok: z.literal(true) }),
]);

export const REQUEST_TIMEOUT_MS = 15_000;

/** The minimal emitter surface we use; typing through socket.io's generic maps per event is not worth the casts. */
interface AckEmitter {
  connected: boolean;
  timeout(ms: number): { emitWithAck(event: string, payload: unknown): Promise<unknown> };
}

export async function request<E extends ClientEvent>(
  socket: RelaySocket,
  event: E,
  payload: RequestOf<E>,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<ResponseOf<E>> {
  const emitter = socket as unknown as AckEmitter;
  // socket.io buffers emits while disconnected and replays them later; we'd rather keep work in our own queues
  if (!emitter.connected) throw new OfflineError();
  let raw: unknown;
  try {
    raw = await emitter.timeout(timeoutMs).emitWithAck(event, payload);
  } catch (cause) {
    throw new OfflineError("relay did not answer", { cause });
  }
  const ack = AckShape.safeParse(raw);
  if (!ack.success) throw new ProtocolError("bad_request", `malformed reply to ${event}`);
  if (ack.data.ok === false) {
    const { code, message, retryAfterMs, devices } = ack.data.error;
    throw new ProtocolError(code, message, { ...(retryAfterMs === undefined ? {} : { retryAfterMs }), ...(devices === undefined ? {} : { devices }) });
  }
  const { ok: _ok, ...body } = ack.data;
  const parsed = SCHEMAS[event].response.safeParse(body);
  if (!parsed.success) throw new ProtocolError("bad_request", `malformed reply to ${event}`);
  return parsed.data as ResponseOf<E>;
}
