// Test 7: after one visit, the app opens with no network at all, inbox and history included.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("7. after a first load, offline + reload opens the inbox with its history", async ({ person }) => {
  const hugo = await person();
  const ivy = await person();
  const h = handles("hugo");
  await hugo.app.createAccount("WhatsApp", h.whatsapp, NAMES.hugo);
  await ivy.app.createAccount("Instagram", h.instagram, NAMES.ivy);
  await converse(ivy.app, "Instagram", NAMES.ivy, hugo.app, address("WhatsApp", h.whatsapp), TEXT.offlineHistory);

  const page = hugo.app.page;
  // the service worker controls the page once it has installed and claimed it
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);

  await page.context().setOffline(true);
  await page.reload();
  await expect(hugo.app.status).toHaveText("Offline");
  await expect(hugo.app.conversation(NAMES.ivy)).toBeVisible();
  // the reload kept the open conversation; going through the inbox works as well
  await page.goto("/");
  await hugo.app.openConversation(NAMES.ivy);
  await expect(hugo.app.message(TEXT.offlineHistory)).toBeVisible();
  await page.context().setOffline(false);
});

test("after a new deploy, the shell cache drops files of older builds and keeps the current ones", async ({ person }) => {
  const { app } = await person();
  const page = app.page;
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.reload();
  await expect(page.getByRole("button", { name: "Create account" })).toBeVisible();
  // pretend the cache was filled by an older build
  await page.evaluate(async () => {
    const cache = await caches.open("junction-shell-v1");
    await cache.put("/_next/static/chunks/from-an-older-build.js", new Response("old", { headers: { "content-type": "text/javascript" } }));
    await cache.put("/__junction-shell-assets", new Response(JSON.stringify([`${location.origin}/_next/static/chunks/from-an-older-build.js`])));
  });
  await page.reload();
  await expect(page.getByRole("button", { name: "Create account" })).toBeVisible();
  await expect
    .poll(() => page.evaluate(async () => (await (await caches.open("junction-shell-v1")).keys()).map((r) => new URL(r.url).pathname)))
    .not.toContain("/_next/static/chunks/from-an-older-build.js");
  const kept = await page.evaluate(async () => (await (await caches.open("junction-shell-v1")).keys()).map((r) => new URL(r.url).pathname));
  expect(kept).toContain("/");
  expect(kept.some((path) => path.startsWith("/_next/static/"))).toBe(true);

  // and the app still opens offline from what was kept
  await page.context().setOffline(true);
  await page.reload();
  await expect(page.getByRole("button", { name: "Create account" })).toBeVisible();
  await page.context().setOffline(false);
});
