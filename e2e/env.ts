// Where the e2e relay listens and keeps its data; shared by the config and the specs.
export const E2E_PORT = Number(process.env.E2E_PORT ?? 3100);
export const BASE_URL = `http://localhost:${E2E_PORT}`;
export const RELAY_DATA_DIR = ".e2e-data/relay";
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  // Debian's Chromium runs headless as the full browser: each window preloads the omnibox popup's web UI,
  // whose AI-mode popup animates while hidden. Measured here: 3 idle windows cost 3.5 s of CPU per 8 s with
  // it and 0.1 s without, CPU the app's own tests and benchmarks would otherwise compete with.
  "--disable-features=WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup,PreloadTopChromeWebUI",
];
