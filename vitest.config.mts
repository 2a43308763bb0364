import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL("./", import.meta.url)) } },
  test: {
    include: ["lib/**/*.test.ts", "components/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // two files at a time: most wait on relay processes, Postgres and fsyncs, and vitest's default
    // (cores - 1) would run one at a time on a 2-core machine
    maxWorkers: 2,
  },
});
