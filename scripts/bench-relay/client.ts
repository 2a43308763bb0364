// A client process of `npm run bench:relay` (Node): protocol-level devices over loopback, driven by
// the bench over IPC (protocol.ts). Senders and receivers of a pair live in the same process, so a
// latency is read on one clock: the send time rides in the first 8 bytes of the opaque body.
import { randomBytes } from "node:crypto";
import { io } from "socket.io-client";
import { EVENTS, fromB64, toB64 } from "../../lib/protocol";
import type { Deliver } from "../../lib/protocol/schemas";
import { call, type ClientSocket, randomId, TestDevice } from "../../lib/relay/test/device";
import { Command, loopbackAddress, type Reply, type SeededDevice, type StepResult } from "./protocol";

const BODY_BYTES = 300;

function reply(msg: Reply): void {
  process.send?.(msg);
}

function connectFrom(url: string, localAddress: string, auth?: Record<string, string>): Promise<ClientSocket> {
  const socket: ClientSocket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, localAddress, ...(auth ? { auth } : {}) } as Parameters<typeof io>[1]);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

interface Sender {
  socket: ClientSocket;
  from: string;
  to: string;
  toDevice: string;
}

const now = () => performance.timeOrigin + performance.now();

/** What the current step counts; receivers add to it as deliveries and acks come in. */
let window: { start: number; end: number; latencies: number[]; acked: number; delivered: number } | null = null;
const senders: Sender[] = [];
const sockets: ClientSocket[] = [];
const tail = randomBytes(BODY_BYTES - 8);

function onDeliver(socket: ClientSocket, payload: Deliver): void {
  const t = now();
  for (const env of payload.envelopes) {
    const sentAt = Buffer.from(fromB64(env.body)).readDoubleLE(0);
    if (window && sentAt >= window.start && sentAt < window.end) {
      window.latencies.push(t - sentAt);
      window.delivered++;
    }
  }
  const count = payload.envelopes.length;
  call<{ deleted: number }>(socket, EVENTS.ack, { envelopes: payload.envelopes.map((e) => ({ to: e.to, id: e.id, fromDevice: e.fromDevice })) }).then(
    (res) => {
      if (res.ok && window && now() < window.end) window.acked += count;
    },
    () => {}, // closed between steps, or timed out: not counted
  );
}

async function setUpPairs(cmd: Extract<Command, { cmd: "pairs" }>): Promise<void> {
  let n = cmd.firstAddress;
  await Promise.all(
    cmd.pairs.map(async ({ sender, receiver }) => {
      const sAddr = loopbackAddress(n++);
      const rAddr = loopbackAddress(n++);
      if (cmd.mode === "echo") {
        const rid = randomId();
        const r = await connectFrom(cmd.receiverUrl, rAddr, { id: rid });
        const s = await connectFrom(cmd.senderUrl, sAddr, { id: randomId() });
        r.on(EVENTS.deliver, (p: Deliver) => onDeliver(r, p));
        sockets.push(r, s);
        senders.push({ socket: s, from: sender, to: receiver, toDevice: rid });
        return;
      }
      const r = new TestDevice(cmd.receiverUrl);
      r.socket = await connectFrom(cmd.receiverUrl, rAddr);
      await signUp(r, receiver);
      const s = new TestDevice(cmd.senderUrl);
      s.socket = await connectFrom(cmd.senderUrl, sAddr);
      await signUp(s, sender);
      r.socket.on(EVENTS.deliver, (p: Deliver) => onDeliver(r.s, p));
      sockets.push(r.s, s.s);
      senders.push({ socket: s.s, from: sender, to: receiver, toDevice: r.deviceId });
    }),
  );
}

async function signUp(dev: TestDevice, address: string): Promise<void> {
  const reg = await dev.register(address, 1, 1);
  if (!reg.ok) throw new Error(`register refused: ${reg.error.code}`);
  await logIn(dev);
}

