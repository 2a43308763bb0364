// Keeps the event maps, the schema table and the wire shapes honest, at compile time and at run time.
import { describe, expect, it } from "vitest";
import { type ClientToServerEvents, EVENTS, PRE_LOGIN_EVENTS, SCHEMAS, type ServerToClientEvents } from "./events";
import { loginMessage } from "./auth";
import { fromB64, toB64 } from "./bytes";
import { ERROR_CODES } from "./errors";

type Payload<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];

describe("protocol contract", () => {
  it("has a request and a response schema for every client event, and deliver, typing, provisioning and device removal are the only pushes", () => {
    const pushes: (keyof ServerToClientEvents)[] = [EVENTS.deliver, EVENTS.typingDeliver, EVENTS.provisionDeliver, EVENTS.devicesRemoved];
    const clientEvents = Object.values(EVENTS).filter((e) => !(pushes as string[]).includes(e));
    expect(Object.keys(SCHEMAS).sort()).toEqual([...clientEvents].sort());
    for (const e of PRE_LOGIN_EVENTS) expect(clientEvents).toContain(e);
    expect(pushes).toEqual(["mailbox:deliver", "typing:deliver", "provision:deliver", "devices:removed"]);
  });

  it("types payloads from the schemas", () => {
    const ok: Payload<typeof EVENTS.fetch> = { limit: 10 };
    // @ts-expect-error a fetch limit is a number
    const bad: Payload<typeof EVENTS.fetch> = { limit: "10" };
    // @ts-expect-error a send needs a from address
    const noFrom: Payload<typeof EVENTS.send> = { envelopes: [] };
    expect([ok, bad, noFrom]).toHaveLength(3);
  });

  it("refuses unknown fields and non-canonical addresses where they must be canonical", () => {
    expect(SCHEMAS[EVENTS.keysStatus].request.safeParse({ address: "messenger:alice.smith", extra: 1 }).success).toBe(false);
    expect(SCHEMAS[EVENTS.keysStatus].request.safeParse({ address: "messenger:Alice.Smith" }).success).toBe(false);
    expect(SCHEMAS[EVENTS.lookup].request.parse({ address: "messenger:Alice.Smith" })).toEqual({ address: "messenger:alice.smith" });
  });

  it("binds the login message to the nonce and the device id", () => {
    const nonce = new Uint8Array(32).fill(7);
    const a = loginMessage(nonce, "device-aaaa");
    expect(new TextDecoder().decode(a.subarray(0, 18))).toBe("junction/login/v1\0");
    expect(a).not.toEqual(loginMessage(nonce, "device-aaab"));
    expect(a).not.toEqual(loginMessage(new Uint8Array(32).fill(8), "device-aaaa"));
  });

  it("round-trips base64url and refuses other alphabets", () => {
    const bytes = new Uint8Array([0, 250, 251, 252, 253, 254, 255]);
    expect(fromB64(toB64(bytes))).toEqual(bytes);
    expect(toB64(bytes)).not.toMatch(/[+/=]/);
    expect(() => fromB64("a+b/")).toThrow("invalid base64url");
  });

  it("keeps error codes stable", () => {
    for (const code of ["bad_request", "unauthorized", "not_found", "handle_taken", "too_large", "rate_limited"]) {
      expect(ERROR_CODES).toContain(code);
    }
  });
});
