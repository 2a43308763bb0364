// A message that arrives while the app is hidden raises a notification (once per conversation);
// one that arrives while it is in view does not.
import { expect, test } from "./fixtures";
import { address, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

declare global {
  interface Window {
    __notified?: { title: string; body?: string; tag?: string }[];
    __hidden?: boolean;
  }
}

test("a message arriving while the app is hidden shows a notification with sender and text", async ({ person }) => {
  const ivy = await person({ permissions: ["notifications"] });
  const page = ivy.app.page;
  // headless Chromium never hides a page, so visibility is switched by hand; the notification
  // itself is recorded where the app hands it to the browser
  await page.context().addInitScript(() => {
    window.__notified = [];
    window.__hidden = false;
    Object.defineProperty(document, "visibilityState", { get: () => (window.__hidden ? "hidden" : "visible") });
    const record = (title: string, options?: NotificationOptions) => window.__notified?.push({ title, body: options?.body, tag: options?.tag });
    ServiceWorkerRegistration.prototype.showNotification = async function (title: string, options?: NotificationOptions) {
      record(title, options);
    };
  });
  await page.reload();
  const jon = await person();
  const h = handles("ivy");
  await ivy.app.createAccount("Instagram", h.instagram, NAMES.ivy);
  await expect(page.getByRole("button", { name: "Turn on notifications" })).toHaveCount(0);
  await jon.app.createAccount("WhatsApp", h.whatsapp, NAMES.jon);

  await jon.app.startChat("WhatsApp", address("Instagram", h.instagram));
  await jon.app.send(TEXT.notifyVisible);
  await expect(ivy.app.conversation(NAMES.jon)).toBeVisible();
  expect(await page.evaluate(() => window.__notified)).toEqual([]);

  await page.evaluate(() => {
    window.__hidden = true;
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await jon.app.send(TEXT.notifyHidden);
  await expect.poll(() => page.evaluate(() => window.__notified)).toEqual([
    { title: NAMES.jon, body: TEXT.notifyHidden, tag: expect.stringContaining(h.instagram) },
  ]);
});
