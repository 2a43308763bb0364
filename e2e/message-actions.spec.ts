// What can be done to a message, seen from both sides: reply (and jump to the quoted message),
// reactions added / changed / removed, edits within the window and none after it, deletes for
// everyone and for me, and the info of when it was sent and delivered.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { JunctionPage } from "./pages/app";
import { NAMES, TEXT } from "./plaintexts";

test("reply with a jump to the quote, and reactions added, changed and removed on both sides", async ({ person }) => {
  const erin = await person();
  const frank = await person();
  const h = handles("actions");
  await Promise.all([erin.app.createAccount("WhatsApp", h.whatsapp, NAMES.erin), frank.app.createAccount("Messenger", h.messenger, NAMES.frank)]);
  await converse(erin.app, "WhatsApp", NAMES.erin, frank.app, address("Messenger", h.messenger), TEXT.actionsSetup);

  // Erin starts a reply to her first message; Frank's many messages arrive while she writes it
  await erin.app.messageAction(erin.app.message(TEXT.actionsSetup), "Reply");
  await expect(erin.app.page.getByText("Replying to You", { exact: true })).toBeVisible();
  await expect(erin.app.composer).toBeFocused();
  for (const line of TEXT.actionsFiller) await frank.app.sendQuickly(line);
  await expect(erin.app.message(TEXT.actionsFiller.at(-1)!)).toBeVisible();
  await erin.app.composer.fill(TEXT.actionsReply);
  await erin.app.composer.press("Enter");
  await expect(erin.app.page.getByRole("button", { name: "Cancel reply" })).toHaveCount(0);

  // Frank sees the quote above the reply; the original is far above, out of view, until he clicks it
  const reply = frank.app.message(TEXT.actionsReply);
  await expect(reply).toBeVisible();
  const quote = reply.getByRole("button", { name: new RegExp(`Reply to ${NAMES.erin}`) });
  await expect(quote).toContainText(TEXT.actionsSetup);
  // the quoted message itself, not the reply that quotes it
  const original = frank.app.message(TEXT.actionsSetup).filter({ hasNot: frank.app.page.getByRole("button", { name: /^Reply to / }) });
  await expect(original).not.toBeInViewport();
  await quote.click();
  await expect(original).toBeInViewport();
  await expect(original).toHaveAttribute("data-highlighted", "true");

  // Cancel reply works too
  await erin.app.messageAction(erin.app.message(TEXT.actionsReply), "Reply");
  await expect(erin.app.page.getByText("Replying to You", { exact: true })).toBeVisible();
  await erin.app.page.getByRole("button", { name: "Cancel reply" }).click();
  await expect(erin.app.page.getByText("Replying to You", { exact: true })).toHaveCount(0);

  // Frank reacts to the reply with 👍, then changes it to ❤️, then takes it back by choosing ❤️ again
  await frank.app.page.getByRole("button", { name: /^Jump to latest/ }).click();
  await frank.app.react(reply, "👍");
  const erinsReply = erin.app.message(TEXT.actionsReply);
  await expect(erinsReply).toContainText("Reactions:👍1");
  await expect(reply).toContainText("Reactions:👍1");
  await frank.app.react(reply, "❤️");
  await expect(erinsReply).toContainText("Reactions:❤️1");
  await expect(erinsReply).not.toContainText("👍");
  await frank.app.messageAction(reply, "React");
  const picker = frank.app.page.getByRole("dialog", { name: "React" });
  await expect(picker.getByRole("button", { name: "❤️", exact: true })).toHaveAttribute("aria-pressed", "true");
  await picker.getByRole("button", { name: "❤️", exact: true }).click();
  await expect(erinsReply).not.toContainText("Reactions");
  await expect(reply).not.toContainText("Reactions");

  // any emoji, from the keyboard, behind "More reactions"; who reacted shows on activation
  await erin.app.messageAction(erinsReply, "React");
  const erinsPicker = erin.app.page.getByRole("dialog", { name: "React" });
  await erinsPicker.getByRole("button", { name: "More reactions" }).click();
  await erinsPicker.getByRole("textbox", { name: "Any emoji" }).fill("🦉");
  await erinsPicker.getByRole("textbox", { name: "Any emoji" }).press("Enter");
  await frank.app.react(reply, "😮");
  await expect(reply).toContainText("🦉1");
  await expect(erinsReply).toContainText("😮1");
  await reply.getByRole("button", { name: /🦉/ }).click();
  await expect(reply.getByRole("list", { name: "Reacted with 🦉" })).toHaveText(NAMES.erin);
  await erinsReply.getByRole("button", { name: /😮/ }).click();
  await expect(erinsReply.getByRole("list", { name: "Reacted with 😮" })).toHaveText(NAMES.frank);

  // the same menu without the button: a right-click, and on a touch screen a long press (a short tap
  // is only a tap); Copy puts the text on the clipboard and says so
  const menu = frank.app.page.getByRole("menu", { name: "Message actions" });
  await reply.locator("p").first().click({ button: "right" });
  await expect(menu).toBeVisible();
  await frank.app.page.keyboard.press("Escape");
  await expect(menu).toHaveCount(0);
  const box = (await reply.boundingBox())!;
  const touch = { pointerType: "touch", isPrimary: true, bubbles: true, clientX: box.x + box.width / 2, clientY: box.y + box.height / 2 };
  await reply.dispatchEvent("pointerdown", touch);
  await frank.app.page.waitForTimeout(150);
  await reply.dispatchEvent("pointerup", touch);
  await frank.app.page.waitForTimeout(600);
  await expect(menu).toHaveCount(0);
  await reply.dispatchEvent("pointerdown", touch);
  await expect(menu).toBeVisible();
  await reply.dispatchEvent("pointerup", touch);
  await frank.app.page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await menu.getByRole("menuitem", { name: "Copy", exact: true }).click();
  await expect(frank.app.page.getByText("Copied", { exact: true })).toBeVisible();
  expect(await frank.app.page.evaluate(() => navigator.clipboard.readText())).toBe(TEXT.actionsReply);
});

