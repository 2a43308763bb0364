// `npm run chaos [-- vitest args]`: the chaos test at the size (5,000 messages; CHAOS_MESSAGES
// overrides), apart from `npm test`, which runs it at 600. Three relay nodes on Postgres and Redis,
// 20 real engines, a node SIGKILLed every few seconds and Redis once: see lib/engine/chaos.test.ts.
// Heavy: about 10 minutes on a shared 2-core machine; it prints its figures at the end.
import { spawn } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const env = { ...process.env, CHAOS_MESSAGES: process.env.CHAOS_MESSAGES ?? "5000" };
const child = spawn(process.execPath, [join(root, "node_modules/vitest/vitest.mjs"), "run", "lib/engine/chaos.test.ts", ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
