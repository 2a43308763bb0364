// The relay fuzzer's core (Node, test-only), shared by `scripts/fuzz-relay.ts` and `lib/relay/fuzz.test.ts`.
// Several raw websocket connections speak engine.io v4 / socket.io v5 by hand (so that any byte
// sequence can be sent: malformed packets, binary frames without a header, bad attachment counts)
// and send a weighted mix of random and mutated frames to a real relay process, with legitimate
// traffic interleaved. Each lane has a main connection (every even lane logged in) and sends the
// frames that may end a connection on short-lived side connections, so the main one keeps its login
// and its acks are judged, not lost. On loopback every lane connects from a 127/8 address of its own,
// so the relay's per-address limits see separate clients rather than refuse everything.
// Oracles, besides the end-of-run health check and the RSS bound:
//   - every ack has the `Ack` shape with a known error code, and never `internal`;
//   - the relay accepts (`ok: true`) only what the protocol's own request schema accepts, only
//     after login for post-login events, and answers in the shape of the response schema;
//   - every legitimate request is served (or refused for rate), and every legitimate envelope the
//     relay stored is delivered by the end of the run, unaltered;
//   - every push has the `Deliver` shape, and /healthz answers within 2 s all along.
// The frames are a function of (seed, lane index): a lane's PRNG is drawn the same way whatever the
// relay answers, except that `mailbox:ack` templates reuse refs the relay delivered.
import { ed25519 } from "@noble/curves/ed25519.js";
import { randomInt } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { get } from "node:http";
import { io, type ManagerOptions, type SocketOptions } from "socket.io-client";
import WebSocket from "ws";
import {
  type ClientEvent,
  ERROR_CODES,
  EVENTS,
  fromB64,
  MAX_ENVELOPE_BYTES,
  MAX_FRAME_BYTES,
  PRE_LOGIN_EVENTS,
  SCHEMAS,
  toB64,
  TRANSPORT_MAX_BYTES,
} from "../../protocol";
import { Deliver, ProvisionDeliver, TypingDeliver } from "../../protocol/schemas";
import { call, type ClientSocket, randomId, TestDevice } from "./device";
import { startRelay, tempDataDir } from "./relayProcess";

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32): small, fast, and good enough to pick fuzz cases reproducibly.

/** A 32-bit seed from any string or number (FNV-1a of its text, so `--seed 7` and seedOf(7) agree). */
export function seedOf(seed: string | number): number {
  let h = 0x811c9dc5;
  for (const ch of String(seed)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  float(): number {
    return this.u32() / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }
  weighted<K extends string>(weights: Readonly<Partial<Record<K, number>>>): K {
    const entries = (Object.entries(weights) as [K, number][]).filter(([, w]) => w > 0);
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let x = this.float() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries[entries.length - 1][0];
  }
  /** Up to 4 KiB drawn here; longer runs are slices of one seeded pool (drawing MiBs per frame is slow). */
  bytes(n: number): Uint8Array {
    if (n > 4096) {
      const p = bytePool();
      const off = this.int(0, Math.max(0, p.length - n));
      return p.subarray(off, off + n);
    }
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 255;
    }
    return out;
  }
}

