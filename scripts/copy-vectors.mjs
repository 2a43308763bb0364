// Copies the Wycheproof vectors that lib/crypto tests into the repo, so tests run from a clean clone too.
// Source: ../shared/vectors/wycheproof beside the repo (Apache-2.0; the LICENSE travels with them).
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const from = join(root, "..", "shared", "vectors", "wycheproof");
const to = join(root, "lib", "crypto", "vectors");
export const VECTOR_FILES = [
  "x25519_test.json",
  "ed25519_test.json",
  "xchacha20_poly1305_test.json",
  "chacha20_poly1305_test.json",
  "hkdf_sha256_test.json",
  "hmac_sha256_test.json",
  "mlkem_768_test.json",
  "mlkem_768_encaps_test.json",
  "LICENSE",
  "README.md",
];

if (!existsSync(from)) {
  console.error("no vectors beside the repo (../shared/vectors/wycheproof)");
  process.exit(1);
}
mkdirSync(to, { recursive: true });
for (const f of VECTOR_FILES) copyFileSync(join(from, f), join(to, f));
console.log(`copied ${VECTOR_FILES.length} files to lib/crypto/vectors`);
