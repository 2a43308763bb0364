// A TCP front for tests (Node): what nginx or HAProxy is in front of a cluster. Each connection goes to
// the port `pick()` names when it arrives (a live node); when that node dies, the client's connection
// dies with it and its reconnection is picked again, so devices fail over to the nodes that live.
import { connect, createServer, type Socket } from "node:net";

export interface FrontProxy {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * `pick` answers the upstream port for a new connection, or null to refuse it (no node is up).
 * `sourceAddresses` > 1 spreads the upstream connections over that many loopback addresses
 * (127.0.0.2, …; Linux routes all of 127/8 to loopback), so the relay sees as many clients' addresses.
 */
export function startFrontProxy(pick: () => number | null, sourceAddresses = 1): Promise<FrontProxy> {
  let next = 0;
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  };
  const server = createServer((client) => {
    track(client);
    const port = pick();
    if (port === null) {
      client.destroy();
      return;
    }
    const source = sourceAddresses > 1 ? { localAddress: `127.0.0.${2 + (next++ % Math.min(sourceAddresses, 250))}` } : {};
    const upstream = connect({ port, host: "127.0.0.1", ...source });
    track(upstream);
    // either side ending or failing ends both: a dead node is a dead connection for the client
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolveStart, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolveStart({
        port,
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of open) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