let pool: Uint8Array | null = null;
function bytePool(): Uint8Array {
  if (!pool) {
    const r = new Rng(0x9e3779b9);
    const words = new Uint32Array((TRANSPORT_MAX_BYTES + 64 * 1024) >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = r.u32();
    pool = new Uint8Array(words.buffer);
  }
  return pool;
}

// ---------------------------------------------------------------------------------------------
// A JSON tree that can say what JSON.stringify cannot: verbatim text (1e999, -0, broken escapes),
// binary attachments (socket.io placeholders), and objects with `__proto__` or duplicate keys.

export class Raw {
  constructor(readonly text: string) {}
}
export class Bin {
  constructor(readonly bytes: Uint8Array) {}
}
export class Obj {
  constructor(readonly entries: [string, J][]) {}
}
export type J = null | boolean | number | string | Raw | Bin | Obj | J[];

function toJ(value: unknown): J {
  if (value === null || typeof value === "boolean" || typeof value === "number" || typeof value === "string") return value;
  if (value instanceof Raw || value instanceof Bin || value instanceof Obj) return value;
  if (Array.isArray(value)) return value.map(toJ);
  if (typeof value === "object") return new Obj(Object.entries(value).map(([k, v]) => [k, toJ(v)]));
  return null;
}

/** JSON text of `value`; each distinct attachment gets the next placeholder number, a repeated one the same. */
export function encodeJ(value: J, bins: Uint8Array[] = []): string {
  const parts: string[] = [];
  const seen = new Map<Uint8Array, number>();
  const put = (v: J): void => {
    if (v instanceof Raw) parts.push(v.text);
    else if (v instanceof Bin) {
      let num = seen.get(v.bytes);
      if (num === undefined) {
        num = bins.length;
        bins.push(v.bytes);
        seen.set(v.bytes, num);
      }
      parts.push(`{"_placeholder":true,"num":${num}}`);
    } else if (v instanceof Obj) {
      parts.push("{");
      v.entries.forEach(([k, x], i) => {
        parts.push(i ? "," : "", JSON.stringify(k), ":");
        put(x);
      });
      parts.push("}");
    } else if (Array.isArray(v)) {
      parts.push("[");
      v.forEach((x, i) => {
        if (i) parts.push(",");
        put(x);
      });
      parts.push("]");
    } else parts.push(JSON.stringify(v));
  };
  put(value);
  return parts.join("");
}

function cloneJ(value: J): J {
  if (Array.isArray(value)) return value.map(cloneJ);
  if (value instanceof Obj) return new Obj(value.entries.map(([k, v]) => [k, cloneJ(v)]));
  return value; // primitives, and Raw and Bin, which are never changed in place
}

/** A rough JSON size of `value`, counted only up to `limit` (the big constants are Raw text). */
function roughSize(value: J, limit: number): number {
  let n = 0;
  const stack: J[] = [value];
  while (stack.length && n <= limit) {
    const v = stack.pop() as J;
    if (v instanceof Raw) n += v.text.length;
    else if (v instanceof Bin) n += 30;
    else if (typeof v === "string") n += v.length + 2;
    else if (v instanceof Obj) {
      for (const [k, x] of v.entries) {
        n += k.length + 4;
        stack.push(x);
      }
    } else if (Array.isArray(v)) {
      n += 2 + v.length;
      stack.push(...v.slice(0, 1000));
    } else n += 8;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// What the fuzzer sends: kinds, mixes and units.

export const KINDS = [
  /** Well-formed requests a real client makes (authed lanes), or a login challenge (anonymous lanes). */
  "legit",
  /** A valid payload of a known event with 1–3 mutations: fields removed, wrong types, huge strings, deep nesting, 10^5-item arrays, `__proto__`, edge numbers and unicode. */
  "event_mutated",
  /** A known event with random JSON arguments. */
  "event_random",
  /** Unknown, reserved and odd event names (prototype keys, the server's own push, unicode, 10 k chars). */
  "event_unknown",
  /** Missing or extra arguments, no ack id, odd ack ids. */
  "event_args",
  /** Payloads around MAX_FRAME_BYTES, 10^5-item arrays, 10^5-deep nesting, text frames over the transport cap. */
  "event_big",
  /** socket.io packets that do not parse: bad JSON, truncation, unknown packet types, client-sent acks. */
  "sio_malformed",
  /** Namespace packets: other namespaces, disconnect, a second connect, connect_error from the client. */
  "sio_namespace",
  /** engine.io control packets: ping, pong, upgrade, noop, websocket pings. */
  "eio_control",
  /** engine.io packets that do not parse: unknown types, empty frames, invalid UTF-8, close. */
  "eio_garbage",
  /** Well-formed binary events (small attachments), known and unknown names. */
  "binary_event",
  /** Binary frames without a header, bad or huge attachment counts, placeholders out of range, truncated sequences. */
  "binary_malformed",
  /** Ten attachments at the transport cap in the payload of a known event (the JSON.stringify blow-up). */
  "binary_heavy",
  /** One attachment referenced by thousands of placeholders (amplification without many bytes). */
  "binary_alias",
] as const;
export type Kind = (typeof KINDS)[number];
/** Traffic that is not drawn from the mix: login and the acks of pushed envelopes. */
export type SetupKind = "setup" | "legit_ack";

export type Mix = Partial<Record<Kind, number>>;
export const MIXES = {
  default: {
    legit: 12,
    event_mutated: 30,
    event_random: 5,
    event_unknown: 5,
    event_args: 5,
    event_big: 1.5,
    sio_malformed: 5,
    sio_namespace: 1,
    eio_control: 3,
    eio_garbage: 2,
    binary_event: 4,
    binary_malformed: 3,
    binary_heavy: 0.3,
    binary_alias: 0.1,
  },
  /** Mostly cap-sized binary attachments: the baseline for the known pre-login memory blow-up. */
  binary: { legit: 10, event_mutated: 5, binary_event: 10, binary_malformed: 5, binary_heavy: 70 },
} as const satisfies Record<string, Mix>;
export type MixName = keyof typeof MIXES;

type Frame = string | { binary: Uint8Array } | { badText: Uint8Array } | { wsPing: true };

interface Expectation {
  id: number;
  event: unknown;
  legit: boolean;
  /** What the relay's request schema says about the args as the relay decodes them; null: decided lazily from `json`. */
  valid: boolean | null;
  json?: string;
  /** JSON size of args[0]. */
  argBytes: number;
  legitSend?: { id: string; body: string };
}

interface Unit {
  kind: Kind | SetupKind;
  frames: Frame[];
  expect?: Expectation;
  /** The unit may have left the namespace or the login in an unknown state: open a fresh connection next. */
  reconnect?: boolean;
  preview: string;
}

export interface Identity {
  address: string;
  deviceId: string;
  device: TestDevice;
}

interface GenContext {
  me: Identity | null;
  peers: readonly string[];
  /** Envelope refs the relay delivered to this lane lately. */
  recent: readonly { to: string; id: string }[];
  authKeys: readonly string[];
  loggedIn: boolean;
  ackId(): number;
}

// Relay error messages must never carry payload contents: every mutated string can carry this.
export const CANARY = "qqfuzzqq";
const RESERVED_EVENTS = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];
const CLIENT_EVENTS = Object.keys(SCHEMAS) as ClientEvent[];

// ---------------------------------------------------------------------------------------------
// Valid payload templates, drawn from the lane's PRNG.

const b64 = (r: Rng, n: number) => toB64(r.bytes(n));
const tagged = (r: Rng, tag: number, n: number) => {
  const bytes = r.bytes(n + 1);
  bytes[0] = tag;
  return toB64(bytes);
};
const idOf = (r: Rng) => b64(r, r.int(6, 24));
const handleOf = (r: Rng) => `fz${r.u32().toString(36)}${r.u32().toString(36)}`;

function anyAddress(r: Rng, c: GenContext): string {
  const own = c.me?.address;
  const peer = c.peers.length ? c.peers[r.u32() % c.peers.length] : undefined;
  const brand = r.pick(["messenger", "instagram", "whatsapp"] as const);
  const fresh = brand === "whatsapp" ? `whatsapp:+1555${r.int(1000000, 9999999)}` : brand === "instagram" ? `instagram:@${handleOf(r)}` : `messenger:${handleOf(r)}`;
  const roll = r.float();
  return roll < 0.4 && own ? own : roll < 0.7 && peer ? peer : fresh;
}

function signedPrekey(r: Rng, kem: boolean) {
  return { id: r.int(0, 0x7fffffff), publicKey: tagged(r, kem ? 6 : 5, kem ? 1184 : 32), signature: b64(r, 64) };
}

const TEMPLATES: Record<ClientEvent, (r: Rng, c: GenContext) => unknown> = {
  [EVENTS.register]: (r, c) => ({
    address: `messenger:${handleOf(r)}`,
    identityKey: tagged(r, 1, 32),
    device: {
      deviceId: c.me && r.chance(0.3) ? c.me.deviceId : idOf(r),
      authKey: r.pick(c.authKeys),
      signedPrekey: signedPrekey(r, false),
      kemPrekey: signedPrekey(r, true),
      oneTimePrekeys: Array.from({ length: r.int(0, 2) }, () => ({ id: r.int(0, 0x7fffffff), publicKey: tagged(r, 5, 32) })),
      kemOneTimePrekeys: Array.from({ length: r.int(0, 1) }, () => signedPrekey(r, true)),
    },
  }),
  [EVENTS.challenge]: (r, c) => ({ deviceId: c.me && r.chance(0.5) ? c.me.deviceId : idOf(r) }),
  [EVENTS.login]: (r, c) => ({ deviceId: c.me && r.chance(0.5) ? c.me.deviceId : idOf(r), signature: b64(r, 64) }),
  [EVENTS.keysUpload]: (r, c) => ({
    address: anyAddress(r, c),
    oneTimePrekeys: Array.from({ length: r.int(1, 3) }, () => ({ id: r.int(0, 0x7fffffff), publicKey: tagged(r, 5, 32) })),
    ...(r.chance(0.3) ? { signedPrekey: signedPrekey(r, false) } : {}),
  }),
  [EVENTS.keysStatus]: (r, c) => ({ address: anyAddress(r, c) }),
  [EVENTS.lookup]: (r, c) => ({ address: anyAddress(r, c) }),
  [EVENTS.bundles]: (r, c) => ({ address: anyAddress(r, c), ...(r.chance(0.5) ? { deviceIds: [c.me?.deviceId ?? idOf(r)] } : {}) }),
  [EVENTS.send]: (r, c) => {
    const from = c.me?.address ?? anyAddress(r, c);
    return {
      from,
      envelopes: Array.from({ length: r.int(1, 3) }, () => ({
        id: idOf(r),
        to: anyAddress(r, c),
        toDevice: c.me && r.chance(0.7) ? c.me.deviceId : idOf(r),
        body: b64(r, r.int(1, 512)),
      })),
    };
  },
  [EVENTS.ack]: (r, c) => {
    const pickAt = r.u32();
    const made = { to: anyAddress(r, c), id: idOf(r) };
    return { envelopes: [c.recent.length ? c.recent[pickAt % c.recent.length] : made] };
  },
  [EVENTS.fetch]: (r) => (r.chance(0.8) ? { limit: r.int(1, 200) } : {}),
  [EVENTS.blobUpload]: (r, c) => ({
    from: c.me?.address ?? anyAddress(r, c),
    ...(r.chance(0.7) ? { size: r.int(1, 200 * 1024 * 1024) } : { resume: b64(r, 32) }),
  }),
  [EVENTS.typing]: (r, c) => ({
    from: anyAddress(r, c),
    signals: Array.from({ length: r.int(1, 3) }, () => ({
      to: anyAddress(r, c),
      toDevice: c.me && r.chance(0.7) ? c.me.deviceId : idOf(r),
      body: b64(r, r.int(1, 400)),
    })),
  }),
  [EVENTS.devicesPublish]: (r, c) => ({ from: c.me?.address ?? anyAddress(r, c), list: b64(r, r.int(64, 2000)) }),
  [EVENTS.provisionListen]: (r) => ({ channel: b64(r, 16) }),
  [EVENTS.provisionSend]: (r) => ({ channel: b64(r, 16), body: b64(r, r.int(1, 2000)) }),
  [EVENTS.blobDelete]: (r, c) => ({ from: c.me?.address ?? anyAddress(r, c), id: b64(r, 32) }),
};

// ---------------------------------------------------------------------------------------------
// Mutations.

// 1e999 parses as Infinity and -0 as -0; NaN, Infinity, hex and leading zeros are not JSON at all.
const EDGE_NUMBERS = [
  "1e308",
  "-1e308",
  "1e999",
  "-1e999",
  "-0",
  "0.0",
  "1e-400",
  "9007199254740993",
  "2147483647",
  "2147483648",
  "4294967296",
  "-2147483649",
  "0.5",
  "1E2",
  "123456789012345678901234567890",
  "NaN",
  "Infinity",
  "0x10",
  "01",
];
const EDGE_STRINGS = [
  "",
  " ",
  "\u0000",
  "\ud800",
  "\udfff",
  "\ud83d",
  "\ufeff",
  "\u202e",
  "a\u0301",
  "😀",
  "\uffff",
  "ｍｅｓｓｅｎｇｅｒ:alice.smith",
  "MESSENGER:ALICE.SMITH",
  " messenger:alice.smith ",
  "messenger:",
  ":",
  "messenger:alice..smith",
  "whatsapp:+1 555 123 4567",
  "instagram:@",
  "\\",
  '"',
  "%00",
  "__proto__",
  "constructor",
  "toString",
  `${CANARY}:${CANARY}`,
  `${CANARY}`,
];
const RAW_STRINGS = ['"\\u0000"', '"\\ud83d"', '"\\udc00\\ud800"', '"\\x41"', '"\\u00"', '"a\nb"', '"\\/"'];
const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__", "then", ""];

// The big values are a few dozen distinct strings: built once, not per frame.
const memo = new Map<string, string>();
function once(key: string, make: () => string): string {
  let v = memo.get(key);
  if (v === undefined) memo.set(key, (v = make()));
  return v;
}

function hugeString(r: Rng): string {
  const n = r.pick([1000, 65_536, 200_000, MAX_FRAME_BYTES - 512, MAX_FRAME_BYTES + 16, Math.min(TRANSPORT_MAX_BYTES - 4096, 3 * 1024 * 1024)]);
  const ch = r.pick(["A", "é", "\u0000", "😀"]);
  return once(`huge ${n} ${ch}`, () => CANARY + ch.repeat(Math.max(0, Math.floor(n / 2))));
}

function deep(r: Rng): Raw {
  const d = r.pick([9, 10, 64, 1000, 100_000]);
  const arrays = r.chance(0.5);
  return new Raw(once(`deep ${d} ${arrays}`, () => (arrays ? "[".repeat(d) + "]".repeat(d) : '{"a":'.repeat(d) + "1" + "}".repeat(d))));
}

function bigArray(r: Rng): Raw {
  const n = r.pick([201, 1001, 100_000]);
  const item = r.pick(["0", "{}", '"a"', "[]", "null", '{"id":1,"publicKey":"AAAA"}']);
  return new Raw(once(`array ${n} ${item}`, () => `[${new Array<string>(n).fill(item).join(",")}]`));
}

function editString(r: Rng, s: string): J {
  switch (r.int(0, 6)) {
    case 0:
      return s.slice(0, -1);
    case 1:
      return s + "A";
    case 2: {
      const at = r.int(0, s.length);
      return s.slice(0, at) + r.pick(["+", "/", "=", " ", ".", "\u0000", "é"]) + s.slice(at);
    }
    case 3:
      return s.toUpperCase();
    case 4:
      return s.length > 100_000 ? s : s.repeat(r.int(2, 50));
    case 5:
      return ` ${s} `;
    default:
      return CANARY + s;
  }
}

function replacement(r: Rng, node: J): J {
  switch (r.int(0, 9)) {
    case 0:
      return r.pick<J>([0, -1, 1, 1.5, true, false, null, "", "a", [], new Obj([]), [node], new Obj([["value", node]])]);
    case 1:
      return new Raw(r.pick(EDGE_NUMBERS));
    case 2:
      return r.pick(EDGE_STRINGS);
    case 3:
      return new Raw(r.pick(RAW_STRINGS));
    case 4:
      return typeof node === "string" ? editString(r, node) : r.pick(EDGE_STRINGS);
    case 5:
      return r.chance(0.25) ? hugeString(r) : CANARY.repeat(r.int(1, 2000));
    case 6:
      return deep(r);
    case 7:
      return bigArray(r);
    case 8:
      return typeof node === "number" ? r.pick([node + 1, node - 1, -node, node * 2 ** 31, 0x7fffffff + 1]) : r.u32();
    default:
      return new Obj([[r.pick(PROTO_KEYS), new Obj([["polluted", true]])]]);
  }
}

/** Grows, shrinks or reshapes a container in place; returns the container or what replaces it. */
function reshape(r: Rng, node: J[] | Obj): J {
  if (Array.isArray(node)) {
    switch (r.int(0, 3)) {
      case 0:
        node.splice(r.int(0, Math.max(0, node.length - 1)), 1);
        return node;
      case 1: {
        // past every array cap of the protocol (100, 200, 1000); a big item is not copied a thousand times
        const first = node.length && roughSize(node[0], 4096) <= 4096 ? node[0] : null;
        const n = r.pick([101, 201, 1001]);
        // copies, not one shared object: a later mutation must not grow all thousand at once
        for (let i = node.length; i < n; i++) node.push(cloneJ(first));
        return node;
      }
      case 2:
        return [];
      default:
        return new Obj(node.map((v, i) => [String(i), v]));
    }
  }
  switch (r.int(0, 4)) {
    case 0:
      if (node.entries.length) node.entries.splice(r.int(0, node.entries.length - 1), 1);
      return node;
    case 1:
      node.entries.push([r.pick(PROTO_KEYS), r.chance(0.5) ? new Obj([["polluted", true]]) : r.pick<J>([1, "x", null, []])]);
      return node;
    case 2: {
      // a duplicate key: JSON.parse keeps the last one
      const dup = node.entries.length ? node.entries[r.int(0, node.entries.length - 1)] : (["x", 1] as [string, J]);
      node.entries.push([dup[0], replacement(r, dup[1])]);
      return node;
    }
    case 3:
      node.entries.push([r.pick(["extra", CANARY, "é", "a".repeat(10_000), "0"]), r.pick<J>([1, "x", null, new Obj([])])]);
      return node;
    default:
      return [node];
  }
}

function mutate(r: Rng, node: J, depth = 0): J {
  const container = Array.isArray(node) || node instanceof Obj;
  const size = Array.isArray(node) ? node.length : node instanceof Obj ? node.entries.length : 0;
  if (container && depth < 8 && r.chance(size ? 0.75 : 0.3)) {
    if (!size || r.chance(0.2)) return reshape(r, node as J[] | Obj);
    const i = r.int(0, size - 1);
    if (Array.isArray(node)) node[i] = mutate(r, node[i], depth + 1);
    else (node as Obj).entries[i][1] = mutate(r, (node as Obj).entries[i][1], depth + 1);
    return node;
  }
  return replacement(r, node);
}

function randomJ(r: Rng, depth = 0): J {
  const roll = r.int(0, depth > 3 ? 5 : 8);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.chance(0.5) ? r.int(-1000, 1000) : new Raw(r.pick(EDGE_NUMBERS));
    case 3:
      return r.pick(EDGE_STRINGS);
    case 4:
      return b64(r, r.int(0, 64));
    case 5:
      return CANARY + r.u32().toString(36);
    case 6:
    case 7:
      return Array.from({ length: r.int(0, 4) }, () => randomJ(r, depth + 1));
    default:
      return new Obj(Array.from({ length: r.int(0, 4) }, () => [r.chance(0.2) ? r.pick(PROTO_KEYS) : r.pick(["address", "deviceId", "envelopes", "id", "to", "body", "limit", "from", "x"]), randomJ(r, depth + 1)] as [string, J]));
  }
}

/** Replaces 1–n string leaves of a payload with attachments, or appends one where there are none. */
function withAttachments(r: Rng, payload: J, sizeOf: () => number, n: number): J {
  const holders: (J[] | Obj)[] = [];
  const walk = (v: J) => {
    if (Array.isArray(v)) {
      holders.push(v);
      v.forEach(walk);
    } else if (v instanceof Obj) {
      holders.push(v);
      v.entries.forEach(([, x]) => walk(x));
    }
  };
  walk(payload);
  for (let i = 0; i < n; i++) {
    const bin = new Bin(r.bytes(sizeOf()));
    const h = holders.length ? holders[r.u32() % holders.length] : null;
    if (h instanceof Obj && h.entries.length) h.entries[r.u32() % h.entries.length][1] = bin;
    else if (Array.isArray(h) && h.length) h[r.u32() % h.length] = bin;
    else if (payload instanceof Obj) payload.entries.push([`blob${i}`, bin]);
    else payload = [payload, bin];
  }
  return payload;
}

// ---------------------------------------------------------------------------------------------
// Units: one generated item, its frames and what its ack must look like.

function preview(text: string): string {
  return text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text;
}

/** What the relay will see for `42<id><json>`, and what its request schema says about it. */
function judge(json: string): { name: unknown; valid: boolean; argBytes: number } | null {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return null; // socket.io-parser refuses it and closes the connection: no ack
  }
  if (!Array.isArray(data) || !(typeof data[0] === "number" || (typeof data[0] === "string" && !RESERVED_EVENTS.includes(data[0])))) return null;
  const [name, ...args] = data as [unknown, ...unknown[]];
  let argBytes: number;
  try {
    argBytes = Buffer.byteLength(JSON.stringify(args[0]) ?? "");
  } catch {
    argBytes = Number.POSITIVE_INFINITY;
  }
  const known = typeof name === "string" && Object.prototype.hasOwnProperty.call(SCHEMAS, name);
  const valid = known && args.length === 1 && SCHEMAS[name as ClientEvent].request.safeParse(args[0]).success;
  return { name, valid, argBytes };
}

