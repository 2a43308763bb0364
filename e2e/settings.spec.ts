// Settings: theme (kept across reloads), display name, and logging out, which leaves nothing of the
// accounts on this device: no IndexedDB database, no cache, no service worker.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("theme and display name", async ({ person }) => {
  const carol = await person({ colorScheme: "light" });
  const dave = await person();
  const h = handles("settings");
  await Promise.all([carol.app.createAccount("WhatsApp", h.whatsapp, NAMES.carol), dave.app.createAccount("Messenger", h.messenger, NAMES.dave)]);
  await converse(carol.app, "WhatsApp", NAMES.carol, dave.app, address("Messenger", h.messenger), TEXT.settingsSetup);

  const isDark = () => carol.app.page.evaluate(() => document.documentElement.classList.contains("dark"));
  const background = () => carol.app.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(await isDark()).toBe(false);
  const light = await background();
  const settings = await carol.app.openSettings();
  await settings.getByRole("radio", { name: "Dark" }).check();
  await expect.poll(isDark).toBe(true);
  expect(await background()).not.toBe(light);
  await carol.app.page.reload();
  await expect(carol.app.composer).toBeVisible();
  expect(await isDark()).toBe(true);

  const again = await carol.app.openSettings();
  const name = again.getByRole("textbox", { name: `Display name for WhatsApp ${h.whatsapp}` });
  await expect(name).toHaveValue(NAMES.carol);
  await name.fill(NAMES.bob);
  await again.getByRole("button", { name: "Save" }).click();
  await expect(again.getByText("Saved.")).toBeVisible();
  await carol.app.page.keyboard.press("Escape");
  await carol.app.send(TEXT.receiptsSetup);
  await expect(dave.app.page.getByRole("heading", { name: NAMES.bob })).toBeVisible();
});

test("log out asks first, then wipes IndexedDB, caches and the service worker and returns to first run", async ({ person }) => {
  const erin = await person();
  const h = handles("logout");
  await erin.app.createAccount("Instagram", h.instagram, NAMES.erin);
  const page = erin.app.page;
  // the service worker is installed and has cached the shell
  await expect.poll(() => page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(1);
  await expect.poll(() => page.evaluate(async () => (await caches.keys()).length)).toBeGreaterThan(0);
  expect(await page.evaluate(async () => (await indexedDB.databases()).length)).toBeGreaterThan(0);

  const settings = await erin.app.openSettings();
  await settings.getByRole("button", { name: "Log out" }).click();
  const confirm = page.getByRole("dialog", { name: "Log out of this device?" });
  await expect(confirm).toContainText("all your message history and your keys");
  // Cancel keeps everything
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(erin.app.newMessageButton).toBeVisible();

  await (await erin.app.openSettings()).getByRole("button", { name: "Log out" }).click();
  await confirm.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("status", { name: "Logged out" })).toBeVisible();
  expect(await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toEqual([]);
  expect(await page.evaluate(async () => await caches.keys())).toEqual([]);
  expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(0);

  await page.getByRole("button", { name: "Start again" }).click();
  await expect(page.getByRole("button", { name: "Create account" })).toBeVisible();
  // the old handle's keys are gone from here: this device starts with no account
  await expect(erin.app.newMessageButton).toHaveCount(0);
});