async function logIn(dev: TestDevice): Promise<void> {
  const res = await dev.login();
  if (!res.ok) throw new Error(`login refused: ${res.error.code}`);
}

async function step(cmd: Extract<Command, { cmd: "step" }>): Promise<StepResult> {
  const start = now();
  const end = start + cmd.seconds * 1000;
  window = { start, end, latencies: [], acked: 0, delivered: 0 };
  let sent = 0;
  let refused = 0;
  const errors: Record<string, number> = {};
  const refuse = (code: string, n: number) => {
    refused += n;
    errors[code] = (errors[code] ?? 0) + 1;
  };
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const t = now();
      if (t >= end) {
        clearInterval(timer);
        done();
        return;
      }
      // Open loop: whatever is due by now goes out, whether or not earlier sends were answered.
      const due = Math.floor(((t - start) / 1000) * cmd.rate);
      while (sent + cmd.batch <= due) {
        const s = senders[next++ % senders.length]!;
        const envelopes = Array.from({ length: cmd.batch }, () => {
          const body = Buffer.allocUnsafe(BODY_BYTES);
          body.writeDoubleLE(now(), 0);
          tail.copy(body, 8);
          return { id: randomId(), to: s.to, toDevice: s.toDevice, body: toB64(body) };
        });
        sent += cmd.batch;
        void call(s.socket, EVENTS.send, { from: s.from, envelopes }).then(
          (res) => {
            if (!res.ok) refuse(res.error.code, envelopes.length);
          },
          () => refuse("timeout", envelopes.length),
        );
      }
    };
    const timer = setInterval(tick, 2);
  });
  // Drain: wait (bounded) for what the window sent to arrive, so a late delivery counts in its latency.
  const deadline = now() + 3_000;
  while (window.delivered + refused < sent && now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const result: StepResult = { sent, acked: window.acked, delivered: window.delivered, refused, errors, latencies: window.latencies };
  window = null;
  // let the acks of the tail finish before the next step
  await new Promise((r) => setTimeout(r, 300));
  return result;
}

async function idle(cmd: Extract<Command, { cmd: "idle" }>): Promise<void> {
  let n = cmd.firstAddress;
  const queue = [...cmd.devices];
  // A few logins at a time: the bench measures held sockets, not a login storm.
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        const dev = seeded(cmd.url, d);
        dev.socket = await connectFrom(cmd.url, loopbackAddress(n++));
        await logIn(dev);
        sockets.push(dev.s);
      }
    }),
  );
}

async function openSockets(cmd: Extract<Command, { cmd: "sockets" }>): Promise<void> {
  let left = cmd.count;
  let n = cmd.firstAddress;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (left > 0) {
        left--;
        sockets.push(await connectFrom(cmd.url, loopbackAddress(n++), { id: randomId() }));
      }
    }),
  );
}

function seeded(url: string, d: SeededDevice): TestDevice {
  const same = { deviceId: d.deviceId, authSecret: Uint8Array.from(Buffer.from(d.authSecret, "hex")), authKey: d.authKey, identityKey: d.identityKey };
  return new TestDevice(url, same as TestDevice);
}

process.on("message", (raw) => {
  const parsed = Command.safeParse(raw);
  if (!parsed.success) return reply({ type: "error", message: "bad command" });
  const cmd = parsed.data;
  const run = async (): Promise<Reply> => {
    switch (cmd.cmd) {
      case "pairs":
        await setUpPairs(cmd);
        return { type: "ready" };
      case "step":
        return { type: "step", result: await step(cmd) };
      case "idle":
        await idle(cmd);
        return { type: "ready" };
      case "sockets":
        await openSockets(cmd);
        return { type: "ready" };
      case "close":
        for (const s of sockets.splice(0)) s.disconnect();
        senders.length = 0;
        return { type: "ready" };
    }
  };
  run().then(reply, (err: unknown) => reply({ type: "error", message: err instanceof Error ? err.message : String(err) }));
});
