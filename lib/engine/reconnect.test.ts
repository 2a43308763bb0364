// A device whose connection the relay refuses at the handshake (its per-address cap is full) comes
// online by itself once there is room, and one whose relay shut down cleanly comes back when it is
// back: socket.io gives up after either, the engine does not.
import "fake-indexeddb/auto";
import { io, type Socket } from "socket.io-client";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_CONNECTIONS_PER_IP } from "../protocol/limits";
import { startRelay, useRelayProcess } from "../relay/test/relayProcess";
import { account, handles, makeBoot, waitFor } from "./testClients";

const url = useRelayProcess();
const boot = makeBoot(url);
const fillers: Socket[] = [];

afterAll(() => {
  for (const s of fillers) s.disconnect();
});

describe("engine reconnection", () => {
  it("comes online after the relay refused its handshake, once the relay has room again", async () => {
    // every connection slot of this (loopback) address taken
    for (let i = 0; i < MAX_CONNECTIONS_PER_IP; i++) {
      const s = io(url(), { transports: ["websocket"], reconnection: false, forceNew: true });
      fillers.push(s);
    }
    await waitFor(async () => fillers.every((s) => s.connected), "the address's connections");
    const device = boot();
    let refused = 0;
    device.sockets[0]?.on("connect_error", () => refused++);
    await waitFor(async () => refused > 0, "a refused handshake");
    expect(device.online).toBe(false);

    for (const s of fillers.splice(0)) s.disconnect();
    const h = handles();
    expect(await account(device, "messenger", h.alice, "Alice")).toContain("messenger:");
    await device.engine.stop();
  }, 60_000);

  it("comes online again after the relay shut down cleanly and started again (a restart, a deploy)", async () => {
    const first = await startRelay();
    const port = first.port;
    const boot2 = makeBoot(() => first.url);
    const device = boot2();
    const h = handles();
    await account(device, "messenger", h.alice, "Alice");
    // SIGTERM: the relay closes every socket itself ("io server disconnect"), which socket.io takes as final
    expect(await first.stop()).toBe(0);
    await waitFor(async () => !device.online, "offline while the relay is down");
    const again = await startRelay({ dataDir: first.dataDir, env: { PORT: String(port) } });
    try {
      await waitFor(async () => device.online, "online again");
    } finally {
      await device.engine.stop();
      await again.stop();
    }
  }, 60_000);

  it("creates an account asked for before the first connection is made, once it is made", async () => {
    for (let i = 0; i < MAX_CONNECTIONS_PER_IP; i++) fillers.push(io(url(), { transports: ["websocket"], reconnection: false, forceNew: true }));
    await waitFor(async () => fillers.every((s) => s.connected), "the address's connections");
    const device = boot();
    expect(device.online).toBe(false);
    // the person presses "Create account" while the page is still connecting; the connection comes a second later
    const created = device.api.createAccount({ brand: "whatsapp", handle: `+1555${String(Date.now()).slice(-7)}`, displayName: "Early" });
    setTimeout(() => {
      for (const s of fillers.splice(0)) s.disconnect();
    }, 1_000);
    expect((await created).address).toMatch(/^whatsapp:/);
    await device.engine.stop();
  }, 60_000);
});
