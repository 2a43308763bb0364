// socket.io's packet parser with binary refused. The protocol is JSON with base64url bodies, so a
// binary event (type 5), a binary ack (type 6) or a raw binary frame is never legitimate; socket.io's
// own decoder would collect up to ten attachments per event (each up to the transport cap) in memory
// before any handler could look at them. Throwing here makes socket.io close the connection with a
// parse error before a single attachment is kept.
//
// A polite close would still read (and unmask, and drop) whatever the peer keeps sending until the
// close handshake ends or times out, ~30 s later; a peer that breaks the protocol gets no handshake:
// its transport is destroyed at once.
import { Decoder as BaseDecoder, Encoder, protocol } from "socket.io-parser";

const BINARY_EVENT = "5";
const BINARY_ACK = "6";
// An event or ack packet whose ack id has more digits than a double holds exactly: socket.io would
// echo it back in exponent form, which no client can match to its request.
const HUGE_ACK_ID = /^[23](?:\/[^,]*,)?\d{16,}/;

/** The engine.io connection a decoder parses for, as far as this module needs it. */
export interface EngineConnection {
  transport?: { name?: string; socket?: { terminate?: () => void } };
  close(): void;
}

// socket.io makes a connection's decoder synchronously inside the engine's "connection" event;
// `decoderFor` (a listener that runs first) hands the connection over to the decoder made next.
let next: EngineConnection | null = null;

export function decoderFor(conn: EngineConnection): void {
  next = conn;
}

/** Ends a connection without a close handshake (websocket) or at once (polling). */
export function dropConnection(conn: EngineConnection | null): void {
  if (!conn) return;
  const ws = conn.transport?.socket;
  if (typeof ws?.terminate === "function") ws.terminate();
  else conn.close();
}

export class BinaryRefusingDecoder extends BaseDecoder {
  private readonly conn: EngineConnection | null;

  constructor(...args: ConstructorParameters<typeof BaseDecoder>) {
    super(...args);
    this.conn = next;
    next = null;
  }

  override add(obj: unknown): void {
    if (typeof obj !== "string") this.violation("binary frames are not part of the protocol");
    if (obj[0] === BINARY_EVENT || obj[0] === BINARY_ACK) this.violation("binary packets are not part of the protocol");
    if (HUGE_ACK_ID.test(obj)) this.violation("ack id out of range");
    try {
      super.add(obj);
    } catch (err) {
      dropConnection(this.conn);
      throw err;
    }
  }

  private violation(message: string): never {
    dropConnection(this.conn);
    throw new Error(message);
  }
}

/** Passed as socket.io's `parser` option. */
export const jsonOnlyParser = { protocol, Encoder, Decoder: BinaryRefusingDecoder };
