// Relay throughput on this machine, printed (not asserted): `node --import tsx lib/relay/test/bench.ts`.
// One relay process; one sender, one online recipient that acks every push.
import { EVENTS, toB64 } from "../../protocol";
import { call, randomId, TestDevice } from "./device";
import { startRelay } from "./relayProcess";

async function main(): Promise<void> {
  const relay = await startRelay({ env: { LOG_LEVEL: "warn" } });
  const aliceAddr = `messenger:bench.alice.${process.pid}`;
  const bobAddr = `messenger:bench.bob.${process.pid}`;
  const alice = await new TestDevice(relay.url).signUp(aliceAddr);
  const bob = await new TestDevice(relay.url).signUp(bobAddr, 200);
  bob.s.on(EVENTS.deliver, (p) => {
    call(bob.s, EVENTS.ack, { envelopes: p.envelopes.map((e) => ({ to: e.to, id: e.id })) }).catch(() => {});
  });
  const body = toB64(new Uint8Array(300));

  const sends = 300;
  let t = performance.now();
  for (let i = 0; i < sends; i++) {
    const res = await call(alice.s, EVENTS.send, { from: aliceAddr, envelopes: [{ id: randomId(), to: bobAddr, toDevice: bob.deviceId, body }] });
    if (!res.ok) throw new Error(res.error.code);
  }
  const single = (sends / (performance.now() - t)) * 1000;
  await bob.waitFor((r) => r.length >= sends);

  const batches = 20;
  t = performance.now();
  for (let i = 0; i < batches; i++) {
    const envelopes = Array.from({ length: 100 }, () => ({ id: randomId(), to: bobAddr, toDevice: bob.deviceId, body }));
    await call(alice.s, EVENTS.send, { from: aliceAddr, envelopes });
  }
  const batched = ((batches * 100) / (performance.now() - t)) * 1000;
  t = performance.now();
  await bob.waitFor((r) => r.length >= sends + batches * 100, "batched envelopes");

  // Under the per-connection directory burst (60), so every lookup is served, none refused.
  const claims = 100;
  t = performance.now();
  await Promise.all(Array.from({ length: claims }, (_, i) => call(i % 2 ? alice.s : bob.s, EVENTS.lookup, { address: bobAddr })));
  const lookups = (claims / (performance.now() - t)) * 1000;

  process.stdout.write(
    [
      `send, 1 envelope per call, sequential: ${single.toFixed(0)} sends/s (each fsynced before its ack)`,
      `send, 100 envelopes per call: ${batched.toFixed(0)} envelopes/s`,
      `directory:lookup, concurrent: ${lookups.toFixed(0)} lookups/s`,
      "",
    ].join("\n"),
  );
  alice.disconnect();
  bob.disconnect();
  await relay.stop();
}

void main();
