// On a phone-sized screen the inbox and the conversation take turns; the back button and the
// browser's Back both return to the inbox.
import { expect, test } from "./fixtures";
import { address, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("on a narrow screen, the inbox and a conversation take turns", async ({ person }) => {
  const phone = await person({ viewport: { width: 390, height: 800 }, isMobile: true, hasTouch: true });
  const desk = await person();
  const h = handles("gina");
  await phone.app.createAccount("WhatsApp", h.whatsapp, NAMES.gina);
  await desk.app.createAccount("Messenger", h.messenger, NAMES.hugo);
  await desk.app.startChat("Messenger", address("WhatsApp", h.whatsapp));
  await desk.app.send(TEXT.narrow);

  const app = phone.app;
  await expect(app.conversation(NAMES.hugo)).toBeVisible();
  await expect(app.composer).toHaveCount(0);
  await expect(app.page.getByRole("heading", { name: "Junction", level: 1 })).toBeVisible();
  await app.openConversation(NAMES.hugo);
  await expect(app.message(TEXT.narrow)).toBeVisible();
  await expect(app.conversations).toBeHidden();
  // the app bar gives way to the conversation's own compact header
  await expect(app.page.getByRole("heading", { name: "Junction", level: 1 })).toBeHidden();
  const header = await app.page.getByRole("heading", { name: NAMES.hugo }).evaluate((el) => el.closest("header")?.getBoundingClientRect().height ?? 0);
  expect(header).toBeGreaterThan(0);
  expect(header).toBeLessThanOrEqual(64);

  await app.page.getByRole("button", { name: "Back to the inbox" }).click();
  await expect(app.conversation(NAMES.hugo)).toBeVisible();
  await expect(app.page.getByRole("heading", { name: "Junction", level: 1 })).toBeVisible();
  await expect(app.composer).toHaveCount(0);

  await app.openConversation(NAMES.hugo);
  await app.page.goBack();
  await expect(app.conversation(NAMES.hugo)).toBeVisible();
  await expect(app.composer).toHaveCount(0);
});
