// Typing shows as "typing…" in the header and the inbox row, and stops on send, on clearing the box
// and on leaving. Disappearing messages: set from the header, announced as a line on both sides.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { patchConversation } from "./idb";
import { NAMES, TEXT } from "./plaintexts";

test("typing… is shown and cleared", async ({ person }) => {
  const carol = await person();
  const dave = await person();
  const h = handles("typing");
  await Promise.all([carol.app.createAccount("Messenger", h.messenger, NAMES.carol), dave.app.createAccount("WhatsApp", h.whatsapp, NAMES.dave)]);
  await converse(carol.app, "Messenger", NAMES.carol, dave.app, address("WhatsApp", h.whatsapp), TEXT.typingSetup);

  await expect(dave.app.typingStatus).toHaveCount(0);
  await carol.app.composer.pressSequentially("I am typ");
  await expect(dave.app.typingStatus).toBeVisible();
  await expect(dave.app.conversation(NAMES.carol)).toHaveAccessibleDescription(/typing…/);
  // sending stops it at once (well before the 5 s a typing signal lasts)
  await carol.app.composer.pressSequentially("ing this slowly");
  await carol.app.composer.press("Enter");
  await expect(dave.app.message(TEXT.typingDraft)).toBeVisible();
  await expect(dave.app.typingStatus).toHaveCount(0, { timeout: 3_000 });
  await expect(dave.app.conversation(NAMES.carol)).not.toHaveAccessibleDescription(/typing…/);

  // clearing the box stops it
  await carol.app.composer.pressSequentially("never mind");
  await expect(dave.app.typingStatus).toBeVisible();
  await carol.app.composer.fill("");
  await carol.app.composer.press("Backspace");
  await expect(dave.app.typingStatus).toHaveCount(0, { timeout: 3_000 });

  // leaving the conversation stops it
  await carol.app.composer.pressSequentially("one more thing");
  await expect(dave.app.typingStatus).toBeVisible();
  await carol.app.page.keyboard.press("Escape");
  await expect(carol.app.composer).toHaveCount(0);
  await expect(dave.app.typingStatus).toHaveCount(0, { timeout: 3_000 });
});

test("disappearing messages: chosen in the header, announced on both sides", async ({ person }) => {
  const erin = await person();
  const frank = await person();
  const h = handles("vanish");
  await Promise.all([erin.app.createAccount("Instagram", h.instagram, NAMES.erin), frank.app.createAccount("Messenger", h.messenger, NAMES.frank)]);
  await converse(erin.app, "Instagram", NAMES.erin, frank.app, address("Messenger", h.messenger), TEXT.disappearingSetup);

  await erin.app.page.getByRole("button", { name: "Disappearing messages" }).click();
  const dialog = erin.app.page.getByRole("dialog", { name: "Disappearing messages" });
  await expect(dialog.getByRole("radio", { name: "Off" })).toBeChecked();
  await dialog.getByRole("radio", { name: "7 days" }).check();
  await expect(dialog.getByRole("radio", { name: "7 days" })).toBeChecked();
  await erin.app.page.keyboard.press("Escape");
  await expect(erin.app.log.getByText("You set disappearing messages to 7 days")).toBeVisible();
  await expect(frank.app.log.getByText(`${NAMES.erin} set disappearing messages to 7 days`)).toBeVisible();
  // Frank's header says so too
  await frank.app.send(TEXT.typingSetup);
  await expect(erin.app.message(TEXT.typingSetup)).toBeVisible();
  await frank.app.page.getByRole("button", { name: "Disappearing messages" }).click();
  const franks = frank.app.page.getByRole("dialog", { name: "Disappearing messages" });
  await expect(franks.getByRole("radio", { name: "7 days" })).toBeChecked();
  await franks.getByRole("radio", { name: "Off" }).check();
  await frank.app.page.keyboard.press("Escape");
  await expect(erin.app.log.getByText(`${NAMES.frank} turned off disappearing messages`)).toBeVisible();
  await expect(frank.app.log.getByText("You turned off disappearing messages")).toBeVisible();
});

test("a disappearing message is gone from both sides, previews included, once its timer runs out", async ({ person }) => {
  const gina = await person();
  const hugo = await person();
  const h = handles("expire");
  await Promise.all([gina.app.createAccount("WhatsApp", h.whatsapp, NAMES.gina), hugo.app.createAccount("Instagram", h.instagram, NAMES.hugo)]);
  const ginaAddress = address("WhatsApp", h.whatsapp);
  const hugoAddress = address("Instagram", h.instagram);
  await converse(gina.app, "WhatsApp", NAMES.gina, hugo.app, hugoAddress, TEXT.disappearingSetup);

  // a timer of a few seconds, which the dialog does not offer, staged as the engine keeps it
  await patchConversation(gina.app.page, `${ginaAddress}|${hugoAddress}`, { expiresInMs: 12_000 });
  await gina.app.page.reload();
  await expect(gina.app.composer).toBeVisible();
  await gina.app.send(TEXT.disappearing);
  await expect(hugo.app.message(TEXT.disappearing)).toBeVisible();
  await hugo.app.page.keyboard.press("Escape");
  await expect(hugo.app.conversation(NAMES.gina)).toHaveAccessibleDescription(new RegExp(TEXT.disappearing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));

  // gone on both sides, and from Hugo's inbox preview; what came before stays
  await expect(gina.app.message(TEXT.disappearing)).toHaveCount(0, { timeout: 30_000 });
  await expect(hugo.app.conversation(NAMES.gina)).not.toHaveAccessibleDescription(new RegExp(TEXT.disappearing.slice(0, 20)), { timeout: 30_000 });
  await hugo.app.openConversation(NAMES.gina);
  await expect(hugo.app.message(TEXT.disappearing)).toHaveCount(0);
  await expect(hugo.app.message(TEXT.disappearingSetup)).toBeVisible();
  await expect(gina.app.message(TEXT.disappearingSetup)).toBeVisible();
});
