// Test 5: one person, three brands, one inbox; each brand filter shows only that account's chats.
import { expect, test } from "./fixtures";
import { address, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("5. Carol's accounts on all three brands share one inbox, and brand filters separate them", async ({ person }) => {
  const carol = await person();
  const [dave, erin, frank] = [await person(), await person(), await person()];
  const c = handles("carol");
  const d = handles("dave");
  const e = handles("erin");
  const f = handles("frank");

  await carol.app.createAccount("WhatsApp", c.whatsapp, NAMES.carol);
  await carol.app.createAccount("Instagram", c.instagram, NAMES.carol);
  await carol.app.createAccount("Messenger", c.messenger, NAMES.carol);
  // one account per brand on a device: a fourth has nowhere to go
  await carol.app.page.getByRole("button", { name: "Add account" }).click();
  const addDialog = carol.app.page.getByRole("dialog", { name: "Add account" });
  await expect(addDialog.getByText("You already have an account on every brand on this device.")).toBeVisible();
  await carol.app.page.keyboard.press("Escape");
  await expect(addDialog).toBeHidden();

  // a handle is first come, first served, and the form says so
  await dave.app.page.getByRole("radio", { name: "Instagram" }).check();
  await dave.app.page.getByRole("textbox", { name: "Handle" }).fill(c.instagram);
  await dave.app.page.getByRole("textbox", { name: "Display name" }).fill(NAMES.dave);
  await dave.app.page.getByRole("button", { name: "Create account" }).click();
  await expect(dave.app.page.getByText("That handle is taken. Try another one.")).toBeVisible();

  // three people, each on a different brand from the Carol account they write to
  await dave.app.createAccount("Instagram", d.instagram, NAMES.dave);
  // an address nobody holds is refused before anything is sent
  await dave.app.newMessageButton.click();
  const newMessage = dave.app.page.getByRole("dialog", { name: "New message" });
  // by keyboard: the dialog puts the cursor in "To", Enter submits
  await expect(newMessage.getByRole("textbox", { name: "To" })).toBeFocused();
  await dave.app.page.keyboard.type(address("Messenger", `nobody.${d.messenger}`));
  await dave.app.page.keyboard.press("Enter");
  await expect(newMessage.getByText(/^No one has the Messenger address nobody\./)).toBeVisible();
  await newMessage.getByRole("textbox", { name: "To" }).fill("telegram:@dave");
  await newMessage.getByRole("button", { name: "Start chat" }).click();
  await expect(newMessage.getByText(/unknown brand "telegram"/i)).toBeVisible();
  await dave.app.page.keyboard.press("Escape");
  await expect(newMessage).toBeHidden();
  await expect(dave.app.conversations.getByRole("listitem")).toHaveCount(0);
  await erin.app.createAccount("Messenger", e.messenger, NAMES.erin);
  await frank.app.createAccount("WhatsApp", f.whatsapp, NAMES.frank);
  await dave.app.startChat("Instagram", address("WhatsApp", c.whatsapp));
  await dave.app.send(TEXT.toCarolWhatsapp);
  await erin.app.startChat("Messenger", address("Instagram", c.instagram));
  await erin.app.send(TEXT.toCarolInstagram);
  await frank.app.startChat("WhatsApp", address("Messenger", c.messenger));
  await frank.app.send(TEXT.toCarolMessenger);

  const expected = [
    { name: NAMES.dave, theirs: "Instagram", mine: "WhatsApp", handle: c.whatsapp, text: TEXT.toCarolWhatsapp },
    { name: NAMES.erin, theirs: "Messenger", mine: "Instagram", handle: c.instagram, text: TEXT.toCarolInstagram },
    { name: NAMES.frank, theirs: "WhatsApp", mine: "Messenger", handle: c.messenger, text: TEXT.toCarolMessenger },
  ] as const;

  await expect(carol.app.filter("All")).toHaveAttribute("aria-pressed", "true");
  for (const row of expected) {
    const escapedHandle = row.handle.replace(/[.+]/g, "\\$&");
    await expect(carol.app.conversation(row.name)).toHaveAccessibleDescription(
      new RegExp(`^On ${row.theirs}, with your ${row.mine} account ${escapedHandle}\\. ${row.text}\\.`),
    );
  }
  await expect(carol.app.conversations.getByRole("listitem")).toHaveCount(3);
  // newest activity first: Frank wrote last
  await expect(carol.app.conversations.getByRole("link")).toHaveText([new RegExp(NAMES.frank), new RegExp(NAMES.erin), new RegExp(NAMES.dave)]);

  for (const row of expected) {
    await carol.app.filter(row.mine).click();
    await expect(carol.app.filter(row.mine)).toHaveAttribute("aria-pressed", "true");
    await expect(carol.app.filter("All")).toHaveAttribute("aria-pressed", "false");
    await expect(carol.app.conversations.getByRole("listitem")).toHaveCount(1);
    await expect(carol.app.conversation(row.name)).toBeVisible();
  }

  await carol.app.filter("Unread").click();
  await expect(carol.app.conversations.getByRole("listitem")).toHaveCount(3);
  await carol.app.filter("All").click();
  await carol.app.openConversation(NAMES.erin);
  await expect(carol.app.message(TEXT.toCarolInstagram)).toBeVisible();
  await carol.app.filter("Unread").click();
  await expect(carol.app.conversations.getByRole("listitem")).toHaveCount(2);
  await expect(carol.app.conversation(NAMES.erin)).toHaveCount(0);
});
