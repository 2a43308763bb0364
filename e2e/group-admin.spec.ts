// Group admin through the real UI, relay, worker and crypto: Ana renames the group and every member's
// device shows the new name; Ana makes Ben an admin and then takes it back, and Ben loses the admin actions
// (the one he still tries is refused with a clear message); a disappearing timer set by Ana, an admin,
// governs the messages the members write from then on (Ben, no admin, cannot set one).
import { expect, test } from "./fixtures";
import { address, handles } from "./flows";
import { messageExpiry } from "./idb";
import { NAMES, TEXT } from "./plaintexts";
import type { JunctionPage } from "./pages/app";

const DAY_MS = 86_400_000;

async function openGroupInfo(app: JunctionPage, name: string) {
  await app.page.getByRole("button", { name: "Group info" }).click();
  const dialog = app.page.getByRole("dialog", { name });
  await expect(dialog).toBeVisible();
  return dialog;
}

async function memberAction(app: JunctionPage, dialog: ReturnType<JunctionPage["page"]["getByRole"]>, who: string, item: string) {
  const row = dialog.getByRole("list", { name: "Members" }).getByRole("listitem").filter({ hasText: who });
  await row.getByRole("button", { name: "Member actions" }).click();
  await app.page.getByRole("menu", { name: "Member actions" }).getByRole("menuitem", { name: item }).click();
}

const line = (app: JunctionPage, text: string) => app.log.getByRole("note").filter({ hasText: text });

