// The relay's packet decoder: JSON events pass; binary in any form, and ack ids no double can hold, end
// the connection (the decoder drops it and throws, which makes socket.io close it).
import { describe, expect, it } from "vitest";
import { BinaryRefusingDecoder, decoderFor } from "./parser";

function decoderWithConnection() {
  const conn = { dropped: 0, transport: { name: "websocket", socket: { terminate: () => void conn.dropped++ } }, close: () => undefined };
  decoderFor(conn);
  const decoder = new BinaryRefusingDecoder();
  const decoded: unknown[] = [];
  decoder.on("decoded", (packet: unknown) => decoded.push(packet));
  return { conn, decoder, decoded };
}

describe("relay packet decoder", () => {
  it("decodes JSON events and acks as socket.io does", () => {
    const { conn, decoder, decoded } = decoderWithConnection();
    // socket.io packets as the engine hands them over (its own "4" message prefix already taken off)
    decoder.add('242["keys:status",{"address":"messenger:alice.smith"}]');
    decoder.add('312[{"ok":true}]');
    expect(decoded).toEqual([
      { type: 2, nsp: "/", id: 42, data: ["keys:status", { address: "messenger:alice.smith" }] },
      { type: 3, nsp: "/", id: 12, data: [{ ok: true }] },
    ]);
    expect(conn.dropped).toBe(0);
  });

  it("drops the connection for binary events, binary acks, raw binary frames and huge ack ids", () => {
    for (const input of ['51-["register",{"_placeholder":true,"num":0}]', '61-0[{"_placeholder":true,"num":0}]', new Uint8Array([1, 2, 3]), '2123456789012345678901234567890["keys:status",{}]']) {
      const { conn, decoder, decoded } = decoderWithConnection();
      expect(() => decoder.add(input)).toThrow();
      expect(conn.dropped).toBe(1);
      expect(decoded).toEqual([]);
    }
  });

  it("drops the connection for what socket.io's own decoder refuses", () => {
    const { conn, decoder } = decoderWithConnection();
    expect(() => decoder.add("9garbage")).toThrow();
    expect(conn.dropped).toBe(1);
  });
});
