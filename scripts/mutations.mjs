// Mutation testing of lib/crypto: `npm run test:mutations [-- --check] [-- --all] [-- --only id,id]`.
// Copies the repository once to a temporary directory (node_modules linked, never the original touched),
// then for each mutant restores the pristine file, applies one textual mutation and runs vitest with --bail=1
// on the test files that mutant maps to (--all: the whole lib/crypto suite): first the one or two files
// expected to kill it, then, only if it survives them, the rest. A mutant is killed when a run fails; the
// table names the first failing test. Every pattern must match exactly as often as declared
// before anything runs, so a mutant can never silently vanish when the code changes (--check stops there).
// --without=mutations leaves a test file out, e.g. to show which mutants only lib/crypto/mutations.test.ts kills.
// Exits 1 if any mutant survives, 2 if a pattern is stale or the unmutated suite fails.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const args = process.argv.slice(2);
const CHECK_ONLY = args.includes("--check");
const ALL = args.includes("--all");
const KEEP = args.includes("--keep");
const onlyArg = args.find((a) => a.startsWith("--only="))?.slice(7) ?? (args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined);
const ONLY = onlyArg ? new Set(onlyArg.split(",")) : undefined;
/** --without=name[,name]: leave those test files out (e.g. to see which mutants only mutations.test.ts kills). */
const WITHOUT = (args.find((a) => a.startsWith("--without="))?.slice(10) ?? "").split(",").filter(Boolean).map((n) => `lib/crypto/${n}.test.ts`);
const TIMEOUT_MS = 180_000;

const T = (name) => `lib/crypto/${name}.test.ts`;
// `tests`: stages run in order until one fails; the first is the likely killer, kept small for speed.
const SESSION_TESTS = [[T("kat"), T("session.kat")], [T("attacks"), T("session"), T("session.record")]];
const SIGNATURE_TESTS = [[T("attacks")], [T("kat"), T("session.kat"), T("session"), T("session.record")]];
const MAX_SKIP_TESTS = [[T("attacks"), T("mutations")], [T("kat"), T("session.kat"), T("reference"), T("session"), T("ratchet.property")]];
const RATCHET_TESTS = [[T("kat"), T("session.kat")], [T("attacks"), T("mutations"), T("reference"), T("session"), T("ratchet.property")]];

/**
 * Each mutant: one file, one or more edits applied together (so that both sides of the protocol change
 * consistently where a one-sided change would only test round trips). An edit's `find` is a string or a
 * global RegExp that must match exactly `count` times (default 1); every match is replaced.
 */
