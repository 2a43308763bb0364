// `npm run test:e2e`: build the app when there is no build or the sources are newer, wipe the e2e
// relay's data, then run Playwright (which starts the relay itself). Extra arguments go to Playwright.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { prepare } from "./start.mjs";

const root = join(import.meta.dirname, "..");
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(chromium)) {
  console.error(`e2e: no Chromium at ${chromium}; install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  process.exit(1);
}

prepare();
rmSync(join(root, ".e2e-data"), { recursive: true, force: true });

const result = spawnSync("npx", ["playwright", "test", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
});
process.exit(result.status ?? 1);
