// Rotated-out prekeys keep their private halves for the grace period, then go with their replay guards and
// their cached CryptoKeys; the newest of each kind is never deleted.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { JunctionDB } from "../store/db";
import { randomId } from "../store/ids";
import { decodeKey, deserializeSignedPrekey, generateIdentityKeyPair, KeyTag } from "../crypto";
import { dh, generateDhKeyPair, isDhKeyCached } from "../crypto/x25519";
import { dropExpiredPrekeys } from "./accounts";
import type { EngineContext } from "./context";
import { makeKemPrekey, makeSignedPrekey, OLD_PREKEY_GRACE_MS, SIGNED_PREKEY_MAX_AGE_MS } from "./keys";
import { Counters, silentLogger } from "./log";

const DAY = 24 * 60 * 60 * 1000;

describe("prekey rotation", () => {
  it("deletes a replaced signed or KEM prekey only after the grace period, with its replay guards and cached key", async () => {
    const db = new JunctionDB(`prekeys-${randomId()}`);
    const ctx = { db, log: silentLogger, counters: new Counters(), now: () => 0 } as unknown as EngineContext;
    const address = "whatsapp:+15551230001" as const;
    const identity = generateIdentityKeyPair();
    const t0 = 1_700_000_000_000;
    const t1 = t0 + SIGNED_PREKEY_MAX_AGE_MS + DAY; // the rotation
    const s1 = await makeSignedPrekey(address, identity, 1, t0);
    const s2 = await makeSignedPrekey(address, identity, 2, t1);
    const k1 = makeKemPrekey(address, identity, 1, t0);
    const k2 = makeKemPrekey(address, identity, 60, t1);
    await db.prekeys.bulkPut([s1.row, s2.row, k1.row, k2.row]);
    await db.baseKeys.bulkPut([
      { key: "g-old", address, signedPrekeyId: 1, kemPrekeyId: 60, at: t0 },
      { key: "g-old-kem", address, signedPrekeyId: 2, kemPrekeyId: 1, at: t0 },
      { key: "g-new", address, signedPrekeyId: 2, kemPrekeyId: 60, at: t1 },
    ]);
    // the old signed prekey's private key is in the CryptoKey cache, as after decrypting a first message
    const old = deserializeSignedPrekey(s1.row.record);
    const pair = { publicKey: decodeKey(KeyTag.signedPrekey, old.publicKey), privateKey: old.privateKey };
    await dh(pair, (await generateDhKeyPair("webcrypto")).publicKey, "webcrypto");
    expect(isDhKeyCached(pair.publicKey)).toBe(true);

    expect(await dropExpiredPrekeys(ctx, address, t1 + OLD_PREKEY_GRACE_MS)).toBe(0);
    expect(await db.prekeys.count()).toBe(4);
    expect(await dropExpiredPrekeys(ctx, address, t1 + OLD_PREKEY_GRACE_MS + 1)).toBe(2);
    expect((await db.prekeys.toArray()).map((p) => `${p.kind}:${p.id}`).sort()).toEqual(["kem:60", "signed:2"]);
    expect((await db.baseKeys.toArray()).map((g) => g.key)).toEqual(["g-new"]);
    expect(isDhKeyCached(pair.publicKey)).toBe(false);
    // the newest of each kind stays however old it is
    expect(await dropExpiredPrekeys(ctx, address, t1 + 100 * OLD_PREKEY_GRACE_MS)).toBe(0);
  });
});
