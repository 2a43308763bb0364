// `npm start`: build the Next app when there is no build or the sources changed since, then run the one
// process that serves the app and the relay (PORT, default 3000; DATA_DIR, default ./data).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { addCompileHints } from "./compile-hints.mjs";

const root = join(import.meta.dirname, "..");
const SOURCES = ["app", "components", "lib", "public", "next.config.js", "postcss.config.mjs", "package.json"];

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

export function needsBuild() {
  const buildId = join(root, ".next", "BUILD_ID");
  if (!existsSync(buildId)) return true;
  const built = statSync(buildId).mtimeMs;
  return SOURCES.some((source) => existsSync(join(root, source)) && newestMtime(join(root, source)) > built);
}

export function build() {
  console.log("junction: building the app (first start or sources changed)…");
  // package.json's build: `next build`, then the compile hints (scripts/compile-hints.mjs)
  const result = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Builds when needed; a build made by `next build` alone gets its compile hints here (none twice). */
export function prepare() {
  if (needsBuild()) build();
  else addCompileHints(join(root, ".next", "static", "chunks"));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  prepare();
  const server = spawn(process.execPath, ["--import", "tsx", "lib/relay/main.ts", ...process.argv.slice(2)], {
    cwd: root,
    stdio: "inherit",
    env: { NODE_ENV: "production", ...process.env },
  });
  // Forward signals so SIGTERM reaches the server and it can close the database cleanly.
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
  server.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
