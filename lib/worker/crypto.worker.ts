// The worker entry: wires the browser's pieces (IndexedDB, Web Locks, BroadcastChannel, socket.io to
// the page's origin) into a WorkerHost. Private keys and ratchet states exist only in this thread.
import { io } from "socket.io-client";
import { getDb } from "../store/db";
import type { RelaySocket } from "../engine/relay";
import { CHANNEL_NAME, type PeerChannel } from "./channel";
import { WorkerHost } from "./host";
import { workerCipherIo } from "./io";
import { isIoPortEvent, isPageEvent, type IoPortEvent, type PageEvent, type RpcReply, type RpcRequest, type WorkerEvent } from "./rpc";

interface WorkerScope {
  postMessage(message: RpcReply | WorkerEvent): void;
  addEventListener(type: "message", listener: (event: MessageEvent<RpcRequest | PageEvent | IoPortEvent>) => void): void;
  addEventListener(type: "online" | "offline", listener: () => void): void;
}

const scope = self as unknown as WorkerScope;
/** The I/O worker, once the page gives its port (isIoPortEvent). */
const ioWorker = workerCipherIo();

const host = new WorkerHost({
  db: getDb(),
  locks: navigator.locks,
  channel: new BroadcastChannel(CHANNEL_NAME) as unknown as PeerChannel,
  connect: () => io({ transports: ["websocket"], autoConnect: false, reconnectionDelayMax: 3_000 }) as RelaySocket,
  post: (message) => scope.postMessage(message),
  // attachments' ciphertext is hashed and copied into request bodies on a second thread, beside the AEAD
  blobs: { baseUrl: "", io: ioWorker },
  // the host keeps the newest lines in a ring that the Diagnostics view reads; nothing goes to the console
});

// The network is up only when both this worker and its page think so: a worker started just after the
// browser went offline may not see it yet (offline emulation reaches new workers late), the page does.
let pageOnline = true;
scope.addEventListener("message", (event) => {
  const data = event.data;
  if (isIoPortEvent(data)) return ioWorker.attach(data.port);
  if (isPageEvent(data)) {
    pageOnline = data.online;
    syncNetwork();
    return;
  }
  void host.handle(data);
});

// navigator.onLine in a worker follows the browser (and DevTools/Playwright offline emulation), which
// an open WebSocket may not notice for tens of seconds; poll it as well as listening for the events.
const syncNetwork = () => host.setNetworkAvailable(navigator.onLine && pageOnline);
scope.addEventListener("online", syncNetwork);
scope.addEventListener("offline", syncNetwork);
setInterval(syncNetwork, 1_000);
syncNetwork();
host.start();