// Large payloads are judged only if the relay accepts them: parsing MiBs for every refusal would slow the fuzzer.
const JUDGE_EAGERLY_BELOW = 64 * 1024;

function eventUnit(kind: Kind | SetupKind, c: GenContext, name: J, args: J[], opts: { ack?: boolean; legit?: boolean; legitSend?: Expectation["legitSend"] } = {}): Unit {
  const json = encodeJ([name, ...args]);
  if (opts.ack === false) return { kind, frames: [`42${json}`], preview: preview(`42${json}`) };
  const id = c.ackId();
  const text = `42${id}${json}`;
  const unit: Unit = { kind, frames: [text], preview: preview(text) };
  if (json.length < JUDGE_EAGERLY_BELOW) {
    const verdict = judge(json);
    if (verdict) unit.expect = { id, event: verdict.name, legit: Boolean(opts.legit), valid: verdict.valid, argBytes: verdict.argBytes, legitSend: opts.legitSend };
  } else {
    // Not parsed here (MiBs per frame would slow the fuzzer): sent on a side connection, where the
    // relay either answers, judged then, or closes it (bad JSON, reserved name, over the cap).
    unit.expect = { id, event: typeof name === "string" ? name : null, legit: false, valid: null, json, argBytes: Number.NaN };
    unit.reconnect = true;
  }
  // Without an expectation the relay closes the connection (bad JSON, reserved name).
  if (!unit.expect) unit.reconnect = true;
  return unit;
}

function binaryUnit(kind: Kind, c: GenContext, name: J, args: J[], ack = true): Unit {
  const bins: Uint8Array[] = [];
  const json = encodeJ([name, ...args], bins);
  const id = ack ? c.ackId() : null;
  const header = bins.length ? `45${bins.length}-${id ?? ""}${json}` : `42${id ?? ""}${json}`;
  const unit: Unit = {
    kind,
    frames: [header, ...bins.map((b) => ({ binary: b }))],
    preview: preview(header) + (bins.length ? ` + ${bins.length} attachments of ${bins.map((b) => b.length).join("/")} bytes` : ""),
    // a relay that refuses binary closes the connection
    reconnect: bins.length > 0,
  };
  // A payload with an attachment in it is never schema-valid (no schema admits a Buffer).
  if (id !== null) unit.expect = { id, event: typeof name === "string" ? name : null, legit: false, valid: bins.length ? false : (judge(json)?.valid ?? false), argBytes: Number.NaN };
  return unit;
}

function legitUnit(r: Rng, c: GenContext): Unit {
  const me = c.me;
  const roll = r.float();
  if (!me || !c.loggedIn) return eventUnit("legit", c, EVENTS.challenge, [toJ({ deviceId: idOf(r) })], { legit: true });
  // sends are a third: each is a synchronous SQLite write and fsync in the relay, which bounds its throughput
  if (roll < 0.35) {
    const id = idOf(r) + "L";
    const body = b64(r, r.int(1, 2048));
    const payload = { from: me.address, envelopes: [{ id, to: me.address, toDevice: me.deviceId, body }] };
    return eventUnit("legit", c, EVENTS.send, [toJ(payload)], { legit: true, legitSend: { id, body } });
  }
  if (roll < 0.6) return eventUnit("legit", c, EVENTS.keysStatus, [toJ({ address: me.address })], { legit: true });
  if (roll < 0.8) return eventUnit("legit", c, EVENTS.fetch, [toJ({ limit: r.int(1, 50) })], { legit: true });
  return eventUnit("legit", c, EVENTS.lookup, [toJ({ address: me.address })], { legit: true });
}

const UNKNOWN_NAMES: J[] = [
  "",
  " ",
  "register ",
  "REGISTER",
  "Auth:Login",
  EVENTS.deliver,
  "auth:",
  "auth:login:extra",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "__defineGetter__",
  "error",
  "x".repeat(10_000),
  "\u0000",
  "😀",
  "mailbox:send\u0000",
  "\ud800",
  0,
  1,
  -1,
  new Raw("1e999"),
  ...RESERVED_EVENTS,
];

function sioMalformed(r: Rng, c: GenContext): Unit {
  const name = r.pick(CLIENT_EVENTS);
  const json = encodeJ([name, toJ(TEMPLATES[name](r, c))]);
  const good = `42${c.ackId()}${json}`;
  const texts = [
    "4",
    `4${CANARY}`,
    "42",
    "42[",
    "42{}",
    '42"x"',
    "42[]",
    "42[{}]",
    "42[null]",
    "42[true]",
    "42[[1]]",
    good.slice(0, r.int(2, good.length - 1)),
    `43${r.int(0, 1000)}[${encodeJ(randomJ(r))}]`,
    "43[]",
    "43abc",
    `4${r.pick(["7", "8", "9", "a", "-", " "])}${encodeJ(randomJ(r))}`,
    "44{}",
    '44"x"',
    `42/nope,${r.int(0, 9)}["x"]`,
    `42 ${good.slice(2)}`,
    `42123456789012345678901234567890${json}`,
    `42${good.slice(2)}${json}`,
    '42["x",{"a":1,}]',
    '42["x"/*c*/]',
    `42${c.ackId()}["${name}",${encodeJ(randomJ(r))}]trailing`,
    "42\u0000[]",
  ];
  const text = r.pick(texts);
  return { kind: "sio_malformed", frames: [text], preview: preview(text), reconnect: true };
}

function sioNamespace(r: Rng): Unit {
  const text = r.pick(["40/admin,", '40/admin,{"token":"x"}', "40/nope,{}", "40/,{}", "40", `40{"token":"${CANARY}"}`, "41", "41/admin,", "44{}", "40/", '40/admin,["x"]', `40${"/".repeat(1000)},`]);
  return { kind: "sio_namespace", frames: [text], preview: text, reconnect: true };
}

