// Two tabs' workers of one device, in one process: a real BroadcastChannel between them, one shared
// IndexedDB (fake-indexeddb), the real relay. Node has no Web Locks, so a small FIFO lock with the
// same contract stands in for navigator.locks (the Playwright test covers the browser's own).
import "fake-indexeddb/auto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { io } from "socket.io-client";
import { startRelay, type RelayProcess } from "../relay/test/relayProcess";
import { JunctionDB } from "../store/db";
import { randomId } from "../store/ids";
import { Engine } from "../engine/engine";
import { leaderHandlers } from "../engine/api";
import type { RelaySocket } from "../engine/relay";
import { CHANNEL_NAME, type LockProvider, type PeerChannel } from "./channel";
import { WorkerHost } from "./host";
import type { RpcMethod, RpcParams, RpcReply, RpcResult, WorkerEvent } from "./rpc";

let relay: RelayProcess;
beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  await relay?.stop();
});

class FifoLocks implements LockProvider {
  private tail = Promise.resolve();
  request(_name: string, callback: () => Promise<void>): Promise<unknown> {
    const run = this.tail.then(callback);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

const connect = () => io(relay.url, { transports: ["websocket"], autoConnect: false, forceNew: true, reconnectionDelayMax: 500 }) as RelaySocket;

function tab(dbName: string, locks: LockProvider) {
  const posted: (RpcReply | WorkerEvent)[] = [];
  const channel = new BroadcastChannel(CHANNEL_NAME) as unknown as PeerChannel;
  const host = new WorkerHost({ db: new JunctionDB(dbName), locks, channel, connect, post: (m) => posted.push(m) });
  let seq = 0;
  async function call<M extends RpcMethod>(method: M, params: RpcParams<M>): Promise<RpcResult<M>> {
    seq += 1;
    const mine = seq;
    await host.handle({ seq: mine, method, params } as never);
    const reply = posted.find((m): m is RpcReply => "seq" in m && m.seq === mine);
    if (!reply) throw new Error("no reply");
    if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
    return reply.result as RpcResult<M>;
  }
  host.start();
  return { host, call, posted, channel };
}

async function waitFor<T>(probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string): Promise<T> {
  const until = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

it("runs one engine per device: a follower tab forwards and queues through the leader, and takes over when it closes", async () => {
  const tag = `${Date.now() % 100000}`;
  const bobDb = new JunctionDB(`bob-${randomId()}`);
  const bob = new Engine({ db: bobDb, connect });
  const bobApi = leaderHandlers(bob, { db: bobDb, now: Date.now, status: () => ({ online: bob.isOnline, leader: true }), poke: () => bob.poke() });
  bob.start();
  await waitFor(() => bob.isOnline, "bob connected");
  const { address: bobAddr } = await bobApi.createAccount({ brand: "whatsapp", handle: `+1666${tag.padStart(7, "0")}`, displayName: "Bob" });

  const locks = new FifoLocks();
  const dbName = `alice-${randomId()}`;
  const first = tab(dbName, locks);
  const second = tab(dbName, locks);
  await waitFor(() => first.host.isLeader, "first tab leads");
  expect(second.host.isLeader).toBe(false);
  await waitFor(() => first.host.status().online, "leader online");

  // the follower has no socket: account creation and the directory go through the leader
  const { address: aliceAddr } = await second.call("createAccount", { brand: "messenger", handle: `alice.tabs${tag}`, displayName: "Alice" });
  const { conversationId } = await second.call("startChat", { from: aliceAddr, to: bobAddr });
  await second.call("sendMessage", { conversationId, text: "from the follower tab" });
  const bobConv = `${bobAddr}|${aliceAddr}`;
  await waitFor(async () => (await bobDb.messages.where("conversationId").equals(bobConv).count()) === 1, "bob got the follower's message");
  // the follower learns the status from the leader, and says it is not the leader
  await waitFor(() => second.posted.some((m) => "type" in m && m.type === "status" && m.status.online && !m.status.leader), "follower status");

  // diagnostics come from the engine's worker: a follower forwards the call to the leader
  const diag = await second.call("diagnostics", {});
  expect(diag.log.map((line) => line.event)).toContain("engine started");
  expect(diag.log.every((line) => line.level === "info" || line.level === "warn")).toBe(true);
  expect(typeof diag.counters).toBe("object");
  expect(second.host.log.entries().map((line) => line.event)).not.toContain("engine started");

  // closing the leader's tab hands the lock, and the engine, to the other tab
  await first.host.close();
  first.channel.close();
  await waitFor(() => second.host.isLeader, "second tab leads");
  await waitFor(() => second.host.status().online, "new leader online");
  await second.call("sendMessage", { conversationId, text: "after the handover" });
  await waitFor(async () => (await bobDb.messages.where("conversationId").equals(bobConv).count()) === 2, "bob got the second message");
  const texts = (await bobDb.messages.where("conversationId").equals(bobConv).sortBy("sentAt")).map((m) => m.text);
  expect(texts).toEqual(["from the follower tab", "after the handover"]);

  await second.host.close();
  second.channel.close();
  await bob.stop();
}, 60_000);