test("admins rename, demote and set the timer; members' devices follow, and a demoted admin loses admin actions", async ({ person }) => {
  test.setTimeout(150_000);
  const [ana, ben, cy] = [await person(), await person(), await person()];
  const [a, b, c] = [handles("gana"), handles("gben"), handles("gcy")];
  await ana.app.createAccount("Instagram", a.instagram, NAMES.ana);
  await ben.app.createAccount("WhatsApp", b.whatsapp, NAMES.ben);
  await cy.app.createAccount("Messenger", c.messenger, NAMES.cy);

  await ana.app.page.getByRole("button", { name: "New group" }).click();
  const create = ana.app.page.getByRole("dialog", { name: "New group" });
  await create.getByRole("textbox", { name: "Group name" }).fill(TEXT.adminGroupName);
  const add = create.getByRole("textbox", { name: "Add member" });
  for (const member of [address("WhatsApp", b.whatsapp), address("Messenger", c.messenger)]) {
    await add.fill(member);
    await add.press("Enter");
  }
  await create.getByRole("button", { name: "Create group" }).click();
  await expect(create).toBeHidden();
  await ana.app.send(TEXT.adminHello);
  for (const p of [ben, cy]) {
    await p.app.openConversation(TEXT.adminGroupName);
    await expect(p.app.message(TEXT.adminHello)).toBeVisible();
  }
  // the members write once: everyone learns the names they gave themselves
  await ben.app.send(TEXT.adminBen);
  await cy.app.send(TEXT.adminCy);
  for (const p of [ana, ben]) await expect(p.app.message(TEXT.adminCy)).toContainText(NAMES.cy);
  await expect(ana.app.message(TEXT.adminBen)).toContainText(NAMES.ben);

  // rename: every member's inbox, conversation and group info show the new name
  let info = await openGroupInfo(ana.app, TEXT.adminGroupName);
  await info.getByRole("button", { name: "Rename group" }).click();
  await info.getByRole("textbox", { name: "New group name" }).fill(TEXT.adminGroupRenamed);
  await info.getByRole("button", { name: "Save" }).click();
  await expect(ana.app.page.getByRole("dialog", { name: TEXT.adminGroupRenamed })).toBeVisible();
  await ana.app.page.keyboard.press("Escape");
  for (const p of [ben, cy]) {
    await expect(line(p.app, `${NAMES.ana} renamed the group to “${TEXT.adminGroupRenamed}”`)).toBeVisible();
    await expect(p.app.page.getByRole("region", { name: `Group ${TEXT.adminGroupRenamed}` })).toBeVisible();
    await expect(p.app.conversation(TEXT.adminGroupRenamed)).toBeVisible();
    await expect(p.app.conversation(TEXT.adminGroupName)).toHaveCount(0);
  }

  // Ben made admin: he gets the admin actions
  info = await openGroupInfo(ana.app, TEXT.adminGroupRenamed);
  await memberAction(ana.app, info, NAMES.ben, "Make admin");
  await ana.app.page.keyboard.press("Escape");
  await expect(line(ben.app, `${NAMES.ana} made you an admin`)).toBeVisible();
  let bens = await openGroupInfo(ben.app, TEXT.adminGroupRenamed);
  await expect(bens.getByRole("button", { name: "Rename group" })).toBeVisible();
  await expect(bens.getByRole("list", { name: "Members" }).getByRole("listitem").filter({ hasText: "You" })).toContainText("Admin");
  await ben.app.page.keyboard.press("Escape");

  // ... and loses them when Ana takes it back: no rename, and a removal he still tries is refused
  info = await openGroupInfo(ana.app, TEXT.adminGroupRenamed);
  await memberAction(ana.app, info, NAMES.ben, "Remove as admin");
  await ana.app.page.keyboard.press("Escape");
  await expect(line(ben.app, `${NAMES.ana} removed you as admin`)).toBeVisible();
  await expect(line(cy.app, `${NAMES.ana} removed ${NAMES.ben} (WhatsApp) as admin`)).toBeVisible();
  bens = await openGroupInfo(ben.app, TEXT.adminGroupRenamed);
  await expect(bens.getByRole("button", { name: "Rename group" })).toHaveCount(0);
  await expect(bens.getByRole("list", { name: "Members" }).getByRole("listitem").filter({ hasText: "You" })).not.toContainText("Admin");
  await memberAction(ben.app, bens, NAMES.cy, "Remove from group");
  await expect(bens.getByRole("alert")).toHaveText("Only admins of this group can do that.");
  await expect(bens.getByRole("list", { name: "Members" }).getByRole("listitem")).toHaveCount(3);
  await ben.app.page.keyboard.press("Escape");

  // the disappearing timer: not Ben's to set; Ana's reaches everyone and governs what members write next
  await ben.app.page.getByRole("button", { name: "Disappearing messages" }).click();
  let timer = ben.app.page.getByRole("dialog", { name: "Disappearing messages" });
  // a click, not check(): the choice shows at once and goes back when the engine refuses it, which may be
  // before Playwright looks again
  await timer.getByRole("radio", { name: "24 hours" }).click();
  await expect(timer.getByRole("alert")).toHaveText("Only admins of this group can do that.");
  await expect(timer.getByRole("radio", { name: "Off" })).toBeChecked();
  await ben.app.page.keyboard.press("Escape");
  await ana.app.page.getByRole("button", { name: "Disappearing messages" }).click();
  timer = ana.app.page.getByRole("dialog", { name: "Disappearing messages" });
  await timer.getByRole("radio", { name: "24 hours" }).check();
  await ana.app.page.keyboard.press("Escape");
  for (const p of [ben, cy]) await expect(line(p.app, `${NAMES.ana} set disappearing messages to 1 day`)).toBeVisible();
  await ben.app.send(TEXT.adminVanishing);
  for (const p of [ana, cy]) {
    await expect(p.app.message(TEXT.adminVanishing)).toBeVisible();
    const got = await messageExpiry(p.app.page, TEXT.adminVanishing);
    expect(got?.expiresAt, "it disappears a day after it came").toBe((got?.receivedAt ?? 0) + DAY_MS);
  }
  const sent = await messageExpiry(ben.app.page, TEXT.adminVanishing);
  expect(sent?.expiresAt, "and from Ben's device a day after he wrote it").toBe((sent?.sentAt ?? 0) + DAY_MS);
  // what was written before the timer stays
  expect((await messageExpiry(cy.app.page, TEXT.adminHello))?.expiresAt).toBeUndefined();
});