function eioControl(r: Rng): Unit {
  const frame = r.pick<Frame>(["2", "2probe", "3", "3probe", "5", "6", "6junk", { wsPing: true }]);
  // EIO4 heartbeats go relay → client: a client's ping is a protocol error that ends the connection
  return { kind: "eio_control", frames: [frame], preview: typeof frame === "string" ? frame : "ws ping", reconnect: frame === "5" || frame === "2" || frame === "2probe" };
}

function eioGarbage(r: Rng): Unit {
  const choices: Frame[] = [
    "",
    "0",
    "0{}",
    "1",
    "7",
    "8",
    "9",
    "b",
    "bAAAA",
    `b${b64(r, 16)}`,
    "\u0000",
    "😀",
    String.fromCharCode(...Array.from({ length: 32 }, () => r.int(1, 0xd7ff))),
    { badText: Uint8Array.from([0x34, 0x32, 0xff, 0xfe, 0xc0, 0x80]) },
    { badText: Uint8Array.from([0xed, 0xa0, 0x80]) },
    `4${"2".repeat(r.int(1, 64))}`,
  ];
  const frame = r.pick(choices);
  return { kind: "eio_garbage", frames: [frame], preview: typeof frame === "string" ? JSON.stringify(frame) : "invalid UTF-8 text frame", reconnect: true };
}

function binaryEvent(r: Rng, c: GenContext): Unit {
  const name: J = r.chance(0.8) ? r.pick(CLIENT_EVENTS) : r.pick(UNKNOWN_NAMES.filter((n) => !RESERVED_EVENTS.includes(n as string)));
  const template = typeof name === "string" && Object.prototype.hasOwnProperty.call(TEMPLATES, name) ? TEMPLATES[name as ClientEvent](r, c) : {};
  const small = () => r.pick([0, 1, 32, 1024, 65_536, r.int(1, 200_000)]);
  const payload = withAttachments(r, toJ(template), small, r.int(1, 3));
  return binaryUnit("binary_event", c, name, r.chance(0.1) ? [payload, new Bin(r.bytes(small()))] : [payload], r.chance(0.9));
}

function binaryMalformed(r: Rng, c: GenContext): Unit {
  const att = () => ({ binary: r.bytes(r.pick([0, 1, 16, 4096, 65_536])) });
  const ph = (num: string) => `{"_placeholder":true,"num":${num}}`;
  const id = c.ackId();
  const variants: (() => Frame[])[] = [
    () => [att()],
    () => [`45-${id}["register",${ph("0")}]`, att()],
    () => [`450-${id}["register",{}]`, att()],
    () => [`45-1-${id}["register",${ph("0")}]`, att()],
    () => [`4511-${id}["register",${ph("0")}]`, att()],
    () => [`45${r.pick(["99999999999", "1e9", "4294967297", "9007199254740993"])}-${id}["register",${ph("0")}]`, att()],
    () => [`451.5-${id}["register",${ph("0")}]`, att()],
    () => [`45abc-${id}["register",${ph("0")}]`, att()],
    () => [`451-${id}`, att()],
    () => [`451-${id}["register",${ph(r.pick(["5", "-1", '"0"', "0.5", "1e999", "null", "[0]"]))}]`, att()],
    () => [`451-${id}["register",{"_placeholder":"true","num":0}]`, att()],
    () => [`451-${id}["register",${"[".repeat(5000)}${ph("0")}${"]".repeat(5000)}]`, att()],
    () => [`453-${id}["register",[${ph("0")},${ph("1")},${ph("2")}]]`, att(), `42${c.ackId()}["keys:status",{}]`],
    () => [`452-${id}["register",[${ph("0")},${ph("1")}]]`, att(), att(), att()],
    () => [`461-${id}[${ph("0")}]`, att()],
    () => [`46${r.int(1, 10)}-${id}[]`, att()],
    () => [`45${r.int(1, 10)}-${id}["auth:challenge",{"deviceId":"abcdefgh"}]`],
  ];
  const frames = r.pick(variants)();
  const first = frames[0];
  return { kind: "binary_malformed", frames, preview: typeof first === "string" ? preview(first) + ` + ${frames.length - 1} frames` : "binary frame without a header", reconnect: true };
}

function binaryHeavy(r: Rng, c: GenContext): Unit {
  const name = c.loggedIn ? r.pick(CLIENT_EVENTS) : r.pick(PRE_LOGIN_EVENTS);
  const payload = toJ(TEMPLATES[name](r, c));
  const blobs = Array.from({ length: 10 }, () => new Bin(r.bytes(TRANSPORT_MAX_BYTES)));
  if (payload instanceof Obj) payload.entries.push(["blobs", blobs]);
  return binaryUnit("binary_heavy", c, name, [payload instanceof Obj ? payload : blobs]);
}

function binaryAlias(r: Rng, c: GenContext): Unit {
  const size = r.pick([64 * 1024, 1024 * 1024, TRANSPORT_MAX_BYTES]);
  const refs = r.pick([1000, 10_000, Math.floor((TRANSPORT_MAX_BYTES - 1024) / 30)]);
  const blob = new Bin(r.bytes(size));
  const name = r.pick(PRE_LOGIN_EVENTS);
  return binaryUnit("binary_alias", c, name, [new Obj([["deviceId", new Array<J>(refs).fill(blob)]])]);
}

function eventBig(r: Rng, c: GenContext): Unit {
  const name = r.pick(CLIENT_EVENTS);
  switch (r.int(0, 4)) {
    case 0: {
      // envelopes at the body cap, around MAX_FRAME_BYTES in total
      const n = r.pick([7, 8, 11, 30]);
      const body = b64(r, MAX_ENVELOPE_BYTES);
      const from = c.me?.address ?? anyAddress(r, c);
      const envelopes = Array.from({ length: n }, () => ({ id: idOf(r), to: from, toDevice: c.me?.deviceId ?? idOf(r), body }));
      return eventUnit("event_big", c, EVENTS.send, [toJ({ from, envelopes })]);
    }
    case 1:
      return eventUnit("event_big", c, name, [new Obj([[r.pick(["envelopes", "oneTimePrekeys", "deviceIds", "address"]), bigArray(r)]])]);
    case 2:
      return eventUnit("event_big", c, name, [deep(r)]);
    case 3: {
      // a text frame over the transport cap: the relay must drop the connection, not buffer it
      const text = `42${c.ackId()}["${name}","${"A".repeat(TRANSPORT_MAX_BYTES + 16)}"]`;
      return { kind: "event_big", frames: [text], preview: preview(text), reconnect: true };
    }
    default:
      return eventUnit("event_big", c, name, [hugeString(r)]);
  }
}

function eventArgs(r: Rng, c: GenContext): Unit {
  const name = r.pick(CLIENT_EVENTS);
  const payload = toJ(TEMPLATES[name](r, c));
  switch (r.int(0, 5)) {
    case 0:
      return eventUnit("event_args", c, name, []);
    case 1:
      return eventUnit("event_args", c, name, [payload, ...Array.from({ length: r.int(1, 3) }, () => randomJ(r))]);
    case 2:
      return eventUnit("event_args", c, name, [payload], { ack: false });
    case 3:
      return eventUnit("event_args", c, name, [null]);
    case 4: {
      const text = `42${r.pick(["0", "000", "9007199254740993", "1e3", "4294967296", "99999999999999999999999"])}${encodeJ([name, payload])}`;
      // `1e3` parses as id 1 followed by invalid JSON: some of these end the connection
      return { kind: "event_args", frames: [text], preview: preview(text), reconnect: true };
    }
    default:
      return eventUnit("event_args", c, name, [payload, new Obj([["_placeholder", true], ["num", 0]])]);
  }
}

/** Draws one unit of `kind` for a lane. */
export function generate(kind: Kind, r: Rng, c: GenContext): Unit {
  switch (kind) {
    case "legit":
      return legitUnit(r, c);
    case "event_mutated": {
      const name = r.pick(CLIENT_EVENTS);
      let payload = toJ(TEMPLATES[name](r, c));
      for (let i = r.int(1, 3); i > 0; i--) payload = mutate(r, payload);
      return eventUnit(kind, c, name, [payload]);
    }
    case "event_random":
      return eventUnit(kind, c, r.pick(CLIENT_EVENTS), Array.from({ length: r.chance(0.8) ? 1 : r.int(0, 3) }, () => randomJ(r)));
    case "event_unknown": {
      const ev = r.pick(CLIENT_EVENTS);
      const unit = eventUnit(kind, c, r.pick(UNKNOWN_NAMES), [toJ(TEMPLATES[ev](r, c))]);
      return { ...unit, reconnect: !unit.expect };
    }
    case "event_args":
      return eventArgs(r, c);
    case "event_big":
      return eventBig(r, c);
    case "sio_malformed":
      return sioMalformed(r, c);
    case "sio_namespace":
      return sioNamespace(r);
    case "eio_control":
      return eioControl(r);
    case "eio_garbage":
      return eioGarbage(r);
    case "binary_event":
      return binaryEvent(r, c);
    case "binary_malformed":
      return binaryMalformed(r, c);
    case "binary_heavy":
      return binaryHeavy(r, c);
    case "binary_alias":
      return binaryAlias(r, c);
  }
}

// ---------------------------------------------------------------------------------------------
// The relay's memory, from /proc.

export interface ProcMemory {
  rssMb: number;
  hwmMb: number;
}

export function readProcMemory(pid: number): ProcMemory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Findings: what the oracles caught.

export type Severity = "fail" | "note";
export interface Finding {
  type: string;
  severity: Severity;
  /** How often it was seen. */
  count: number;
  detail: string;
  /** The first frame (or unit) that showed it. */
  example: string;
  lane: number | null;
  kind: string | null;
}

class Findings {
  private readonly byKey = new Map<string, Finding>();
  add(type: string, severity: Severity, detail: string, example = "", where: { lane?: number; kind?: string } = {}): void {
    const key = `${type}\n${detail}`;
    const known = this.byKey.get(key);
    if (known) {
      known.count++;
      return;
    }
    this.byKey.set(key, { type, severity, count: 1, detail, example, lane: where.lane ?? null, kind: where.kind ?? null });
  }
  list(): Finding[] {
    return [...this.byKey.values()];
  }
}

