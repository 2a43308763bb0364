// Writes the known-answer vectors in lib/crypto/vectors/kat/*.json from the independent Node reference
// (lib/crypto/testing/nodeReference.ts via katBuild.ts). Run: npm run kat:generate
// (node --import tsx scripts/make-kat-vectors.ts [--check]). Every input is derived from a fixed label, so a
// rerun writes identical files; --check only compares. Node has no ML-KEM, so the ML-KEM-768 key pair,
// ciphertext and shared secret are made here once with @noble/post-quantum's deterministic keygen(seed) and
// encapsulate(pk, m) and written into the vector; lib/crypto must decapsulate the same secret from them.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import {
  type AttachmentFile,
  type EncapsulationInput,
  type KemKeyInput,
  type PqxdhCaseInput,
  type PqxdhFile,
  type SafetyFile,
  type SenderKeyFile,
  type SessionCaseInput,
  type SessionFile,
  buildAttachment,
  buildLibsignalFingerprint,
  buildPqxdh,
  buildSafety,
  buildSenderKey,
  buildSession,
} from "../lib/crypto/testing/katBuild";
import { detBytes, hex } from "../lib/crypto/testing/nodeReference";

const OUT = join(import.meta.dirname, "..", "lib", "crypto", "vectors", "kat");
const det = (label: string, n = 32) => hex(detBytes(`junction-kat/${label}`, n));

const kemSecret = new Map<number, Uint8Array>();
function kemKey(id: number): KemKeyInput {
  const keygenSeed = detBytes(`junction-kat/bob/kem-prekey/${id}`, 64);
  const { publicKey, secretKey } = ml_kem768.keygen(keygenSeed);
  kemSecret.set(id, secretKey);
  return { id, keygenSeed: hex(keygenSeed), publicKey: hex(publicKey) };
}
function encapsulate(to: KemKeyInput, use: string): EncapsulationInput {
  const m = detBytes(`junction-kat/alice/kem-encapsulation/${use}`, 32);
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(Buffer.from(to.publicKey, "hex"), m);
  if (hex(ml_kem768.decapsulate(cipherText, kemSecret.get(to.id)!)) !== hex(sharedSecret)) throw new Error("ML-KEM round trip failed");
  return { randomness: hex(m), ciphertext: hex(cipherText), sharedSecret: hex(sharedSecret) };
}

const alice = { identitySeed: det("alice/identity"), address: "whatsapp:+15551230001" };
const bob = { identitySeed: det("bob/identity"), address: "instagram:@bob" };
const signedPrekey = { id: 1, privateKey: det("bob/signed-prekey/1") };
const oneTimePrekey = { id: 100, privateKey: det("bob/one-time-prekey/100") };

const lastResortKem = kemKey(7);
const oneTimeKem = kemKey(200);

function pqxdhCase(name: string, opts: { oneTime: boolean; kemOneTime?: boolean }): PqxdhCaseInput {
  const kemOneTimePrekey = opts.kemOneTime ? oneTimeKem : undefined;
  return {
    name,
    alice,
    bob,
    prekeys: {
      signedPrekey,
      oneTimePrekey: opts.oneTime ? oneTimePrekey : undefined,
      kemPrekey: lastResortKem,
      kemOneTimePrekey,
      encapsulation: encapsulate(kemOneTimePrekey ?? lastResortKem, name),
    },
    baseKeyPrivate: det(`alice/base-key/${name}`),
  };
}

/** A conversation: three prekey messages, a reply of two, two more from Alice (PN = 3), one from Bob (PN = 2). */
function sessionCase(name: string, opts: { oneTime: boolean; kemOneTime?: boolean; short?: boolean }): SessionCaseInput {
  const turn = (from: "alice" | "bob", t: number, count: number) => ({
    from,
    ratchetPrivate: det(`${from}/ratchet/${name}/${t}`),
    plaintexts: Array.from({ length: count }, (_, n) => `${name}: turn ${t} message ${n} from ${from}${n === 1 ? " ✓ ünïcødé" : ""}`),
  });
  const turns = opts.short ? [turn("alice", 1, 1), turn("bob", 2, 1)] : [turn("alice", 1, 3), turn("bob", 2, 2), turn("alice", 3, 2), turn("bob", 4, 1)];
  return { ...pqxdhCase(name, opts), turns };
}

const files: Record<string, unknown> = {};

const pqxdhCases = [
  pqxdhCase("pqxdh-with-one-time-prekey", { oneTime: true }),
  pqxdhCase("pqxdh-without-one-time-prekey", { oneTime: false }),
  pqxdhCase("pqxdh-one-time-kem-prekey", { oneTime: true, kemOneTime: true }),
];
files["pqxdh.json"] = {
  description: "PQXDH session secret, responder side: SK = HKDF(salt 0^32, 0xFF^32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS, " +
    "Junction_X25519_SHA-256_ML-KEM-768_v1, 32). Private keys and Ed25519 seeds are inputs; the ML-KEM-768 keys, ciphertext and " +
    "secret were made once with @noble/post-quantum keygen(keygenSeed) / encapsulate(publicKey, encapsulation.randomness), to the " +
    "one-time KEM prekey when there is one (flag 0x04), else to the signed last-resort one.",
  cases: pqxdhCases.map((inputs) => ({ inputs, expected: buildPqxdh(inputs) })),
} satisfies PqxdhFile;

