// `node --import tsx scripts/bench-relay/storeCpu.ts [ROUNDS] [SENDERS] [PER_SEND]`: the durable path's
// store alone, in this process, as the relay runs it (SQLite, group commit): per round SENDERS concurrent
// `storeEnvelopes` calls of PER_SEND envelopes of 300 B (sender i → receiver i), then every receiver's
// mailbox read with bodies (`pendingEnvelopes`) and acked (`deleteEnvelopes`, grouped). Prints this
// process's CPU time (user + system, fsyncs' thread-pool work included) per envelope and the wall time,
// after one warm-up round. CPU time per envelope is what to compare across builds on a loaded machine.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "../../lib/brands";
import { MAILBOX_QUOTA, MAX_DELIVERY_BYTES_IN_FLIGHT } from "../../lib/protocol";
import { withGroupCommit } from "../../lib/relay/storage/groupCommit";
import { openSqliteStore } from "../../lib/relay/storage/sqlite";
import { openSqliteStoreThread } from "../../lib/relay/storage/threadStore";
import type { EnvelopeRecord } from "../../lib/relay/storage/types";
import { TestDevice } from "../../lib/relay/test/device";

const [rounds = 20, senders = 100, perSend = 10] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), "junction-store-cpu-"));
const raw = await openSqliteStore(dir);
// STORE_THREAD=1: the sends, reads and acks go through the store's thread (threadStore.ts), as the relay
// runs it; the sign-ups still go straight to the database, which the thread opens after them.
const threaded = process.env.STORE_THREAD === "1";
let store = threaded ? raw : withGroupCommit(raw);
const tag = randomBytes(3).toString("hex");
interface Party {
  address: Address;
  deviceId: string;
}
async function register(name: string): Promise<Party> {
  const d = new TestDevice("");
  const keys = d.keys(0, 0);
  const address = `messenger:${name}${tag}` as Address;
  const outcome = await raw.registerAccount({ address, brand: "messenger", identityKey: d.identityKey, deviceId: d.deviceId, authKey: d.authKey, signedPrekey: keys.signedPrekey, kemPrekey: keys.kemPrekey, oneTimePrekeys: [], now: Date.now() }, "new_device", 8);
  if (outcome !== "ok") throw new Error(`register: ${outcome}`);
  return { address, deviceId: d.deviceId };
}
const pairs: { from: Party; to: Party }[] = [];
for (let i = 0; i < senders; i++) pairs.push({ from: await register(`s${i}.`), to: await register(`r${i}.`) });
if (threaded) {
  await raw.close();
  store = await openSqliteStoreThread(dir);
}
const quotas = { perDeviceEnvelopes: MAILBOX_QUOTA.envelopes, perDeviceBytes: MAILBOX_QUOTA.bytes };

async function round(): Promise<number> {
  const ts = Date.now();
  await Promise.all(
    pairs.map(({ from, to }) => {
      const envelopes: EnvelopeRecord[] = Array.from({ length: perSend }, () => ({ id: randomBytes(12).toString("base64url"), from: from.address, fromDevice: from.deviceId, to: to.address, toDevice: to.deviceId, body: new Uint8Array(randomBytes(300)), ts }));
      return store.storeEnvelopes(envelopes, quotas).then((o) => {
        if (!o.ok) throw new Error(`store: ${o.reason}`);
      });
    }),
  );
  let n = 0;
  await Promise.all(
    pairs.map(async ({ to }) => {
      const page = await store.pendingEnvelopes(to.deviceId, 0, 100, MAX_DELIVERY_BYTES_IN_FLIGHT);
      n += page.length;
      await store.deleteEnvelopes(to.deviceId, page.map((e) => ({ to: e.to, id: e.id, fromDevice: e.fromDevice })));
    }),
  );
  return n;
}

await round();
const load = loadavg()[0]!;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let total = 0;
for (let r = 0; r < rounds; r++) total += await round();
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - t0;
if (total !== rounds * senders * perSend) throw new Error(`delivered ${total} of ${rounds * senders * perSend}`);
console.log(`store alone${threaded ? " (on its thread)" : ""}: ${total} envelopes, CPU ${((cpu.user + cpu.system) / total).toFixed(1)} µs per envelope (user ${(cpu.user / total).toFixed(1)}, system ${(cpu.system / total).toFixed(1)}), wall ${((wall * 1000) / total).toFixed(1)} µs per envelope, load average ${load.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
