// socket.io's packet parser with binary refused. The protocol is JSON with base64url bodies, so a
// binary event (type 5), a binary ack (type 6) or a raw binary frame is never legitimate; socket.io's
// own decoder would collect up to ten attachments per event (each up to the transport cap) in memory
// before any handler could look at them. Throwing here makes socket.io close the connection with a
// parse error before a single attachment is kept.
import { Decoder as BaseDecoder, Encoder, protocol } from "socket.io-parser";

const BINARY_EVENT = "5";
const BINARY_ACK = "6";

export class BinaryRefusingDecoder extends BaseDecoder {
  override add(obj: unknown): void {
    if (typeof obj !== "string") throw new Error("binary frames are not part of the protocol");
    if (obj[0] === BINARY_EVENT || obj[0] === BINARY_ACK) throw new Error("binary packets are not part of the protocol");
    super.add(obj);
  }
}

/** Passed as socket.io's `parser` option. */
export const jsonOnlyParser = { protocol, Encoder, Decoder: BinaryRefusingDecoder };
