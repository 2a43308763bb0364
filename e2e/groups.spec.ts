// Groups across brands: Ana (Instagram), Ben (WhatsApp) and Cy (Messenger) talk in one group with
// replies and reactions; Ana adds Dee, who reads what comes next but nothing before; Ana removes Ben,
// whose client says so and who reads nothing more; Cy leaves. Every step through the real UI, relay,
// worker and crypto.
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { address, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";
import type { JunctionPage } from "./pages/app";

async function openGroupInfo(app: JunctionPage) {
  await app.page.getByRole("button", { name: "Group info" }).click();
  const dialog = app.page.getByRole("dialog", { name: TEXT.groupName });
  await expect(dialog).toBeVisible();
  return dialog;
}

async function memberAction(page: Page, dialog: ReturnType<Page["getByRole"]>, who: string, item: "Remove from group" | "Make admin") {
  const row = dialog.getByRole("list", { name: "Members" }).getByRole("listitem").filter({ hasText: who });
  await row.getByRole("button", { name: "Member actions" }).click();
  await page.getByRole("menu", { name: "Member actions" }).getByRole("menuitem", { name: item }).click();
}

const line = (app: JunctionPage, text: string | RegExp) => app.log.getByRole("note").filter({ hasText: text });

test("a group across three brands: messages, replies and reactions; a member added without history; one removed; one leaves", async ({ person }) => {
  test.setTimeout(150_000);
  const [ana, ben, cy, dee] = [await person(), await person(), await person(), await person()];
  const [a, b, c, d] = [handles("ana"), handles("ben"), handles("cy"), handles("dee")];
  await ana.app.createAccount("Instagram", a.instagram, NAMES.ana);
  await ben.app.createAccount("WhatsApp", b.whatsapp, NAMES.ben);
  await cy.app.createAccount("Messenger", c.messenger, NAMES.cy);
  await dee.app.createAccount("Messenger", d.messenger, NAMES.dee);

  // New group: a name and members of two other brands; a bad address is refused where it is typed
  await ana.app.page.getByRole("button", { name: "New group" }).click();
  const dialog = ana.app.page.getByRole("dialog", { name: "New group" });
  await dialog.getByRole("textbox", { name: "Group name" }).fill(TEXT.groupName);
  const add = dialog.getByRole("textbox", { name: "Add member" });
  await add.fill("telegram:@ben");
  await add.press("Enter");
  await expect(dialog.getByRole("alert")).toContainText(/unknown brand "telegram"/i);
  await add.fill(address("WhatsApp", b.whatsapp));
  await add.press("Enter");
  await add.fill(address("Messenger", c.messenger));
  await add.press("Enter");
  await expect(dialog.getByRole("list", { name: "New members" }).getByRole("listitem")).toHaveCount(2);
  await dialog.getByRole("button", { name: "Create group" }).click();
  await expect(dialog).toBeHidden();
  await expect(ana.app.page.getByRole("region", { name: `Group ${TEXT.groupName}` })).toBeVisible();
  await ana.app.send(TEXT.groupHello);

  // Ben and Cy get the group in their inbox, with the last sender's name in the preview
  for (const p of [ben, cy]) {
    const row = p.app.conversation(TEXT.groupName);
    await expect(row).toBeVisible();
    await expect(row).toContainText(`${NAMES.ana}: ${TEXT.groupHello}`);
    await p.app.openConversation(TEXT.groupName);
    await expect(p.app.message(TEXT.groupHello)).toContainText(NAMES.ana);
    await expect(line(p.app, `${NAMES.ana} created the group`)).toBeVisible();
  }

  // Ben replies to Ana; Cy writes and reacts to Ana's message; everyone sees all of it
  await ben.app.messageAction(ben.app.message(TEXT.groupHello), "Reply");
  await ben.app.composer.fill(TEXT.groupReply);
  await ben.app.composer.press("Enter");
  await cy.app.send(TEXT.groupCy);
  await cy.app.react(cy.app.message(TEXT.groupHello).first(), "👍");
  for (const p of [ana, cy]) {
    const reply = p.app.message(TEXT.groupReply);
    await expect(reply).toContainText(NAMES.ben);
    await expect(reply.getByRole("button", { name: /^Reply to / })).toContainText(TEXT.groupHello);
  }
  await expect(ana.app.messages.filter({ hasText: TEXT.groupHello }).first()).toContainText("Reactions:👍1");
  await expect(ben.app.message(TEXT.groupCy)).toContainText(NAMES.cy);

  // typing names who types; a mention is picked from the members and stands out for her alone
  await ben.app.composer.fill(TEXT.groupTyping);
  await expect(ana.app.page.getByRole("status").filter({ hasText: `${NAMES.ben} is typing…` })).toBeVisible();
  await ben.app.composer.fill("");
  await cy.app.composer.fill(`@${NAMES.ana.slice(0, 2)}`);
  await cy.app.page.getByRole("listbox", { name: "Mention a member" }).getByRole("option", { name: NAMES.ana }).click();
  await cy.app.composer.press("End");
  await cy.app.composer.pressSequentially(TEXT.groupMention);
  await cy.app.composer.press("Enter");
  const mention = `@${NAMES.ana} ${TEXT.groupMention}`;
  await expect(ana.app.message(mention)).toContainText("Mentions you");
  await expect(ben.app.message(mention)).toBeVisible();
  await expect(ben.app.message(mention)).not.toContainText("Mentions you");

  // Info on Ana's first message: read by each member, by name
  await ana.app.messageAction(ana.app.message(TEXT.groupHello).first(), "Info");
  const readBy = ana.app.page.getByRole("dialog", { name: "Message info" }).getByRole("list", { name: "Read by" });
  await expect(readBy).toContainText(NAMES.ben);
  await expect(readBy).toContainText(NAMES.cy);
  await ana.app.page.keyboard.press("Escape");

  // the Groups chip shows the group
  await ana.app.page.getByRole("group", { name: "Filter conversations" }).getByRole("button", { name: "Groups", exact: true }).click();
  await expect(ana.app.conversation(TEXT.groupName)).toBeVisible();

  // Ana adds Dee: Dee sees the group and what comes next, nothing from before
  let info = await openGroupInfo(ana.app);
  await expect(info.getByRole("list", { name: "Members" }).getByRole("listitem")).toHaveCount(3);
  await info.getByRole("button", { name: "Add members" }).click();
  await info.getByRole("textbox", { name: "Add member" }).fill(address("Messenger", d.messenger));
  await info.getByRole("button", { name: "Add", exact: true }).click();
  await expect(info.getByRole("list", { name: "Members" }).getByRole("listitem")).toHaveCount(4);
  await ana.app.page.keyboard.press("Escape");
  await expect(dee.app.conversation(TEXT.groupName)).toBeVisible();
  await ana.app.send(TEXT.groupWelcome);
  await dee.app.openConversation(TEXT.groupName);
  await expect(dee.app.message(TEXT.groupWelcome)).toBeVisible();
  await expect(line(dee.app, `${NAMES.ana} added you`)).toBeVisible();
  await expect(dee.app.message(TEXT.groupHello)).toHaveCount(0);
  await expect(dee.app.message(TEXT.groupReply)).toHaveCount(0);

  // Dee is no admin: removing someone is refused with a clear message
  info = await openGroupInfo(dee.app);
  await memberAction(dee.app.page, info, NAMES.ana, "Remove from group");
  await expect(info.getByRole("alert")).toHaveText("Only admins of this group can do that.");
  await dee.app.page.keyboard.press("Escape");

  // Ana removes Ben: his client says so, he cannot write, and he reads nothing more
  info = await openGroupInfo(ana.app);
  await memberAction(ana.app.page, info, NAMES.ben, "Remove from group");
  await expect(info.getByRole("list", { name: "Members" }).getByRole("listitem")).toHaveCount(3);
  await ana.app.page.keyboard.press("Escape");
  await expect(line(ben.app, `${NAMES.ana} removed you`)).toBeVisible();
  await expect(ben.app.page.getByRole("status").filter({ hasText: "You are no longer in this group." })).toBeVisible();
  await expect(ben.app.composer).toHaveCount(0);
  await ana.app.send(TEXT.groupAfterBen);
  await expect(cy.app.message(TEXT.groupAfterBen)).toBeVisible();
  await expect(dee.app.message(TEXT.groupAfterBen)).toBeVisible();
  await expect(line(cy.app, `${NAMES.ana} removed ${NAMES.ben} (WhatsApp)`)).toBeVisible();
  await expect(ben.app.message(TEXT.groupAfterBen)).toHaveCount(0);

  // Cy leaves: the others see the line, Cy's client says so
  info = await openGroupInfo(cy.app);
  await info.getByRole("button", { name: "Leave group" }).click();
  await cy.app.page.keyboard.press("Escape");
  await expect(cy.app.page.getByRole("status").filter({ hasText: "You are no longer in this group." })).toBeVisible();
  await expect(line(ana.app, `${NAMES.cy} (Messenger) left`)).toBeVisible();
  await expect(line(dee.app, `${NAMES.cy} (Messenger) left`)).toBeVisible();
  // Ben never got anything after his removal, however long it had to arrive
  await expect(ben.app.message(TEXT.groupAfterBen)).toHaveCount(0);
});
