// One person across brands: Carol writes to Alice from Instagram and from WhatsApp; Alice joins the two
// addresses on Carol's card, sees one row and one timeline with "One row per person", replies via each
// route (each reply reaches Carol on the brand it was sent to), and unlinking gives two rows back.
import { expect, test } from "./fixtures";
import { address, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("joining Carol's Instagram and WhatsApp into one person: one row, one timeline, replies via each route, and unlinking", async ({ person }) => {
  const alice = await person();
  const carol = await person();
  const a = handles("alice");
  const c = handles("carol");
  await Promise.all([alice.app.createAccount("Messenger", a.messenger, NAMES.alice), carol.app.createAccount("Instagram", c.instagram, NAMES.carol)]);
  await carol.app.createAccount("WhatsApp", c.whatsapp, NAMES.carol);
  const aliceAddress = address("Messenger", a.messenger);
  const carolIg = address("Instagram", c.instagram);
  const carolWa = address("WhatsApp", c.whatsapp);

  await carol.app.startChat("Instagram", aliceAddress);
  await carol.app.send(TEXT.peopleFromInstagram);
  await carol.app.startChat("WhatsApp", aliceAddress);
  await carol.app.send(TEXT.peopleFromWhatsapp);

  // two rows with the same name: a possible match, suggested in Contacts but not applied
  const page = alice.app.page;
  await expect(alice.app.conversation(NAMES.carol)).toHaveCount(2);
  await page.getByRole("button", { name: "Contacts", exact: true }).click();
  const contacts = page.getByRole("dialog", { name: "Contacts" });
  await expect(contacts.getByRole("list", { name: "Your contacts" }).getByRole("listitem")).toHaveCount(2);
  await expect(contacts.getByRole("region", { name: "Possible matches" })).toContainText(NAMES.carol);
  await contacts.getByRole("searchbox", { name: "Find a contact" }).fill("whatsapp");
  await expect(contacts.getByRole("list", { name: "Your contacts" }).getByRole("listitem")).toHaveCount(1);
  // (Escape in a search field clears it first)
  await contacts.getByRole("button", { name: "Close" }).click();
  await expect(contacts).toBeHidden();
  await expect(alice.app.conversation(NAMES.carol)).toHaveCount(2);
  // New message offers the contacts, searchable, before the free address field
  await alice.app.newMessageButton.click();
  const newMessage = page.getByRole("dialog", { name: "New message" });
  await newMessage.getByRole("searchbox", { name: "Find a contact" }).fill("instagram");
  await newMessage.getByRole("list", { name: "Matching contacts" }).getByRole("button", { name: new RegExp(carolIg.replace(/[.+]/g, "\\$&")) }).click();
  await expect(newMessage.getByRole("textbox", { name: "To" })).toHaveValue(carolIg);
  await newMessage.getByRole("button", { name: "Close" }).click();
  // and New group picks members from them: chosen once it is a member, chosen again it is not
  await page.getByRole("button", { name: "New group" }).click();
  const newGroup = page.getByRole("dialog", { name: "New group" });
  await newGroup.getByRole("searchbox", { name: "Find a contact" }).fill("whatsapp");
  const pick = newGroup.getByRole("list", { name: "Matching contacts" }).getByRole("button", { name: new RegExp(carolWa.replace(/[.+]/g, "\\$&")) });
  await pick.click();
  await expect(pick).toHaveAttribute("aria-pressed", "true");
  await expect(newGroup.getByRole("list", { name: "New members" }).getByRole("listitem")).toHaveCount(1);
  await pick.click();
  await expect(newGroup.getByRole("list", { name: "New members" })).toHaveCount(0);
  await newGroup.getByRole("button", { name: "Close" }).click();

  // the card of Carol's Instagram address: link her WhatsApp address to it
  await alice.app.conversations.getByRole("link", { name: NAMES.carol, exact: true, description: /^On Instagram/ }).click();
  await page.getByRole("button", { name: "Contact info" }).click();
  const card = page.getByRole("dialog", { name: NAMES.carol });
  await expect(card.getByRole("list", { name: "Addresses" }).getByRole("listitem").filter({ hasText: carolIg })).toContainText(/Messenger .*Not verified/);
  await expect(card.getByText(/Safety number: (\d{5} ){11}\d{5}/)).toBeVisible();
  await card.getByRole("button", { name: "Link another address" }).click();
  await card.getByRole("textbox", { name: "Address to link" }).fill(carolWa);
  await card.getByRole("button", { name: "Link", exact: true }).click();
  const addresses = card.getByRole("list", { name: "Addresses" }).locator(":scope > li");
  await expect(addresses).toHaveCount(2);
  await expect(addresses.filter({ hasText: carolWa })).toContainText("WhatsApp");
  await page.keyboard.press("Escape");

  // still two rows until I ask for one row per person
  await expect(alice.app.conversation(NAMES.carol)).toHaveCount(2);
  const settings = await alice.app.openSettings();
  const onePerPerson = settings.getByRole("switch", { name: "One row per person" });
  await onePerPerson.click();
  await expect(onePerPerson).toHaveAttribute("aria-checked", "true");
  await page.keyboard.press("Escape");
  await expect(alice.app.conversation(NAMES.carol)).toHaveCount(1);
  await expect(alice.app.conversation(NAMES.carol)).toHaveAccessibleDescription(/Instagram with your Messenger account.*WhatsApp with your Messenger account|WhatsApp with your Messenger account.*Instagram with your Messenger account/);

  // one timeline, each message marked with its route; Send via starts on the last message's route
  await alice.app.conversation(NAMES.carol).click();
  await expect(alice.app.message(TEXT.peopleFromInstagram)).toContainText(`From Instagram ${c.instagram} · your Messenger`);
  await expect(alice.app.message(TEXT.peopleFromWhatsapp)).toContainText(`From WhatsApp ${c.whatsapp} · your Messenger`);
  await alice.app.expectMessagesInOrder([TEXT.peopleFromInstagram, TEXT.peopleFromWhatsapp]);
  const via = page.getByRole("combobox", { name: "Send via" });
  await expect(via.locator("option:checked")).toHaveText(`Messenger ${a.messenger} → WhatsApp ${c.whatsapp}`);
  await alice.app.send(TEXT.peopleViaWhatsapp);
  await expect(alice.app.message(TEXT.peopleViaWhatsapp)).toContainText(`To WhatsApp ${c.whatsapp}`);
  await via.selectOption({ label: `Messenger ${a.messenger} → Instagram ${c.instagram}` });
  await alice.app.send(TEXT.peopleViaInstagram);
  await expect(alice.app.message(TEXT.peopleViaInstagram)).toContainText(`To Instagram ${c.instagram}`);
  await expect(alice.app.message(TEXT.peopleViaInstagram)).toContainText(/Delivered|Read/);

  // each reply reached Carol on the brand it was sent to, and only there
  await carol.app.filter("WhatsApp").click();
  // the chip's rows replace the full list's: one conversation with Alice on that brand
  await expect(carol.app.conversation(NAMES.alice)).toHaveCount(1);
  await carol.app.openConversation(NAMES.alice);
  await expect(carol.app.message(TEXT.peopleViaWhatsapp)).toBeVisible();
  await expect(carol.app.message(TEXT.peopleViaInstagram)).toHaveCount(0);
  await carol.app.filter("Instagram").click();
  await expect(carol.app.conversation(NAMES.alice)).toHaveCount(1);
  await carol.app.openConversation(NAMES.alice);
  await expect(carol.app.message(TEXT.peopleViaInstagram)).toBeVisible();
  await expect(carol.app.message(TEXT.peopleViaWhatsapp)).toHaveCount(0);

  // unlinking from the card: two rows again, nothing lost; the open view carries on in the route in use
  await page.getByRole("button", { name: "Contact info" }).click();
  const card2 = page.getByRole("dialog", { name: NAMES.carol });
  await card2.getByRole("list", { name: "Addresses" }).locator(":scope > li").filter({ hasText: carolWa }).getByRole("button", { name: "Unlink" }).click();
  await expect(card2).toBeHidden();
  await expect(alice.app.conversation(NAMES.carol)).toHaveCount(2);
  await expect(page.getByRole("combobox", { name: "Send via" })).toHaveCount(0);
  await alice.app.expectMessagesInOrder([TEXT.peopleFromInstagram, TEXT.peopleViaInstagram]);
  await expect(alice.app.message(TEXT.peopleViaWhatsapp)).toHaveCount(0);
  await alice.app.conversations.getByRole("link", { name: NAMES.carol, exact: true, description: /^On WhatsApp/ }).click();
  await alice.app.expectMessagesInOrder([TEXT.peopleFromWhatsapp, TEXT.peopleViaWhatsapp]);
  await expect(alice.app.message(TEXT.peopleViaInstagram)).toHaveCount(0);
});