test("edit within the window (and not after it), delete for everyone and for me, and message info", async ({ person }) => {
  const gina = await person();
  const hugo = await person();
  const h = handles("edits");
  await Promise.all([gina.app.createAccount("Instagram", h.instagram, NAMES.gina), hugo.app.createAccount("WhatsApp", h.whatsapp, NAMES.hugo)]);
  await converse(gina.app, "Instagram", NAMES.gina, hugo.app, address("WhatsApp", h.whatsapp), TEXT.actionsEditBefore);
  await hugo.app.send(TEXT.actionsAck);
  await expect(gina.app.message(TEXT.actionsAck)).toBeVisible();

  // a right-click opens the menu too
  const mine = gina.app.message(TEXT.actionsEditBefore);
  await mine.getByText(TEXT.actionsEditBefore).click({ button: "right" });
  await expect(gina.app.page.getByRole("menu", { name: "Message actions" })).toBeVisible();
  await gina.app.page.keyboard.press("Escape");
  await expect(gina.app.page.getByRole("menu", { name: "Message actions" })).toHaveCount(0);
  // the menu is a real menu: arrows move, Escape closes and gives focus back
  const menu = await gina.app.messageActions(mine);
  await expect(menu.getByRole("menuitem")).toHaveText(["Reply", "React", "Edit", "Copy", "Info", "Delete"]);
  await expect(menu.getByRole("menuitem", { name: "Reply" })).toBeFocused();
  await gina.app.page.keyboard.press("ArrowDown");
  await gina.app.page.keyboard.press("ArrowDown");
  await expect(menu.getByRole("menuitem", { name: "Edit" })).toBeFocused();
  await gina.app.page.keyboard.press("Escape");
  await expect(menu).toHaveCount(0);
  await expect(mine.getByRole("button", { name: "Message actions" })).toBeFocused();
  // Enter on a focused item: Edit
  await gina.app.page.keyboard.press("Enter");
  await gina.app.page.keyboard.press("ArrowDown");
  await gina.app.page.keyboard.press("ArrowDown");
  await gina.app.page.keyboard.press("Enter");
  await expect(gina.app.composer).toHaveValue(TEXT.actionsEditBefore);
  await gina.app.composer.fill(TEXT.actionsEditAfter);
  await gina.app.page.getByRole("button", { name: "Save edit" }).click();

  for (const app of [gina.app, hugo.app]) {
    await expect(app.message(TEXT.actionsEditAfter)).toContainText("Edited");
    await expect(app.message(TEXT.actionsEditBefore)).toHaveCount(0);
  }
  // their messages cannot be edited by me
  const hugosMenu = await hugo.app.messageActions(hugo.app.message(TEXT.actionsEditAfter));
  await expect(hugosMenu.getByRole("menuitem", { name: "Edit" })).toHaveCount(0);
  await hugo.app.page.keyboard.press("Escape");

  // sixteen minutes later (a tab whose clock runs ahead) there is no Edit any more, but Delete for everyone stays
  await gina.app.send(TEXT.actionsLate);
  const later = await gina.app.page.context().newPage();
  await later.clock.install({ time: new Date(Date.now() + 16 * 60_000) });
  const lateTab = new JunctionPage(later);
  await lateTab.open();
  await lateTab.openConversation(NAMES.hugo);
  const lateMenu = await lateTab.messageActions(lateTab.message(TEXT.actionsLate));
  await expect(lateMenu.getByRole("menuitem", { name: "Reply" })).toBeVisible();
  await expect(lateMenu.getByRole("menuitem", { name: "Edit" })).toHaveCount(0);
  await lateMenu.getByRole("menuitem", { name: "Delete" }).click();
  await expect(later.getByRole("dialog", { name: "Delete message?" }).getByRole("button", { name: "Delete for everyone" })).toBeVisible();
  await later.keyboard.press("Escape");
  await later.close();

  // delete for everyone: both sides keep "This message was deleted"
  await gina.app.send(TEXT.actionsDeleteAll);
  await expect(hugo.app.message(TEXT.actionsDeleteAll)).toBeVisible();
  await gina.app.messageAction(gina.app.message(TEXT.actionsDeleteAll), "Delete");
  await gina.app.page.getByRole("dialog", { name: "Delete message?" }).getByRole("button", { name: "Delete for everyone" }).click();
  for (const app of [gina.app, hugo.app]) {
    await expect(app.message(TEXT.actionsDeleteAll)).toHaveCount(0);
    await expect(app.message("This message was deleted")).toHaveCount(1);
  }

  // delete for me: gone here, still there; their message offers no "Delete for everyone"
  await gina.app.send(TEXT.actionsDeleteMe);
  await expect(hugo.app.message(TEXT.actionsDeleteMe)).toBeVisible();
  await hugo.app.messageAction(hugo.app.message(TEXT.actionsDeleteMe), "Delete");
  const dialog = hugo.app.page.getByRole("dialog", { name: "Delete message?" });
  await expect(dialog.getByRole("button", { name: "Delete for everyone" })).toHaveCount(0);
  await dialog.getByRole("button", { name: "Delete for me" }).click();
  await expect(hugo.app.message(TEXT.actionsDeleteMe)).toHaveCount(0);
  await expect(gina.app.message(TEXT.actionsDeleteMe)).toHaveCount(1);

  // info: when it was sent and delivered
  await gina.app.messageAction(gina.app.message(TEXT.actionsDeleteMe), "Info");
  const info = gina.app.page.getByRole("dialog", { name: "Message info" });
  await expect(info.getByRole("definition").nth(1)).not.toHaveText("Not yet");
  await expect(info.getByRole("term")).toHaveText(["Written", "Sent", "Delivered", "Read"]);
  await expect(info.getByRole("definition").nth(2)).not.toHaveText("Not yet");
});