// ---------------------------------------------------------------------------------------------
// A lane: one main raw websocket (logged in for even lanes), reopened whenever the relay closes it or
// its per-connection rate buckets run dry, and short-lived side connections for the frames that may
// end a connection.

const ACK_WINDOW = 32;
const ACK_TIMEOUT_MS = 15_000;
const CONNECT_TIMEOUT_MS = 5_000;
const RATE_LIMITED_STREAK_RECONNECT = 40;
const EVENTS_PER_CONNECTION = 280;
const SIDE_CONNECTIONS = 4;
/** Bytes of side-connection units in flight across all lanes (cap-sized attachments are copied to be masked). */
const SIDE_BYTES = 256 * 1024 * 1024;

function unitBytes(unit: Unit): number {
  let n = 0;
  for (const f of unit.frames) n += typeof f === "string" ? f.length : "binary" in f ? f.binary.length : "badText" in f ? f.badText.length : 0;
  return n;
}

interface Pending {
  sentAt: number;
  loggedIn: boolean;
  expect?: Expectation;
  kind?: string;
  preview?: string;
  resolve?: (ack: unknown) => void;
}

class RunState {
  frames = 0;
  bytes = 0;
  readonly unitsByKind: Record<string, number> = {};
  readonly framesByKind: Record<string, number> = {};
  readonly acks: Record<string, number> = {};
  connectionsOpened = 0;
  connectFailures = 0;
  closedByRelay = 0;
  readonly connectFailureReasons: Record<string, number> = {};
  sideBytes = 0;
  /** Connections the relay closed, by the kind of the last unit sent on them. */
  readonly closesByKind: Record<string, number> = {};
  strayAcks = 0;
  stopped = false;
  readonly findings = new Findings();
  /** Per identity: legitimate envelopes the relay acked as stored (id → hash of the body), and the ids that came back. */
  readonly legitStored = new Map<string, Map<string, number>>();
  readonly legitReceived = new Map<string, Set<string>>();
  legitSent = 0;
  legitOk = 0;
  /** Last connect, ack or message from the relay: a relay that makes no progress for long is reported, not waited on. */
  lastProgress = Date.now();
  stopReason: string | null = null;
  constructor(
    readonly frameBudget: number,
    readonly deadline: number,
  ) {}
  done(): boolean {
    return this.stopped || this.frames >= this.frameBudget || Date.now() >= this.deadline;
  }
  tally(record: Record<string, number>, key: string, n = 1): void {
    record[key] = (record[key] ?? 0) + n;
  }
}

function wsUrlOf(url: string): string {
  const u = new URL(url);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = "/socket.io/";
  u.search = "?EIO=4&transport=websocket";
  return u.toString();
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms).unref());

class Lane {
  private ws: WebSocket | null = null;
  private ready = false;
  loggedIn = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly recent: { to: string; id: string }[] = [];
  private eventsOnConnection = 0;
  private rateLimitedStreak = 0;
  private wake: (() => void) | null = null;
  private dirty = false;
  lastKind = "";
  /** The last units sent on the main connection, to show with an unexpected close. */
  private readonly lastUnits: string[] = [];
  /** A short-lived connection for one unit that may end it (see sideConnection). */
  isSide = false;
  private closeCode = 0;

  constructor(
    readonly index: number,
    private readonly url: string,
    private readonly rng: Rng,
    private readonly mix: Mix,
    private readonly identity: Identity | null,
    private readonly peers: readonly string[],
    private readonly authKeys: readonly string[],
    private readonly state: RunState,
    /** Local address to connect from (see clientAddresses), or the system's choice. */
    private readonly from: string | undefined,
  ) {}

  private ctx(): GenContext {
    return { me: this.identity, peers: this.peers, recent: this.recent, authKeys: this.authKeys, loggedIn: this.loggedIn, ackId: () => this.nextId++ };
  }

  private get open(): boolean {
    return this.ready && this.ws?.readyState === WebSocket.OPEN;
  }

