// The page starts two workers, the engine's and the attachments' I/O worker, from one bootstrap file that
// the build tells apart by its URL's fragment. Under the service worker each must stay itself after every
// reload: one engine holding the lock, and the I/O worker running other code (not a second engine, nor the
// engine turned into a second I/O worker and the status stuck at "Connecting…").
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { handles } from "./flows";

/** Each worker's name and the scripts it loaded. */
async function workers(page: Page): Promise<{ name: string; scripts: string[] }[]> {
  return Promise.all(
    page.workers().map((worker) =>
      worker.evaluate(() => ({
        name: self.name,
        scripts: performance
          .getEntriesByType("resource")
          .map((entry) => new URL(entry.name).pathname)
          .filter((path) => path.endsWith(".js"))
          .sort(),
      })),
    ),
  );
}

test("after reloads under the service worker, the engine's worker and the I/O worker each run their own code, compiled eagerly", async ({ person }) => {
  const { app } = await person();
  await app.createAccount("WhatsApp", handles("rita").whatsapp, "Rita");
  const page = app.page;
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  // the first reload under the service worker stores the workers' files, the next ones are served from there
  for (let i = 1; i <= 3; i++) {
    await page.reload();
    await expect(app.status, `reload ${i}`).toHaveText("Online");
    const locks = await page.evaluate(async () => {
      const { held = [], pending = [] } = await navigator.locks.query();
      return { held: held.map((l) => l.name), pending: pending.map((l) => l.name) };
    });
    expect(locks, `reload ${i}: one engine, none waiting`).toEqual({ held: ["junction-engine"], pending: [] });
    await expect.poll(async () => (await workers(page)).map((w) => w.name).sort(), `reload ${i}`).toEqual(["junction-engine", "junction-io"]);
    const [a, b] = await workers(page);
    expect(a.scripts.length, `reload ${i}: scripts loaded`).toBeGreaterThan(0);
    expect(a.scripts, `reload ${i}: the two workers run different code`).not.toEqual(b.scripts);
  }
  // every chunk the page and its workers run carries V8's compile hint as served (scripts/compile-hints.mjs):
  // without it, a load compiles functions lazily inside its first tasks, the longest ones of a backlog
  const pageScripts = await page.evaluate(() => performance.getEntriesByType("resource").map((entry) => new URL(entry.name).pathname));
  const chunks = [...new Set([...pageScripts, ...(await workers(page)).flatMap((w) => w.scripts)])].filter((path) => path.startsWith("/_next/static/chunks/") && path.endsWith(".js"));
  expect(chunks.length).toBeGreaterThan(3);
  const firstLines = await page.evaluate(async (paths) => Promise.all(paths.map(async (path) => `${path}: ${(await (await fetch(path)).text()).split("\n")[0].slice(0, 40)}`)), chunks);
  expect(firstLines).toEqual(chunks.map((path) => `${path}: //# allFunctionsCalledOnLoad`));
});