const MUTANTS = [
  {
    id: "pqxdh-no-kem-secret",
    what: "remove the KEM shared secret from the KDF input (both sides)",
    file: "lib/crypto/x3dh.ts",
    edits: [
      { find: "  parts.push(enc.sharedSecret);\n", replace: "" },
      { find: "parts.push(kemDecapsulate(header.kemCiphertext, keys.kemSecretKey));", replace: "kemDecapsulate(header.kemCiphertext, keys.kemSecretKey);" },
    ],
    tests: SESSION_TESTS,
  },
  {
    id: "pqxdh-no-dh2",
    what: "remove DH2 = DH(EK_A, IK_B) (both sides)",
    file: "lib/crypto/x3dh.ts",
    edits: [
      { find: "    dh(ek, theirIdentityDh),\n", replace: "" },
      { find: "    dh(ours, ek),\n", replace: "" },
    ],
    tests: SESSION_TESTS,
  },
  {
    id: "pqxdh-no-dh4",
    what: "remove DH4 = DH(EK_A, OPK_B) (both sides)",
    file: "lib/crypto/x3dh.ts",
    edits: [
      { find: "    ...(opkRaw ? [dh(ek, opkRaw)] : []),\n", replace: "" },
      { find: "    ...(keys.oneTimePrekey ? [dh(keys.oneTimePrekey, ek)] : []),\n", replace: "" },
    ],
    tests: SESSION_TESTS,
  },
  {
    id: "pqxdh-skip-spk-signature",
    what: "skip the signed prekey signature check",
    file: "lib/crypto/x3dh.ts",
    edits: [{ find: "if (!verifyIdentity(bundle.identityKey, spk.publicKey, spk.signature)) {", replace: "if (false) {" }],
    tests: SIGNATURE_TESTS,
  },
  {
    id: "pqxdh-skip-kem-signature",
    what: "skip the KEM prekey signature check (last-resort and one-time)",
    file: "lib/crypto/x3dh.ts",
    edits: [{ find: "if (k && !verifyIdentity(bundle.identityKey, k.publicKey, k.signature)) {", replace: "if (false) {" }],
    tests: SIGNATURE_TESTS,
  },
  {
    id: "pqxdh-skip-one-time-kem-signature",
    what: "check only the last-resort KEM prekey's signature, not the one-time one's",
    file: "lib/crypto/x3dh.ts",
    edits: [{ find: "for (const k of [bundle.kemPrekey, bundle.kemOneTimePrekey]) {", replace: "for (const k of [bundle.kemPrekey]) {" }],
    tests: SIGNATURE_TESTS,
  },
  {
    id: "ad-no-identity-keys",
    what: "drop both identity keys from the session associated data",
    file: "lib/crypto/session.ts",
    edits: [{ find: "concat(AD_LABEL, senderKey, recipientKey, lengthPrefixed(senderAddress), lengthPrefixed(recipientAddress))", replace: "concat(AD_LABEL, lengthPrefixed(senderAddress), lengthPrefixed(recipientAddress))" }],
    tests: SESSION_TESTS,
  },
  {
    id: "ad-no-addresses",
    what: "drop both addresses from the session associated data",
    file: "lib/crypto/session.ts",
    edits: [{ find: "concat(AD_LABEL, senderKey, recipientKey, lengthPrefixed(senderAddress), lengthPrefixed(recipientAddress))", replace: "concat(AD_LABEL, senderKey, recipientKey)" }],
    tests: SESSION_TESTS,
  },
  {
    id: "ratchet-ad-without-header",
    what: "ratchet AEAD ignores the header in its associated data (encrypt and decrypt)",
    file: "lib/crypto/ratchet.ts",
    edits: [{ find: "concat(ad, header)", replace: "ad", count: 2 }],
    tests: RATCHET_TESTS,
  },
  {
    id: "ratchet-max-skip-current-chain",
    what: "MAX_SKIP off by one in the current chain: a gap of exactly 1,000 refused",
    file: "lib/crypto/ratchet.ts",
    edits: [{ find: "if (h.n - s.nr > MAX_SKIP)", replace: "if (h.n - s.nr >= MAX_SKIP)" }],
    tests: MAX_SKIP_TESTS,
  },
  {
    id: "ratchet-max-skip-new-chain",
    what: "MAX_SKIP off by one on a new ratchet key: counter 1,000 refused",
    file: "lib/crypto/ratchet.ts",
    edits: [{ find: "if (h.n > MAX_SKIP ||", replace: "if (h.n >= MAX_SKIP ||" }],
    tests: MAX_SKIP_TESTS,
  },
  {
    id: "ratchet-max-skip-plus-one",
    what: "MAX_SKIP off by one everywhere in the ratchet: a gap of 1,001 accepted",
    file: "lib/crypto/ratchet.ts",
    edits: [{ find: /> MAX_SKIP\b/g, replace: "> MAX_SKIP + 1", count: 4 }],
    tests: MAX_SKIP_TESTS,
  },
  {
    id: "senderkey-max-skip",
    what: "MAX_SKIP off by one in sender keys: 1,000 ahead refused",
    file: "lib/crypto/senderKeys.ts",
    edits: [{ find: "if (iteration - s.iteration > MAX_SKIP)", replace: "if (iteration - s.iteration >= MAX_SKIP)" }],
    tests: [[T("kat"), T("senderKeys")]],
  },
  {
    id: "senderkey-signature-no-group",
    what: "drop the group id from the sender-key signature input (sign and verify)",
    file: "lib/crypto/senderKeys.ts",
    edits: [{ find: "concat(ad, body)", replace: "concat(AD_LABEL, new Writer().str(record.sender).finish(), ad.subarray(ad.length - 9), body)", count: 2 }],
    tests: [[T("kat"), T("senderKeys")]],
  },
  {
    id: "senderkey-signature-no-sender",
    what: "drop the sender from the sender-key signature input (sign and verify)",
    file: "lib/crypto/senderKeys.ts",
    edits: [{ find: "concat(ad, body)", replace: "concat(AD_LABEL, new Writer().str(record.groupId).finish(), ad.subarray(ad.length - 9), body)", count: 2 }],
    tests: [[T("kat"), T("senderKeys")]],
  },
  {
    id: "fingerprint-2-iterations",
    what: "cut the safety-number iterations from 5,200 to 2",
    file: "lib/crypto/fingerprint.ts",
    edits: [{ find: "export const FINGERPRINT_ITERATIONS = 5200;", replace: "export const FINGERPRINT_ITERATIONS = 2;" }],
    tests: [[T("kat")], [T("attacks")]],
  },
  {
    id: "fingerprint-version",
    what: "change the safety-number version bytes 0x0000 → 0x0001",
    file: "lib/crypto/fingerprint.ts",
    edits: [{ find: "const FINGERPRINT_VERSION = new Uint8Array([0x00, 0x00]);", replace: "const FINGERPRINT_VERSION = new Uint8Array([0x00, 0x01]);" }],
    tests: [[T("kat")], [T("attacks")]],
  },
  {
    id: "attachment-skip-ciphertext-commitment",
    what: "skip the check that the ciphertext's commitment is the key's",
    file: "lib/crypto/attachments.ts",
    edits: [{ find: "if (!equalBytes(prefix.subarray(HEADER_BYTES), this.prefix.subarray(HEADER_BYTES))) {", replace: "if (false) {" }],
    tests: [[T("kat"), T("mutations")], [T("attachments")]],
  },
  {
    id: "attachment-skip-key-commitment",
    what: "skip the decryptor's check that the key matches the given commitment",
    file: "lib/crypto/attachments.ts",
    edits: [{ find: "if (!equalBytes(k.commitment, p.commitment)) throw", replace: "if (false) throw" }],
    tests: [[T("kat"), T("mutations")], [T("attachments")]],
  },
  {
    id: "x25519-no-zero-check-noble",
    what: "remove the all-zero DH output check (noble backend)",
    file: "lib/crypto/x25519.ts",
    edits: [{
      find: "    throw new CryptoError(\"bad_key\", \"low-order public key\", { cause: e });\n  }\n  if (isAllZero(out)) throw new CryptoError(\"bad_key\", \"low-order public key\");\n  return out;\n}\n\nasync function importPrivate",
      replace: "    throw new CryptoError(\"bad_key\", \"low-order public key\", { cause: e });\n  }\n  return out;\n}\n\nasync function importPrivate",
    }],
    tests: [[T("mutations")], [T("x25519"), T("wycheproof"), T("attacks")]],
  },
  {
    id: "x25519-no-zero-check-webcrypto",
    what: "remove the all-zero DH output check (WebCrypto backend)",
    file: "lib/crypto/x25519.ts",
    edits: [{
      find: "    throw new CryptoError(\"bad_key\", \"low-order public key\", { cause: e });\n  }\n  if (isAllZero(out)) throw new CryptoError(\"bad_key\", \"low-order public key\");\n  return out;\n}\n\n/**\n * Drops",
      replace: "    throw new CryptoError(\"bad_key\", \"low-order public key\", { cause: e });\n  }\n  return out;\n}\n\n/**\n * Drops",
    }],
    tests: [[T("mutations")], [T("x25519"), T("wycheproof"), T("attacks")]],
  },
  {
    id: "session-no-archive",
    what: "keep no archived states: a new session replaces the old one outright",
    file: "lib/crypto/session.ts",
    edits: [{ find: "  return { current: state, archived: states.slice(0, MAX_ARCHIVED_SESSIONS) };", replace: "  return { current: state, archived: [] };" }],
    tests: [[T("session.record")], [T("session"), T("attacks")]],
  },
  {
    id: "session-current-only",
    what: "try a normal message in the current state only (no trial decryption of archived states)",
    file: "lib/crypto/session.ts",
    edits: [{ find: "  for (let i = 0; i < states.length; i++) {\n    try {\n      return promote(i,", replace: "  for (let i = 0; i < Math.min(1, states.length); i++) {\n    try {\n      return promote(i," }],
    tests: [[T("session.record")], [T("session"), T("attacks")]],
  },
  {
    id: "session-no-replay-guard",
    what: "never consult the replay guard for first messages on last-resort prekeys",
    file: "lib/crypto/session.ts",
    edits: [{ find: "  if (replayGuard && (await p.prekeys.isBaseKeyUsed(replayGuard)))", replace: "  if (replayGuard && false)" }],
    tests: [[T("session.record")], [T("kat"), T("session"), T("attacks")]],
  },
  {
    id: "x25519-cache-aliases-wiped-key",
    what: "cache the caller's private-key array itself and accept an all-zero (wiped) key",
    file: "lib/crypto/x25519.ts",
    edits: [
      { find: "  if (isAllZero(privateKey)) throw new CryptoError(\"bad_key\", \"wiped private key\");\n", replace: "" },
      { find: "{ privateKey: pair.privateKey.slice(), key }", replace: "{ privateKey: pair.privateKey, key }" },
      { find: "{ privateKey: pair.privateKey.slice(), key: kp.privateKey }", replace: "{ privateKey: pair.privateKey, key: kp.privateKey }" },
    ],
    tests: [[T("session.record")], [T("x25519"), T("mutations")]],
  },
  {
    id: "device-list-unsigned",
    what: "open a device list without checking the account key's signature",
    file: "lib/crypto/devices.ts",
    edits: [{ find: "  if (!verifyIdentity(accountKey, encoded, signature)) throw", replace: "  if (false) throw" }],
    tests: [[T("devices")]],
  },
  {
    id: "device-list-rollback",
    what: "accept a device list older than one already seen",
    file: "lib/crypto/devices.ts",
    edits: [{ find: "    if (next.version < known.version) throw", replace: "    if (false) throw" }],
    tests: [[T("devices")]],
  },
  {
    id: "device-list-any-account",
    what: "accept a device list of another account",
    file: "lib/crypto/devices.ts",
    edits: [{ find: "  if (list.address !== address) throw", replace: "  if (false) throw" }],
    tests: [[T("devices")]],
  },
  {
    id: "device-cert-no-device-id",
    what: "leave the device id out of what a device certificate signs",
    file: "lib/crypto/devices.ts",
    edits: [{ find: ".str(c.address).str(c.deviceId).bytes(c.identityKey)", replace: ".str(c.address).bytes(c.identityKey)" }],
    tests: [[T("devices")]],
  },
  {
    id: "provisioning-id-unbound",
    what: "derive the provisioning key without the provisioning id (salt and associated data)",
    file: "lib/crypto/devices.ts",
    edits: [
      { find: "  const ad = concat(PROVISION_LABEL, id, sealer, recipient);", replace: "  const ad = concat(PROVISION_LABEL, sealer, recipient);" },
      { find: "  return { key: hkdfSha256(shared, id, ad, 32), ad };", replace: "  return { key: hkdfSha256(shared, undefined, ad, 32), ad };" },
    ],
    tests: [[T("devices")]],
  },
  {
    id: "group-change-unsigned",
    what: "open a group change without checking its author's signature",
    file: "lib/crypto/groupChanges.ts",
    edits: [{ find: "  if (!verifyIdentity(authorKey, encoded, signature)) throw", replace: "  if (false) throw" }],
    tests: [[T("groupChanges")]],
  },
  {
    id: "group-change-unchained",
    what: "accept a group change that does not name the current head's hash",
    file: "lib/crypto/groupChanges.ts",
    edits: [{ find: "change.version !== head.version + 1 || !equalBytes(change.previous, head.hash)", replace: "change.version !== head.version + 1" }],
    tests: [[T("groupChanges")]],
  },
  {
    id: "attachment-leaves-uncounted",
    what: "take a digest over however many leaves were given, not one per chunk",
    file: "lib/crypto/attachments.ts",
    edits: [{ find: "if (leaves.length !== count || leaves.some((l) => l.length !== 32)) throw", replace: "if (false) throw" }],
    tests: [[T("attachments")], [T("kat"), T("mutations")]],
  },
  {
    id: "attachment-chunks-from-zero",
    what: "seal a run of chunks handed to another thread as chunks 0, 1, … whatever its first index",
    file: "lib/crypto/chunks.ts",
    edits: [{ find: "chunkNonce(nonce, first + c, final)", replace: "chunkNonce(nonce, c, final)" }],
    tests: [[T("attachments")], [T("kat"), T("mutations")]],
  },
  {
    id: "attachment-chunks-no-final-flag",
    what: "seal the file's final chunk without its last-chunk flag (a truncated file would open)",
    file: "lib/crypto/chunks.ts",
    edits: [{ find: "const final = last && c === chunks - 1;", replace: "const final = false;" }],
    tests: [[T("attachments")], [T("kat"), T("mutations")]],
  },
  {
    id: "attachment-hasher-no-skip",
    what: "hash the bytes a leaf hasher was told to pass over (the prefix) into its first leaf",
    file: "lib/crypto/leaves.ts",
    edits: [{ find: "    let rest = data.subarray(Math.min(this.skip, data.length));", replace: "    let rest = data;" }],
    tests: [[T("attachments")], [T("kat"), T("mutations")]],
  },
];

