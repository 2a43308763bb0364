// A test device that speaks the wire protocol with the real socket.io-client: real Ed25519 login
// signatures; the prekeys are random bytes of the real sizes (the relay never interprets them).
import { ed25519 } from "@noble/curves/ed25519.js";
import { randomBytes } from "node:crypto";
import { io, type Socket } from "socket.io-client";
import {
  type Ack,
  type ClientToServerEvents,
  EVENTS,
  fromB64,
  loginMessage,
  MAX_KEM_PREKEYS_PER_UPLOAD,
  type ServerToClientEvents,
  toB64,
} from "../../protocol";
import type { Deliver, DeviceKeys, Envelope, OneTimePrekey, SignedPrekey } from "../../protocol/schemas";

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function randomId(bytes = 12): string {
  return toB64(new Uint8Array(randomBytes(bytes)));
}

function taggedKey(tag: number, raw: Uint8Array): string {
  const out = new Uint8Array(raw.length + 1);
  out[0] = tag;
  out.set(raw, 1);
  return toB64(out);
}

export function connect(url: string): Promise<ClientSocket> {
  const socket: ClientSocket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

/** Emits any event (also unknown ones, or malformed payloads) and waits for the ack. */
export function call<T = Record<string, unknown>>(socket: ClientSocket, event: string, payload: unknown): Promise<Ack<T>> {
  const raw = socket as unknown as { timeout(ms: number): { emitWithAck(ev: string, p: unknown): Promise<Ack<T>> } };
  return raw.timeout(20_000).emitWithAck(event, payload);
}

/** Tagged ML-KEM-768 public key size: 0x06 ‖ 1,184 bytes. */
export const KEM_PUBLIC_BYTES = 1184;

let prekeyCounter = 1;
export function oneTimePrekeys(n: number): OneTimePrekey[] {
  return Array.from({ length: n }, () => ({ id: prekeyCounter++, publicKey: taggedKey(0x05, new Uint8Array(randomBytes(32))) }));
}

function signature(): string {
  return toB64(new Uint8Array(randomBytes(64)));
}

// KEM prekey ids (last resort and one-time) come from one id space, as a real device's must: the
// receiver looks the key up by the id named in the initial message.
let kemCounter = 1;
export function kemPrekey(): SignedPrekey {
  return { id: kemCounter++, publicKey: taggedKey(0x06, new Uint8Array(randomBytes(KEM_PUBLIC_BYTES))), signature: signature() };
}
export function kemOneTimePrekeys(n: number): SignedPrekey[] {
  return Array.from({ length: n }, kemPrekey);
}

export class TestDevice {
  readonly deviceId: string;
  readonly authSecret: Uint8Array;
  readonly authKey: string;
  readonly identityKey: string;
  socket: ClientSocket | null = null;
  /** The keys of the latest `register` sent, to compare bundles against. */
  registered: DeviceKeys | null = null;
  /** Every envelope pushed to this device, in arrival order (across reconnects). */
  readonly received: Envelope[] = [];
  private waiters: (() => void)[] = [];

  /** A new device, or with `same` the same device (ids and keys) talking to `url`; `identityKey`: a tagged key of the caller's. */
  constructor(
    readonly url: string,
    same?: TestDevice,
    identityKey?: string,
  ) {
    this.deviceId = same?.deviceId ?? randomId();
    this.authSecret = same?.authSecret ?? ed25519.utils.randomSecretKey();
    this.authKey = same?.authKey ?? taggedKey(0x02, ed25519.getPublicKey(this.authSecret));
    this.identityKey = same?.identityKey ?? identityKey ?? taggedKey(0x01, new Uint8Array(randomBytes(32)));
  }

  /** Registration keys with `prekeys` one-time X25519 and `kemPrekeys` one-time KEM prekeys (as many, up to the upload cap). */
  keys(prekeys = 5, kemPrekeys = Math.min(prekeys, MAX_KEM_PREKEYS_PER_UPLOAD)): DeviceKeys {
    return {
      deviceId: this.deviceId,
      authKey: this.authKey,
      signedPrekey: { id: 1, publicKey: taggedKey(0x05, new Uint8Array(randomBytes(32))), signature: signature() },
      kemPrekey: kemPrekey(),
      oneTimePrekeys: oneTimePrekeys(prekeys),
      kemOneTimePrekeys: kemOneTimePrekeys(kemPrekeys),
    };
  }

  async connect(): Promise<ClientSocket> {
    this.socket = await connect(this.url);
    this.socket.on(EVENTS.deliver, (payload: Deliver) => {
      this.received.push(...payload.envelopes);
      for (const w of this.waiters.splice(0)) w();
    });
    return this.socket;
  }

  get s(): ClientSocket {
    if (!this.socket) throw new Error("not connected");
    return this.socket;
  }

  register(address: string, prekeys = 5, kemPrekeys = Math.min(prekeys, MAX_KEM_PREKEYS_PER_UPLOAD)) {
    this.registered = this.keys(prekeys, kemPrekeys);
    return call<{ address: string }>(this.s, EVENTS.register, { address, identityKey: this.identityKey, device: this.registered });
  }

  async challenge(): Promise<Uint8Array> {
    const res = await call<{ nonce: string }>(this.s, EVENTS.challenge, { deviceId: this.deviceId });
    if (!res.ok) throw new Error(`challenge refused: ${res.error.code}`);
    return fromB64(res.nonce);
  }

  sign(nonce: Uint8Array, secret = this.authSecret): string {
    return toB64(ed25519.sign(loginMessage(nonce, this.deviceId), secret));
  }

  async login() {
    const nonce = await this.challenge();
    return call<{ addresses: string[] }>(this.s, EVENTS.login, { deviceId: this.deviceId, signature: this.sign(nonce) });
  }

  /** Connects, registers `address` and logs in; throws when any step is refused. */
  async signUp(address: string, prekeys = 5, kemPrekeys = Math.min(prekeys, MAX_KEM_PREKEYS_PER_UPLOAD)): Promise<this> {
    if (!this.socket) await this.connect();
    const reg = await this.register(address, prekeys, kemPrekeys);
    if (!reg.ok) throw new Error(`register refused: ${reg.error.code} ${reg.error.message}`);
    const res = await this.login();
    if (!res.ok) throw new Error(`login refused: ${res.error.code}`);
    return this;
  }

  /** Resolves once `predicate` holds over everything received so far. */
  async waitFor(predicate: (received: Envelope[]) => boolean, what = "envelopes"): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!predicate(this.received)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  disconnect(): void {
    this.socket?.disconnect();
    this.socket = null;
  }
}

export function envelopeBody(text: string): string {
  return toB64(new TextEncoder().encode(text));
}