  async run(): Promise<void> {
    let backoff = 50;
    while (!this.state.done()) {
      if (!this.open || this.dirty) {
        this.close();
        if (!(await this.connect())) {
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 2000);
          continue;
        }
        backoff = 50;
      }
      const kind = this.rng.weighted(this.mix);
      const unit = generate(kind, this.rng, this.ctx());
      if (unit.reconnect) await this.sideConnection(unit);
      else {
        this.lastKind = unit.kind;
        this.lastUnits.push(`[${unit.kind}] ${unit.preview.slice(0, 200)}`);
        if (this.lastUnits.length > 4) this.lastUnits.shift();
        this.send(unit);
      }
      // fresh rate buckets: the relay's limits are per connection
      if (this.eventsOnConnection >= EVENTS_PER_CONNECTION || this.rateLimitedStreak >= RATE_LIMITED_STREAK_RECONNECT) {
        await this.settle(2000);
        this.dirty = true;
      }
      await this.throttle();
      // a macrotask turn, or acks, pushes and timers would wait behind a loop of frames without acks
      await new Promise<void>((done) => setImmediate(done));
    }
    await Promise.all(this.side);
  }

  private readonly side = new Set<Promise<void>>();

  /**
   * Sends a unit that may end its connection on a short-lived anonymous connection of its own, so the
   * main one keeps its login and its outstanding acks. Up to SIDE_CONNECTIONS per lane run at once.
   */
  private async sideConnection(unit: Unit): Promise<void> {
    const bytes = unitBytes(unit);
    while (this.side.size >= SIDE_CONNECTIONS || (this.state.sideBytes > 0 && this.state.sideBytes + bytes > SIDE_BYTES)) {
      await Promise.race([...this.side, sleep(50)]);
    }
    this.state.sideBytes += bytes;
    const run = (async () => {
      const lane = new Lane(this.index, this.url, this.rng, this.mix, null, this.peers, this.authKeys, this.state, this.from);
      lane.isSide = true;
      try {
        if (!(await lane.connect())) return;
        lane.lastKind = unit.kind;
        lane.send(unit);
        if (unit.expect) {
          await lane.settle(ACK_TIMEOUT_MS + 500);
          lane.expireAcks();
        } else await lane.closedWithin(25);
      } finally {
        lane.close();
        this.state.sideBytes -= bytes;
      }
    })();
    this.side.add(run);
    void run.finally(() => this.side.delete(run));
  }

  /** Opens the websocket, joins the default namespace and, for an authed lane, logs in. */
  async connect(): Promise<boolean> {
    this.connecting = true;
    try {
      return await this.handshake();
    } finally {
      this.connecting = false;
    }
  }

  private connecting = false;

  private async handshake(): Promise<boolean> {
    this.nextId = 1;
    this.eventsOnConnection = 0;
    this.rateLimitedStreak = 0;
    this.dirty = false;
    const ws = new WebSocket(wsUrlOf(this.url), {
      perMessageDeflate: false,
      maxPayload: 256 * 1024 * 1024,
      handshakeTimeout: CONNECT_TIMEOUT_MS,
      // An all-zero masking key is legal, and ws then skips XOR-ing MiBs of attachments.
      generateMask: (mask: Buffer) => void mask.fill(0),
      ...(this.from ? { localAddress: this.from } : {}),
    });
    this.ws = ws;
    let failure = "timeout before the websocket opened";
    ws.on("open", () => (failure = "timeout before engine.io's open packet"));
    const joined = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
      ws.on("message", (data, isBinary) => {
        if (isBinary) return this.state.findings.add("unexpected_binary", "note", "the relay sent a binary frame", "", { lane: this.index });
        const text = data.toString();
        this.state.lastProgress = Date.now();
        if (text.startsWith("0")) {
          failure = "timeout before socket.io's connect packet";
          ws.send("40");
        } else if (text.startsWith("40")) {
          clearTimeout(timer);
          resolve(true);
        } else if (text.startsWith("44")) {
          failure = `refused: ${text.slice(2, 80)}`;
          clearTimeout(timer);
          resolve(false);
        } else this.onMessage(text);
      });
      ws.on("close", (code) => {
        if (failure.startsWith("timeout")) failure = `closed (${code}) after ${failure.slice(15)}`;
        clearTimeout(timer);
        resolve(false);
        this.closeCode = code;
        this.onClose(ws);
      });
      ws.on("error", (err) => {
        failure = err.message.slice(0, 80);
      });
    });
    if (!(await joined)) {
      this.state.connectFailures++;
      this.state.tally(this.state.connectFailureReasons, failure);
      this.close();
      return false;
    }
    this.ready = true;
    this.state.connectionsOpened++;
    this.state.lastProgress = Date.now();
    this.loggedIn = false;
    if (this.identity && !(await this.login(this.identity))) {
      this.close();
      return false;
    }
    return true;
  }

  private async login(identity: Identity): Promise<boolean> {
    const challenge = await this.request(EVENTS.challenge, { deviceId: identity.deviceId });
    if (!isOk(challenge) || typeof challenge.nonce !== "string") return false;
    const signature = identity.device.sign(fromB64(challenge.nonce));
    const res = await this.request(EVENTS.login, { deviceId: identity.deviceId, signature });
    this.loggedIn = isOk(res);
    if (!this.loggedIn) this.state.tally(this.state.acks, "login_refused");
    return this.loggedIn;
  }

  /** A well-formed request whose ack is awaited (login, drain), not judged. */
  request(event: string, payload: unknown, timeoutMs = 10_000): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.pending.set(id, {
        sentAt: Date.now(),
        loggedIn: this.loggedIn,
        resolve: (ack) => {
          clearTimeout(timer);
          resolve(ack);
        },
      });
      if (!this.write({ kind: "setup", frames: [`42${id}${JSON.stringify([event, payload])}`], preview: event })) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(null);
      }
    });
  }

  private write(unit: Unit): boolean {
    const ws = this.ws;
    const s = this.state;
    s.tally(s.unitsByKind, unit.kind);
    for (const frame of unit.frames) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      let bytes: number;
      if (typeof frame === "string") {
        ws.send(frame);
        bytes = Buffer.byteLength(frame);
      } else if ("binary" in frame) {
        ws.send(frame.binary, { binary: true });
        bytes = frame.binary.length;
      } else if ("badText" in frame) {
        ws.send(frame.badText, { binary: false });
        bytes = frame.badText.length;
      } else {
        ws.ping();
        bytes = 0;
      }
      s.frames++;
      s.bytes += bytes;
      s.tally(s.framesByKind, unit.kind);
    }
    return true;
  }

  send(unit: Unit): void {
    const e = unit.expect;
    if (e) {
      this.pending.set(e.id, { sentAt: Date.now(), loggedIn: this.loggedIn, expect: e, kind: unit.kind, preview: unit.preview });
      this.eventsOnConnection++;
      if (e.legitSend) {
        this.state.legitSent++;
        this.sentBodies.set(e.legitSend.id, hashOf(e.legitSend.body));
      }
    }
    if (!this.write(unit) && e) this.pending.delete(e.id);
  }

  /** Waits while the ack window is full or the socket's send buffer is large. */
  private async throttle(): Promise<void> {
    const started = Date.now();
    while (this.open && (this.pending.size >= ACK_WINDOW || (this.ws?.bufferedAmount ?? 0) > 4 * 1024 * 1024)) {
      this.expireAcks();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
      if (Date.now() - started > ACK_TIMEOUT_MS * 2) break;
    }
    this.expireAcks();
  }

  expireAcks(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (!p.expect || now - p.sentAt < ACK_TIMEOUT_MS) continue;
      this.pending.delete(id);
      this.state.tally(this.state.acks, "timeout");
      this.state.findings.add("ack_timeout", "fail", `no ack within ${ACK_TIMEOUT_MS / 1000} s on an open connection`, p.preview ?? "", { lane: this.index, kind: p.kind });
    }
  }

  async closedWithin(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.open && Date.now() < until) await sleep(5);
  }

  /** True while this lane waits on the relay: an ack, or a connection being opened. */
  waiting(): boolean {
    return this.pending.size > 0 || this.connecting || this.side.size > 0;
  }

  /** One line on what this lane waits for, for a run that stopped making progress. */
  describe(): string {
    let oldest = 0;
    for (const p of this.pending.values()) oldest = Math.max(oldest, Date.now() - p.sentAt);
    const ws = this.ws ? ["connecting", "open", "closing", "closed"][this.ws.readyState] : "none";
    return `lane ${this.index}: ${ws}${this.loggedIn ? ", logged in" : ""}, ${this.pending.size} acks outstanding (oldest ${(oldest / 1000).toFixed(1)} s), ${this.side.size} side connections, send buffer ${this.ws?.bufferedAmount ?? 0} B`;
  }

  /** Waits (up to `ms`) for the acks still outstanding. */
  async settle(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.open && [...this.pending.values()].some((p) => p.expect) && Date.now() < until) await sleep(50);
  }

  private onMessage(text: string): void {
    if (text === "2") {
      this.ws?.send("3");
      return;
    }
    if (text.startsWith("41")) {
      this.close();
      return;
    }
    if (text.startsWith("43")) {
      const m = /^43(\d*)(.*)$/s.exec(text);
      if (!m || !m[1]) return this.state.findings.add("malformed_ack", "fail", "ack packet without an id", preview(text), { lane: this.index });
      // socket.io writes a client-chosen id past 2^53 as 1.2e+29: not the relay's doing, and no id of ours
      if (/^[.eE]/.test(m[2])) return this.state.findings.add("odd_ack_id", "note", "socket.io echoed a client-chosen ack id in exponent form", preview(text), { lane: this.index });
      let data: unknown;
      try {
        data = JSON.parse(m[2]);
      } catch {
        return this.state.findings.add("malformed_ack", "fail", "ack packet with invalid JSON", preview(text), { lane: this.index });
      }
      this.onAck(Number(m[1]), data);
    } else if (text.startsWith("42")) {
      let data: unknown;
      try {
        data = JSON.parse(text.slice(2));
      } catch {
        return this.state.findings.add("malformed_push", "fail", "event packet with invalid JSON", preview(text), { lane: this.index });
      }
      // a typing signal (a fuzzed typing:send naming this lane's own device reaches it): schema-checked, nothing to ack
      if (Array.isArray(data) && data[0] === EVENTS.typingDeliver) {
        if (data.length !== 2 || !TypingDeliver.safeParse(data[1]).success) {
          return this.state.findings.add("malformed_push", "fail", "typing:deliver outside the TypingDeliver schema", preview(text), { lane: this.index });
        }
        return;
      }
      // a provisioning message (a fuzzed provision:send on a channel this lane listens on, e.g. a replayed frame)
      if (Array.isArray(data) && data[0] === EVENTS.provisionDeliver) {
        if (data.length !== 2 || !ProvisionDeliver.safeParse(data[1]).success) {
          return this.state.findings.add("malformed_push", "fail", "provision:deliver outside the ProvisionDeliver schema", preview(text), { lane: this.index });
        }
        return;
      }
      if (!Array.isArray(data) || data[0] !== EVENTS.deliver) return this.state.findings.add("malformed_push", "fail", "unknown event pushed", preview(text), { lane: this.index });
      const parsed = Deliver.safeParse(data[1]);
      if (!parsed.success || data.length !== 2) return this.state.findings.add("malformed_push", "fail", "mailbox:deliver outside the Deliver schema", preview(text), { lane: this.index });
      this.received(parsed.data.envelopes);
      if (this.loggedIn && parsed.data.envelopes.length) {
        const id = this.nextId++;
        const refs = parsed.data.envelopes.map((e) => ({ to: e.to, id: e.id }));
        const unit: Unit = { kind: "legit_ack", frames: [`42${id}${JSON.stringify([EVENTS.ack, { envelopes: refs }])}`], preview: "mailbox:ack of a push" };
        unit.expect = { id, event: EVENTS.ack, legit: true, valid: true, argBytes: 0 };
        this.send(unit);
      }
    }
  }

  private received(envelopes: { id: string; from: string; fromDevice: string; to: string; toDevice: string; body: string }[]): void {
    const me = this.identity;
    for (const env of envelopes) {
      this.recent.push({ to: env.to, id: env.id });
      if (this.recent.length > 64) this.recent.shift();
      if (!me) continue;
      const body = this.state.legitStored.get(me.address)?.get(env.id) ?? this.sentBodies.get(env.id);
      if (body === undefined) continue;
      if (hashOf(env.body) !== body || env.from !== me.address || env.to !== me.address || env.toDevice !== me.deviceId || env.fromDevice !== me.deviceId) {
        this.state.findings.add("legit_altered", "fail", "a legitimate envelope came back altered", `${env.id}`, { lane: this.index });
      }
      let seen = this.state.legitReceived.get(me.address);
      if (!seen) this.state.legitReceived.set(me.address, (seen = new Set()));
      seen.add(env.id);
    }
  }

  /** Legitimate sends (id → hash of the body) as they go out: an envelope may be pushed before its own ack. */
  private readonly sentBodies = new Map<string, number>();

  private onAck(id: number, data: unknown): void {
    const p = this.pending.get(id);
    this.wake?.();
    this.state.lastProgress = Date.now();
    if (!p) {
      this.state.strayAcks++;
      return;
    }
    this.pending.delete(id);
    const res = Array.isArray(data) && data.length === 1 ? data[0] : undefined;
    if (p.resolve) return p.resolve(res);
    const e = p.expect;
    if (!e) return;
    const findings = this.state.findings;
    const where = { lane: this.index, kind: p.kind };
    const example = p.preview ?? "";
    const event = typeof e.event === "string" && e.event.length <= 40 ? e.event : "(odd name)";
    if (!isAckShape(res)) {
      this.state.tally(this.state.acks, "malformed");
      return findings.add("malformed_ack", "fail", `${event}: ack is not { ok, error: { code, message } }`, `${example} → ${preview(JSON.stringify(data))}`, where);
    }
    const code = res.ok ? "ok" : res.error.code;
    this.state.tally(this.state.acks, code);
    this.rateLimitedStreak = code === "rate_limited" ? this.rateLimitedStreak + 1 : 0;
    if (!res.ok) {
      if (code === "internal") findings.add("internal_error", "fail", `${event}: the handler threw (internal)`, example, where);
      if (res.error.message.toLowerCase().includes(CANARY)) findings.add("ack_echoes_input", "note", `${event}: ${code} message repeats payload contents`, `${example} → ${preview(res.error.message)}`, where);
      if (res.error.message.length > 300) findings.add("long_error_message", "note", `${event}: error message of ${res.error.message.length} chars`, example, where);
      // limits and quotas are the relay doing its job, also for legitimate traffic
      if (e.legit && code !== "rate_limited" && code !== "quota_exceeded") findings.add("legit_refused", "fail", `${event}: legitimate request refused with ${code} (${res.error.message})`, example, where);
      return;
    }
    const valid = e.valid ?? (e.json !== undefined ? (judge(e.json)?.valid ?? false) : false);
    if (!valid) findings.add("accepted_invalid", "fail", `${event}: ok for a payload its request schema refuses`, example, where);
    if (!p.loggedIn && !(PRE_LOGIN_EVENTS as readonly unknown[]).includes(e.event)) findings.add("unauthenticated_ok", "fail", `${event}: ok before login`, example, where);
    const argBytes = Number.isNaN(e.argBytes) && e.json ? argBytesOf(e.json) : e.argBytes;
    if (argBytes > MAX_FRAME_BYTES * 1.01) findings.add("accepted_oversize", "fail", `${event}: ok for a ${argBytes}-byte payload`, example, where);
    if (typeof e.event === "string" && Object.prototype.hasOwnProperty.call(SCHEMAS, e.event)) {
      const { ok: _ok, ...rest } = res as Record<string, unknown>;
      const shape = SCHEMAS[e.event as ClientEvent].response.safeParse(rest);
      if (!shape.success) findings.add("bad_response", "fail", `${event}: ok answer outside its response schema`, `${example} → ${preview(JSON.stringify(res))}`, where);
      if (e.event === EVENTS.fetch && Array.isArray(rest.envelopes)) this.received(rest.envelopes as Parameters<Lane["received"]>[0]);
    }
    if (e.legit) this.state.legitOk++;
    if (e.legitSend && this.identity) {
      let stored = this.state.legitStored.get(this.identity.address);
      if (!stored) this.state.legitStored.set(this.identity.address, (stored = new Map()));
      stored.set(e.legitSend.id, hashOf(e.legitSend.body));
      this.sentBodies.delete(e.legitSend.id);
    }
  }

  private onClose(ws: WebSocket): void {
    if (ws !== this.ws) return;
    if (this.ready && !this.closing) {
      this.state.closedByRelay++;
      this.state.tally(this.state.closesByKind, this.lastKind);
      if (!this.isSide) {
        this.state.findings.add(
          "unexpected_close",
          "note",
          `the relay closed a main connection (websocket code ${this.closeCode}) after a ${this.lastKind || "login"} unit the fuzzer expected it to answer`,
          this.lastUnits.join(" ‖ "),
          { lane: this.index, kind: this.lastKind },
        );
      }
    }
    this.ready = false;
    this.loggedIn = false;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.resolve) p.resolve(null);
      // a side connection closed instead of answering is the relay's choice; a main one should not be
      else if (p.expect) this.state.tally(this.state.acks, this.isSide ? "closed_instead" : "lost_on_close");
    }
    this.wake?.();
  }

  private closing = false;
  close(): void {
    const ws = this.ws;
    if (!ws) return;
    this.closing = true;
    this.onClose(ws);
    this.closing = false;
    this.ws = null;
    ws.removeAllListeners("message");
    ws.on("error", () => {});
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
  }

  /** Logs in on a fresh connection and waits until every id in `want` came back (pushed or fetched). */
  async drain(want: Set<string>, ms: number): Promise<void> {
    const me = this.identity;
    if (!me) return;
    const seen = () => this.state.legitReceived.get(me.address) ?? new Set<string>();
    const until = Date.now() + ms;
    while (Date.now() < until && [...want].some((id) => !seen().has(id))) {
      if (!this.open && !(await this.connect())) {
        await sleep(200);
        continue;
      }
      await sleep(250);
      if ([...want].some((id) => !seen().has(id))) {
        const res = await this.request(EVENTS.fetch, { limit: 200 }, 5000);
        if (isOk(res) && Array.isArray(res.envelopes)) this.received(res.envelopes as Parameters<Lane["received"]>[0]);
      }
    }
    this.close();
  }
}

