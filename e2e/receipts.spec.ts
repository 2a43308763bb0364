// Read receipts: a message turns "Read" only once it has been on the reader's screen, and no read
// ticks go either way once either side has turned read receipts off.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("ticks go delivered → read when the message is seen, and never to read with receipts off", async ({ person }) => {
  const ivy = await person();
  const jon = await person();
  const h = handles("receipts");
  await Promise.all([ivy.app.createAccount("Instagram", h.instagram, NAMES.ivy), jon.app.createAccount("WhatsApp", h.whatsapp, NAMES.jon)]);
  await converse(ivy.app, "Instagram", NAMES.ivy, jon.app, address("WhatsApp", h.whatsapp), TEXT.receiptsSetup);
  // the first message was on Jon's screen: it is read
  await expect(ivy.app.message(TEXT.receiptsSetup)).toContainText(/Read$/);

  // Jon is in his inbox: a new message is delivered there but not read
  await jon.app.page.keyboard.press("Escape");
  await expect(jon.app.composer).toHaveCount(0);
  await ivy.app.send(TEXT.receiptsRead);
  await expect(ivy.app.message(TEXT.receiptsRead)).toContainText(/Delivered$/);
  await ivy.app.page.waitForTimeout(1_500);
  await expect(ivy.app.message(TEXT.receiptsRead)).toContainText(/Delivered$/);
  await expect(ivy.app.message(TEXT.receiptsRead)).not.toContainText(/Read$/);
  // he opens the conversation and sees it: read, with a time in Info
  await jon.app.openConversation(NAMES.ivy);
  await expect(ivy.app.message(TEXT.receiptsRead)).toContainText(/Read$/);
  await ivy.app.messageAction(ivy.app.message(TEXT.receiptsRead), "Info");
  const info = ivy.app.page.getByRole("dialog", { name: "Message info" });
  await expect(info.getByRole("definition").nth(3)).not.toHaveText("Not yet");
  await ivy.app.page.keyboard.press("Escape");

  // Jon turns read receipts off: he sends none, and sees none of Ivy's
  const settings = await jon.app.openSettings();
  const receipts = settings.getByRole("switch", { name: "Read receipts" });
  await expect(receipts).toHaveAttribute("aria-checked", "true");
  await receipts.click();
  await expect(receipts).toHaveAttribute("aria-checked", "false");
  await jon.app.page.keyboard.press("Escape");
  await expect(settings).toBeHidden();

  await ivy.app.send(TEXT.receiptsOff);
  await expect(jon.app.message(TEXT.receiptsOff)).toBeVisible();
  await expect(ivy.app.message(TEXT.receiptsOff)).toContainText(/Delivered$/);
  await jon.app.send(TEXT.readingLate);
  await expect(ivy.app.message(TEXT.readingLate)).toBeVisible();
  await expect(jon.app.message(TEXT.readingLate)).toContainText(/Delivered$/);
  await ivy.app.page.waitForTimeout(2_000);
  await expect(ivy.app.message(TEXT.receiptsOff)).not.toContainText(/Read$/);
  await expect(jon.app.message(TEXT.readingLate)).not.toContainText(/Read$/);
  // the setting is kept
  await jon.app.page.reload();
  const again = await jon.app.openSettings();
  await expect(again.getByRole("switch", { name: "Read receipts" })).toHaveAttribute("aria-checked", "false");
});