const sessionCases = [
  sessionCase("session-with-one-time-prekey", { oneTime: true }),
  sessionCase("session-without-one-time-prekey", { oneTime: false, short: true }),
  sessionCase("session-one-time-kem-prekey", { oneTime: false, kemOneTime: true, short: true }),
];
files["session.json"] = {
  description: "Whole sessions on the wire: the prekey message (0x12 ‖ IK_A ‖ EK_A ‖ SPK id ‖ flags (0x01 OPK, 0x02 KEM, 0x04 one-time KEM) ‖ " +
    "[OPK id] ‖ KEM prekey id ‖ KEM ct ‖ " +
    "header ‖ body) and the Double Ratchet messages that follow, from fixed identity, prekey, base and ratchet keys. Turn t's " +
    "sender holds ratchetPrivate; (RK_t, CK_t) = KDF_RK(RK_{t-1}, DH(K_t, K_{t-1})), RK_0 = SK, K_0 = the signed prekey.",
  cases: sessionCases.map((inputs) => ({ inputs, expected: buildSession(inputs) })),
} satisfies SessionFile;

const libsignal = {
  source: "signalapp/libsignal rust/protocol/src/fingerprint.rs, test fingerprint_test_v1 (testVectorsVersion1 in Java)",
  inputs: {
    aliceIdentity: "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868",
    bobIdentity: "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b",
    aliceStableId: "+14152222222",
    bobStableId: "+14153333333",
    iterations: 5200,
    version: 1,
  },
  published: {
    displayable: "300354477692869396892869876765458257569162576843440918079131",
    aliceScannable: "080112220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df1a220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d",
    bobScannable: "080112220a20d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d1a220a201e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df",
  },
};
const computed = buildLibsignalFingerprint(libsignal.inputs);
if (JSON.stringify(computed) !== JSON.stringify(libsignal.published)) throw new Error(`reference disagrees with libsignal: ${JSON.stringify(computed)}`);
const safetyInputs = { alice, bob };
files["safety-number.json"] = {
  description: "Safety numbers: per side h = SHA-512(0x0000 ‖ IK ‖ address ‖ IK), then h = SHA-512(h ‖ IK), 5,200 hashes; 30 digits per " +
    "side, halves sorted; QR = 0x01 ‖ our 32 ‖ their 32. `libsignal` is libsignal's published vector for the same iteration core " +
    "with its own keys (type 0x05) and stable ids; our API takes only 0x01 keys, so lib/crypto meets it through fingerprintDigits.",
  junction: { inputs: safetyInputs, expected: buildSafety(safetyInputs) },
  libsignal,
} satisfies SafetyFile;

const senderKeyInputs = {
  groupId: "group-kat-1",
  sender: "messenger:alice.smith/device-01",
  chainId: 0x2468ace1,
  iteration: 5,
  chainKey: det("sender-key/chain-key"),
  signingSeed: det("sender-key/signing-seed"),
  plaintexts: [5, 6, 7, 8, 9].map((i) => `group message at iteration ${i}`),
};
files["sender-key.json"] = {
  description: "Sender-key distribution and group messages at iterations 5–9: seed = HMAC(CK, 0x01), CK' = HMAC(CK, 0x02), " +
    "HKDF(seed, Junction_SenderKey_MessageKeys_v1, 56) → key ‖ nonce; message = 0x22 ‖ chainId ‖ iteration ‖ XChaCha20-Poly1305 " +
    "body ‖ Ed25519 over Junction_SenderKey_AD_v1 ‖ groupId ‖ sender ‖ head ‖ body.",
  cases: [{ inputs: senderKeyInputs, expected: buildSenderKey(senderKeyInputs) }],
} satisfies SenderKeyFile;

const attachmentCases = [
  { name: "150-kib", key: det("attachment/key/150k"), plaintextLabel: "junction-kat/attachment/150k", plaintextLength: 150 * 1024 },
  { name: "two-full-chunks", key: det("attachment/key/128k"), plaintextLabel: "junction-kat/attachment/128k", plaintextLength: 128 * 1024 },
  { name: "empty", key: det("attachment/key/empty"), plaintextLabel: "junction-kat/attachment/empty", plaintextLength: 0 },
];
files["attachment.json"] = {
  description: "Attachments: HKDF(key, Junction_Attachment_v1, 64) → ChaCha20-Poly1305 key ‖ commitment; ciphertext = 0x02 ‖ u32be(65536) ‖ " +
    "commitment ‖ chunks (nonce 0^7 ‖ index u32be ‖ last, AD = header ‖ commitment). The plaintext is SHA-256(plaintextLabel ‖ u32be(i)) " +
    "blocks truncated to plaintextLength; the ciphertext is pinned by its digest " +
    "(SHA-256(Junction_Attachment_Digest_v2 ‖ u32be(chunk count) ‖ SHA-256(prefix) ‖ SHA-256(each sealed chunk))), prefix and chunk tags.",
  cases: attachmentCases.map((inputs) => {
    const { ciphertext: _ciphertext, ...expected } = buildAttachment(inputs);
    return { inputs, expected };
  }),
} satisfies AttachmentFile;

mkdirSync(OUT, { recursive: true });
const check = process.argv.includes("--check");
let stale = 0;
for (const [name, content] of Object.entries(files)) {
  const path = join(OUT, name);
  const json = `${JSON.stringify(content, null, 2)}\n`;
  if (check) {
    let old = "";
    try {
      old = readFileSync(path, "utf8");
    } catch {
      // missing counts as stale
    }
    if (old !== json) {
      stale++;
      console.error(`stale: ${path}`);
    }
  } else {
    writeFileSync(path, json);
    console.log(`wrote ${path} (${json.length} bytes)`);
  }
}
if (stale) process.exit(1);