/** FNV-1a of a string: legitimate bodies are compared by hash, so a long run does not keep them all. */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function argBytesOf(json: string): number {
  try {
    const data = JSON.parse(json) as unknown[];
    return Buffer.byteLength(JSON.stringify(data[1]) ?? "");
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function isOk(res: unknown): res is Record<string, unknown> & { ok: true } {
  return typeof res === "object" && res !== null && (res as { ok?: unknown }).ok === true;
}

function isAckShape(res: unknown): res is { ok: true } | { ok: false; error: { code: string; message: string } } {
  if (typeof res !== "object" || res === null) return false;
  const r = res as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
  if (r.ok === true) return true;
  if (r.ok !== false || typeof r.error !== "object" || r.error === null) return false;
  const retry = (r.error as { retryAfterMs?: unknown }).retryAfterMs;
  const retryOk = retry === undefined || (typeof retry === "number" && Number.isFinite(retry) && retry >= 0);
  return (ERROR_CODES as readonly unknown[]).includes(r.error.code) && typeof r.error.message === "string" && retryOk && Object.keys(res).length === 2;
}

// ---------------------------------------------------------------------------------------------
// The run.

export interface FuzzOptions {
  /** The relay, e.g. http://localhost:3000. */
  url: string;
  /** The relay's pid, for RSS from /proc; without it memory is not measured. */
  pid?: number;
  frames: number;
  connections: number;
  /** Cap on the fuzzing phase (setup and the final checks come on top). */
  seconds: number;
  seed: string | number;
  mix: Mix;
  /** Fails the run when the relay's peak RSS (VmHWM) passes this. */
  maxRssMb: number;
  /** The relay's stdout+stderr so far (when this process started it): error lines are findings. */
  relayOutput?: () => string;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /**
   * Every lane from the system's address, as one attacker: the relay's per-address limits then
   * refuse most of the traffic. By default each lane (and the final check) has a loopback address of its own.
   */
  oneAddress?: boolean;
}

export interface FuzzReport {
  seed: string;
  url: string;
  connections: number;
  mix: Mix;
  durationMs: number;
  framesSent: number;
  bytesSent: number;
  framesPerSecond: number;
  unitsByKind: Record<string, number>;
  framesByKind: Record<string, number>;
  acks: Record<string, number>;
  strayAcks: number;
  connectionsOpened: number;
  connectFailures: number;
  closedByRelay: number;
  closesByKind: Record<string, number>;
  connectFailureReasons: Record<string, number>;
  legit: { sent: number; answeredOk: number; stored: number; delivered: number; missing: number };
  rss: null | { beforeMb: number; afterMb: number; peakSampledMb: number; hwmMb: number; hwmBeforeMb: number; timeline: { s: number; rssMb: number }[] };
  probes: { count: number; failed: number; maxMs: number; overTwoSeconds: number };
  /** The fuzzer's own longest event-loop stall (ms): when large, its timings say more about it than about the relay. */
  fuzzerMaxLagMs: number;
  health: {
    alive: boolean;
    healthz: { ok: boolean; ms: number; error?: string };
    roundTrip: { ok: boolean; ms: number; error?: string };
  };
  findings: Finding[];
  /** Why the run failed; empty when it passed. */
  failures: string[];
  pass: boolean;
}

/**
 * A relay on loopback is reached by IP (a socket bound to 127/8 cannot reach `localhost` if that
 * resolves to ::1); any other URL is used as given.
 */
export function loopbackUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === "localhost") u.hostname = "127.0.0.1";
  return u.toString().replace(/\/$/, "");
}

function isLoopback(url: string): boolean {
  return /^127\./.test(new URL(url).hostname);
}

/**
 * Source addresses in a /24 of 127/8 drawn for this run: Linux routes all of 127/8 to loopback, so
 * each lane is its own client to the relay's per-address limits (as separate people would be), and
 * the final check is a bystander the fuzzing did not spend the limits of. Null when the relay is not
 * on loopback or binding fails; everything then connects from the system's address.
 */
