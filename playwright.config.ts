// End-to-end tests: the real relay serving the built app, real Chromium (Debian's), separate
// browser contexts for separate people. `npm run test:e2e` builds the app first when needed.
import { defineConfig } from "@playwright/test";
import { BASE_URL, CHROMIUM_ARGS, CHROMIUM_PATH, RELAY_DATA_DIR, E2E_PORT } from "./e2e/env";
import { TEST_RELAY_LIMITS_ENV } from "./lib/relay/test/limits";

export default defineConfig({
  testDir: "e2e",
  testMatch: "*.spec.ts",
  forbidOnly: !!process.env.CI,
  retries: 0,
  // two cores, shared: two people's browsers per test already keep both busy
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: process.env.CI ? [["list"], ["html", { open: "never" }]] : [["list"]],
  use: {
    baseURL: BASE_URL,
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    serviceWorkers: "allow",
  },
  projects: [
    { name: "app", testIgnore: /at-rest\.spec\.ts$/ },
    // reads what the relay stored while the others ran, so it runs last
    { name: "relay-at-rest", testMatch: /at-rest\.spec\.ts$/, dependencies: ["app"] },
  ],
  webServer: {
    // a fresh data directory each run: the specs claim fixed handles such as messenger:alice.smith
    command: `rm -rf ${RELAY_DATA_DIR} && exec node --import tsx lib/relay/main.ts`,
    url: `${BASE_URL}/manifest.webmanifest`,
    env: { PORT: String(E2E_PORT), DATA_DIR: RELAY_DATA_DIR, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", RELAY_LIMITS: TEST_RELAY_LIMITS_ENV },
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