// ------------------------------------------------------------------------------------------ helpers

function countMatches(text, find) {
  if (typeof find === "string") return text.split(find).length - 1;
  if (!find.global) throw new Error(`pattern ${find} must be global`);
  return [...text.matchAll(find)].length;
}

function mutate(original, m) {
  let text = original;
  for (const e of m.edits) {
    const want = e.count ?? 1;
    const got = countMatches(text, e.find);
    if (got !== want) {
      throw new Error(`mutant ${m.id}: pattern ${JSON.stringify(String(e.find)).slice(0, 120)} matches ${got} times in ${m.file}, expected ${want}`);
    }
    text = typeof e.find === "string" ? text.split(e.find).join(e.replace) : text.replace(e.find, e.replace);
  }
  if (text === original) throw new Error(`mutant ${m.id}: mutation changes nothing`);
  return text;
}

const SKIP = new Set(["node_modules", ".git", ".next", "data", ".e2e-data", "test-results", "playwright-report", "coverage"]);

function makeCopy() {
  const dir = mkdtempSync(join(tmpdir(), "junction-mutations-"));
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !(relative(ROOT, src).split("/")[0] && SKIP.has(relative(ROOT, src).split("/")[0])) });
  // node_modules: a real directory of links, so that caches vitest writes (node_modules/.vite) stay in the copy.
  mkdirSync(join(dir, "node_modules"));
  for (const entry of readdirSync(join(ROOT, "node_modules"))) {
    if (entry === ".vite" || entry === ".vitest" || entry === ".cache") continue;
    symlinkSync(join(ROOT, "node_modules", entry), join(dir, "node_modules", entry));
  }
  return dir;
}