async function clientAddresses(url: string): Promise<((n: number) => string) | null> {
  if (!isLoopback(url)) return null;
  const prefix = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.`;
  const u = new URL(url);
  const bound = await new Promise<boolean>((resolve) => {
    const req = get({ host: u.hostname, port: u.port, path: "/healthz", localAddress: `${prefix}1`, timeout: 2000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
  });
  return bound ? (n: number) => `${prefix}${n}` : null;
}

/** A TestDevice connected (with the real socket.io client) from `from`, or from the system's address. */
async function connectedDevice(url: string, from: string | undefined): Promise<TestDevice> {
  const device = new TestDevice(url);
  if (!from) {
    await device.connect();
    return device;
  }
  // `localAddress` is passed on to `ws` by engine.io-client, but its options type does not name it.
  const options: Partial<ManagerOptions & SocketOptions> & { localAddress: string } = { transports: ["websocket"], reconnection: false, forceNew: true, localAddress: from };
  const socket: ClientSocket = io(url, options);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
  // TestDevice.waitFor polls `received`, so pushes need no wake-up of their own.
  socket.on(EVENTS.deliver, (payload) => device.received.push(...payload.envelopes));
  device.socket = socket;
  return device;
}

/** GET /healthz with a deadline; `ok` only for the body "ok". */
export async function checkHealthz(url: string, timeoutMs = 2000): Promise<{ ok: boolean; ms: number; error?: string }> {
  const t = performance.now();
  try {
    const res = await fetch(new URL("/healthz", url), { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    const ms = performance.now() - t;
    return body === "ok" ? { ok: true, ms } : { ok: false, ms, error: `answered ${res.status} ${JSON.stringify(body.slice(0, 40))}` };
  } catch (err) {
    return { ok: false, ms: performance.now() - t, error: err instanceof Error ? err.message : String(err) };
  }
}

/** A fresh device signs up, sends itself a message and receives it, with the real socket.io client. */
export async function checkRoundTrip(url: string, from?: string, timeoutMs = 15_000): Promise<{ ok: boolean; ms: number; error?: string }> {
  const t = performance.now();
  const address = `messenger:fzcheck.${Date.now().toString(36)}.${randomId(4).toLowerCase().replace(/[^a-z0-9]/g, "x")}`;
  let device: TestDevice | null = null;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no round trip within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        device = await connectedDevice(url, from);
        await device.signUp(address);
        const id = randomId();
        const body = toB64(new TextEncoder().encode(`fuzz round trip ${id}`));
        const res = await call(device.s, EVENTS.send, { from: address, envelopes: [{ id, to: address, toDevice: device.deviceId, body }] });
        if (!res.ok) throw new Error(`send refused: ${res.error.code} ${res.error.message}`);
        await device.waitFor((r) => r.some((e) => e.id === id && e.body === body), "its own message");
      })(),
      deadline,
    ]);
    return { ok: true, ms: performance.now() - t };
  } catch (err) {
    return { ok: false, ms: performance.now() - t, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
    (device as TestDevice | null)?.disconnect();
  }
}

function alive(pid: number | undefined): boolean {
  return pid === undefined || existsSync(`/proc/${pid}`);
}

/** Error lines of the relay's JSON-lines output, and lines that are not JSON (crash traces). */
function relayErrors(output: string): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const line of output.split("\n")) {
    if (!line.trim()) continue;
    let level: unknown;
    try {
      level = (JSON.parse(line) as { level?: unknown }).level;
    } catch {
      // stderr: a crash trace fails the run, a Node warning is only noted
      (/^\s*at |Error\b|FATAL|Abort|out of memory|heap limit/i.test(line) ? errors : warnings).push(line);
      continue;
    }
    if (level === "error") errors.push(line);
    else if (level === "warn") warnings.push(line);
  }
  return { errors, warnings };
}

/** Fuzzes the relay at `opts.url`; resolves with the report (never rejects for what the relay did). */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const opts = { ...options, url: loopbackUrl(options.url) };
  const log = opts.log ?? (() => {});
  // The final check is a bystander: from an address of its own even when the lanes share one.
  const addressOf = await clientAddresses(opts.url);
  const laneAddress = (i: number) => (opts.oneAddress ? undefined : addressOf?.(10 + i));
  log(
    `lanes connect from ${opts.oneAddress || !addressOf ? "the system's address" : `${addressOf(10)} and up`}` +
      (addressOf ? `; the final check from ${addressOf(250)}` : ""),
  );
  const seedText = String(opts.seed);
  const base = seedOf(opts.seed);
  const tag = `${Date.now().toString(36)}${process.pid.toString(36)}`;

  // Identities for the authed lanes (every even lane), signed up with the real client.
  const identities: (Identity | null)[] = [];
  for (let i = 0; i < opts.connections; i++) {
    if (i % 2 !== 0) {
      identities.push(null);
      continue;
    }
    const address = `messenger:fz.${tag}.${i}`;
    const device = await connectedDevice(opts.url, laneAddress(i));
    try {
      await device.signUp(address);
    } finally {
      device.disconnect();
    }
    identities.push({ address, deviceId: device.deviceId, device });
  }
  const peers = identities.filter((x): x is Identity => x !== null).map((x) => x.address);
  const keyRng = new Rng(base ^ 0x5bd1e995);
  const authKeys = Array.from({ length: 4 }, () => {
    const pub = ed25519.getPublicKey(keyRng.bytes(32));
    const out = new Uint8Array(33);
    out[0] = 0x02;
    out.set(pub, 1);
    return toB64(out);
  });
  bytePool();

  const memBefore = opts.pid !== undefined ? readProcMemory(opts.pid) : null;
  const started = Date.now();
  const state = new RunState(opts.frames, started + opts.seconds * 1000);
  const timeline: { s: number; rssMb: number }[] = [];
  let peakSampled = memBefore?.rssMb ?? 0;
  let lastTimeline = -1;
  const sampler = setInterval(() => {
    if (opts.pid === undefined) return;
    const m = readProcMemory(opts.pid);
    if (!m) return;
    peakSampled = Math.max(peakSampled, m.rssMb);
    const s = Math.floor((Date.now() - started) / 1000);
    if (s !== lastTimeline) {
      lastTimeline = s;
      timeline.push({ s, rssMb: Math.round(m.rssMb) });
    }
  }, 200);

  // /healthz all along; a slow answer counts only when this process was not itself the one stalled.
  const probes = { count: 0, failed: 0, maxMs: 0, overTwoSeconds: 0 };
  let lateness = 0;
  let tick = performance.now();
  let ownMaxLag = 0;
  const loopWatch = setInterval(() => {
    const now = performance.now();
    lateness = Math.max(lateness, now - tick - 50);
    ownMaxLag = Math.max(ownMaxLag, now - tick - 50);
    tick = now;
  }, 50);
  let probing = true;
  const prober = (async () => {
    while (probing) {
      lateness = 0;
      const res = await checkHealthz(opts.url, 10_000);
      probes.count++;
      if (!res.ok) probes.failed++;
      const ownStall = lateness;
      probes.maxMs = Math.max(probes.maxMs, res.ms);
      if (res.ms > 2000 && ownStall < 1000) {
        probes.overTwoSeconds++;
        state.findings.add("stall", "fail", "/healthz took over 2 s during the run (the relay's event loop was blocked)", `${Math.round(res.ms)} ms${res.error ? ` (${res.error})` : ""}`);
      }
      await sleep(1000);
    }
  })();

  const lanes = identities.map((identity, i) => new Lane(i, opts.url, new Rng(seedOf(`${seedText}:${i}`)), opts.mix, identity, peers, authKeys, state, laneAddress(i)));
  const progress = setInterval(() => {
    const m = opts.pid !== undefined ? readProcMemory(opts.pid) : null;
    log(`${((Date.now() - started) / 1000).toFixed(0)} s: ${state.frames} frames${m ? `, relay RSS ${m.rssMb.toFixed(0)} MB` : ""}`);
  }, 5000);
  const watchdog = setInterval(() => {
    if (!alive(opts.pid)) state.stopReason ??= "the relay process exited";
    // Gone, refusing every connection or answering nothing: stop rather than spin until the time cap.
    else if (Date.now() - state.lastProgress > 20_000 && lanes.some((lane) => lane.waiting())) {
      state.stopReason ??= `the relay made no progress (no connect, no ack) for 20 s: ${lanes.map((lane) => lane.describe()).join("; ")}`;
    }
    if (state.stopReason) state.stopped = true;
  }, 250);

  await Promise.all(lanes.map((lane) => lane.run()));
  const durationMs = Date.now() - started;
  clearInterval(progress);
  clearInterval(watchdog);
  await Promise.all(lanes.map((lane) => lane.settle(5000)));
  for (const lane of lanes) lane.close();
  probing = false;
  await prober;
  clearInterval(loopWatch);
  log(`fuzzing done: ${state.frames} frames in ${(durationMs / 1000).toFixed(1)} s; checking the relay`);

  await sleep(1000);
  clearInterval(sampler);
  const memAfter = opts.pid !== undefined ? readProcMemory(opts.pid) : null;
  const isAlive = alive(opts.pid);

  // Every legitimate envelope the relay stored must come back (pushed or fetched) to its device.
  let missing = 0;
  if (isAlive) {
    await Promise.all(
      lanes.map(async (lane, i) => {
        const me = identities[i];
        if (!me) return;
        const stored = state.legitStored.get(me.address) ?? new Map<string, number>();
        const got = state.legitReceived.get(me.address) ?? new Set<string>();
        const want = new Set([...stored.keys()].filter((id) => !got.has(id)));
        if (want.size) await lane.drain(want, 10_000);
      }),
    );
  }
  let stored = 0;
  let delivered = 0;
  for (const me of identities) {
    if (!me) continue;
    const s = state.legitStored.get(me.address) ?? new Map<string, number>();
    const got = state.legitReceived.get(me.address) ?? new Set<string>();
    stored += s.size;
    for (const id of s.keys()) {
      if (got.has(id)) delivered++;
      else {
        missing++;
        state.findings.add("legit_lost", "fail", "a legitimate envelope the relay stored never came back", id);
      }
    }
  }

  const healthz = isAlive ? await checkHealthz(opts.url, 2000) : { ok: false, ms: 0, error: "relay process gone" };
  const roundTrip = isAlive ? await checkRoundTrip(opts.url, addressOf?.(250)) : { ok: false, ms: 0, error: "relay process gone" };
  const stillAlive = alive(opts.pid);

  if (opts.relayOutput) {
    const { errors, warnings } = relayErrors(opts.relayOutput());
    for (const line of errors) state.findings.add("relay_error_log", "fail", "the relay logged an error or a non-JSON line", preview(line));
    for (const line of warnings) state.findings.add("relay_warn_log", "note", "the relay logged a warning", preview(line));
  }

  const rss =
    memBefore && memAfter
      ? {
          beforeMb: memBefore.rssMb,
          afterMb: memAfter.rssMb,
          peakSampledMb: Math.max(peakSampled, memAfter.rssMb),
          hwmMb: memAfter.hwmMb,
          hwmBeforeMb: memBefore.hwmMb,
          timeline,
        }
      : null;

  const failures: string[] = [];
  if (!stillAlive) failures.push("the relay process exited");
  else if (state.stopReason) failures.push(state.stopReason);
  if (!healthz.ok) failures.push(`/healthz: ${healthz.error ?? "not ok"}`);
  if (!roundTrip.ok) failures.push(`legitimate round trip: ${roundTrip.error ?? "failed"}`);
  const peak = rss ? Math.max(rss.hwmMb, rss.peakSampledMb) : null;
  if (peak !== null && peak > opts.maxRssMb) failures.push(`relay peak RSS ${peak.toFixed(0)} MB over the ${opts.maxRssMb} MB bound`);
  if (opts.pid !== undefined && !rss && stillAlive) failures.push("could not read the relay's memory from /proc");
  const findings = state.findings.list();
  for (const f of findings) if (f.severity === "fail") failures.push(`${f.type}: ${f.detail} (×${f.count})`);

  return {
    seed: seedText,
    url: opts.url,
    connections: opts.connections,
    mix: opts.mix,
    durationMs,
    framesSent: state.frames,
    bytesSent: state.bytes,
    framesPerSecond: state.frames / Math.max(0.001, durationMs / 1000),
    unitsByKind: state.unitsByKind,
    framesByKind: state.framesByKind,
    acks: state.acks,
    strayAcks: state.strayAcks,
    connectionsOpened: state.connectionsOpened,
    connectFailures: state.connectFailures,
    closedByRelay: state.closedByRelay,
    closesByKind: state.closesByKind,
    connectFailureReasons: state.connectFailureReasons,
    legit: { sent: state.legitSent, answeredOk: state.legitOk, stored, delivered, missing },
    rss,
    probes,
    fuzzerMaxLagMs: Math.round(ownMaxLag),
    health: { alive: stillAlive, healthz, roundTrip },
    findings,
    failures,
    pass: failures.length === 0,
  };
}

export interface OwnRelayOptions extends Omit<FuzzOptions, "url" | "pid" | "relayOutput"> {
  /** Extra environment for the relay process. */
  env?: Record<string, string>;
}

/** Starts a relay process of this checkout (own data dir, LOG_LEVEL=warn), fuzzes it, stops it and removes its data. */
export async function fuzzOwnRelay(opts: OwnRelayOptions): Promise<FuzzReport & { relayExitCode: number | null }> {
  const dataDir = tempDataDir();
  // Every limit at its production value: the relaxed test limits would hide what an attacker meets.
  const relay = await startRelay({ dataDir, limits: "production", env: { LOG_LEVEL: "warn", ...opts.env } });
  try {
    opts.log?.(`relay started: ${relay.url} (pid ${relay.child.pid})`);
    const report = await runFuzz({ ...opts, url: relay.url, pid: relay.child.pid, relayOutput: () => relay.output() });
    const exited = relay.child.exitCode !== null || relay.child.signalCode !== null;
    const relayExitCode = exited ? relay.child.exitCode : await stopWithin(relay.stop(), 20_000);
    if (!exited && relayExitCode !== 0) {
      report.failures.push(`the relay did not shut down cleanly after the run (exit ${relayExitCode})`);
      report.pass = false;
    }
    if (exited) report.findings.push({ type: "relay_exited", severity: "fail", count: 1, detail: `the relay exited with ${relay.child.exitCode ?? relay.child.signalCode}`, example: preview(relay.output().slice(-600)), lane: null, kind: null });
    return { ...report, relayExitCode };
  } finally {
    if (relay.child.exitCode === null && relay.child.signalCode === null) await relay.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function stopWithin(stopping: Promise<number | null>, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<number>((done) => {
    timer = setTimeout(() => done(-1), ms);
  });
  try {
    return await Promise.race([stopping, late]);
  } finally {
    clearTimeout(timer);
  }
}
