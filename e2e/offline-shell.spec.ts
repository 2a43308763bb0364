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