function runVitest(dir, files, label) {
  const out = join(dir, `.mutation-report-${label}.json`);
  rmSync(out, { force: true });
  const started = Date.now();
  return new Promise((resolve) => {
    const exclude = WITHOUT.map((f) => `--exclude=${f}`);
    const child = spawn(process.execPath, [join(dir, "node_modules", "vitest", "vitest.mjs"), "run", ...files, ...exclude, "--bail=1", "--reporter=json", `--outputFile=${out}`], {
      cwd: dir,
      env: { ...process.env, CI: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stdout.on("data", () => undefined);
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      let report;
      try {
        report = JSON.parse(readFileSync(out, "utf8"));
      } catch {
        report = undefined;
      }
      resolve({ code, signal, ms, report, stderr });
    });
  });
}

/** The first failing test (file › full name), or why the run failed without one. */
function firstFailure(r) {
  if (r.signal) return `(timed out after ${Math.round(r.ms / 1000)} s)`;
  for (const file of r.report?.testResults ?? []) {
    const failed = file.assertionResults.find((a) => a.status === "failed");
    if (failed) return `${relative(process.cwd(), file.name).replace(/^.*lib\/crypto\//, "")} › ${failed.fullName}`;
  }
  for (const file of r.report?.testResults ?? []) {
    if (file.status === "failed") return `${file.name.replace(/^.*lib\/crypto\//, "")}: ${(file.message || "failed to run").split("\n")[0].slice(0, 100)}`;
  }
  return `(exit ${r.code}) ${r.stderr.split("\n").find((l) => l.trim()) ?? ""}`.slice(0, 140);
}

// --------------------------------------------------------------------------------------------- main

const selected = MUTANTS.filter((m) => !ONLY || ONLY.has(m.id));
if (ONLY && selected.length !== ONLY.size) {
  console.error(`unknown mutant id in --only: ${[...ONLY].filter((id) => !MUTANTS.some((m) => m.id === id)).join(", ")}`);
  process.exit(2);
}
const ids = new Set();
for (const m of MUTANTS) {
  if (ids.has(m.id)) throw new Error(`duplicate mutant id ${m.id}`);
  ids.add(m.id);
}

// Patterns are checked against the working tree first: a stale one fails before any copying or running.
const pristine = new Map();
try {
  for (const m of selected) {
    if (!pristine.has(m.file)) pristine.set(m.file, readFileSync(join(ROOT, m.file), "utf8"));
    mutate(pristine.get(m.file), m);
    for (const t of m.tests.flat()) if (!existsSync(join(ROOT, t))) throw new Error(`mutant ${m.id}: test file ${t} does not exist`);
  }
} catch (e) {
  console.error(`STALE MUTATION PATTERN: ${e.message}`);
  process.exit(2);
}
console.log(`${selected.length} mutants, every pattern matches as declared.`);
if (CHECK_ONLY) process.exit(0);

const t0 = Date.now();
const dir = makeCopy();
console.log(`copy: ${dir}`);
// The copy is a snapshot: patterns are checked again against exactly the files that will be mutated.
for (const file of pristine.keys()) pristine.set(file, readFileSync(join(dir, file), "utf8"));
for (const m of selected) mutate(pristine.get(m.file), m);

const stagesOf = (m) => (ALL ? [["lib/crypto"]] : m.tests.map((files) => files.filter((f) => !WITHOUT.includes(f))).filter((files) => files.length > 0));
const baselineFiles = ALL ? ["lib/crypto"] : [...new Set(selected.flatMap((m) => stagesOf(m).flat()))];
const base = await runVitest(dir, baselineFiles, "baseline");
if (base.code !== 0) {
  console.error(`the unmutated suite fails, so no mutant can be judged: ${firstFailure(base)}`);
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
  process.exit(2);
}
console.log(`baseline: ${baselineFiles.length} test files pass in ${(base.ms / 1000).toFixed(1)} s`);

const rows = [];
try {
  for (const m of selected) {
    const path = join(dir, m.file);
    writeFileSync(path, mutate(pristine.get(m.file), m));
    try {
      let ms = 0;
      let by = "SURVIVED";
      for (const files of stagesOf(m)) {
        const r = await runVitest(dir, files, m.id);
        ms += r.ms;
        if (r.code !== 0) {
          by = firstFailure(r);
          break;
        }
      }
      const killed = by !== "SURVIVED";
      rows.push({ id: m.id, what: m.what, killed, by, s: (ms / 1000).toFixed(1) });
      console.log(`${killed ? "killed  " : "SURVIVED"} ${m.id} (${(ms / 1000).toFixed(1)} s)${killed ? ` by ${by}` : ""}`);
    } finally {
      writeFileSync(path, pristine.get(m.file));
    }
  }
} finally {
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
}

const w = (k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length));
const HEAD = ["mutant", "killed by (first failing test)", "s"];
const widths = { id: Math.max(HEAD[0].length, w("id")), by: Math.min(110, Math.max(HEAD[1].length, w("by"))), s: w("s") };
const line = (id, by, s) => `| ${id.padEnd(widths.id)} | ${by.slice(0, widths.by).padEnd(widths.by)} | ${s.padStart(widths.s)} |`;
console.log();
console.log(line(...HEAD));
console.log(`|${"-".repeat(widths.id + 2)}|${"-".repeat(widths.by + 2)}|${"-".repeat(widths.s + 2)}|`);
for (const r of rows) console.log(line(r.id, r.by, r.s));
const killed = rows.filter((r) => r.killed).length;
console.log();
console.log(`mutation score: ${killed}/${rows.length} killed (${((100 * killed) / rows.length).toFixed(0)} %) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
const survivors = rows.filter((r) => !r.killed);
if (survivors.length) {
  console.log(`SURVIVED: ${survivors.map((r) => `${r.id} (${r.what})`).join("; ")}`);
  process.exit(1);
}
