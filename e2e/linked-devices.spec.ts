// Linked devices: Alice links a second browser to her account by the pasted link code; Bob's next message
// reaches both of her devices, and what she answers from the linked one shows on her primary as hers.
// Removed, the linked browser is back at first run and Bob's later messages reach only the primary.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES } from "./plaintexts";

test("link a device by its code; messages reach both devices, a reply from the linked one shows on the primary; remove it", async ({ person }) => {
  const alice = await person();
  const bob = await person();
  const laptop = await person();
  const h = handles("linked");
  await Promise.all([alice.app.createAccount("Messenger", h.messenger, NAMES.alice), bob.app.createAccount("WhatsApp", h.whatsapp, NAMES.bob)]);
  await converse(bob.app, "WhatsApp", NAMES.bob, alice.app, address("Messenger", h.messenger), "Before the link");

  // the new browser shows a link code, as a QR code and as text
  await laptop.app.page.getByRole("button", { name: "Link to an existing account" }).click();
  await expect(laptop.app.page.getByRole("img", { name: "Link code" })).toBeVisible();
  const code = await laptop.app.page.getByRole("textbox", { name: "Link code" }).inputValue();
  expect(code).toMatch(/^[A-Za-z0-9_-]{60,}$/);

  // Alice's primary takes the pasted code; a wrong one is refused with a reason
  const settings = await alice.app.openSettings();
  await settings.getByRole("button", { name: "Linked devices" }).click();
  const devices = alice.app.page.getByRole("dialog", { name: "Linked devices" });
  await expect(devices.getByRole("list", { name: "Devices" }).getByRole("listitem")).toHaveCount(1);
  await devices.getByRole("button", { name: "Link a device" }).click();
  await devices.getByRole("textbox", { name: "Link code" }).fill("not a code");
  await devices.getByRole("button", { name: "Link device" }).click();
  await expect(devices.getByRole("alert")).toHaveText("That is not a link code.");
  await devices.getByRole("textbox", { name: "Link code" }).fill(code);
  await devices.getByRole("button", { name: "Link device" }).click();
  // the primary names the new device and asks before it issues anything
  const confirm = devices.getByRole("group", { name: "Confirm the new device" });
  await expect(confirm).toContainText(/Link Chrome on \w+ to your accounts\?/);
  await confirm.getByRole("button", { name: "Confirm" }).click();
  await expect(devices.getByRole("status")).toHaveText(/^Linked Chrome/);
  await expect(devices.getByRole("list", { name: "Devices" }).getByRole("listitem")).toHaveCount(2);
  await devices.getByRole("button", { name: "Close" }).click();
  await alice.app.page.keyboard.press("Escape");

  // the linked browser leaves first run with Alice's account
  await expect(laptop.app.page.getByText("No conversations yet")).toBeVisible();

  // Bob's next message reaches both of Alice's devices
  await bob.app.send("After the link");
  await expect(alice.app.message("After the link")).toBeVisible();
  await expect(laptop.app.conversation(NAMES.bob)).toBeVisible();
  await laptop.app.openConversation(NAMES.bob);
  await expect(laptop.app.message("After the link")).toBeVisible();

  // Alice replies from the linked device: Bob gets it, and her primary shows it as sent by her
  await laptop.app.send("Answer from my laptop");
  await expect(bob.app.message("Answer from my laptop")).toBeVisible();
  await expect(alice.app.message("Answer from my laptop")).toBeVisible();
  await expect(laptop.app.message("Answer from my laptop")).toContainText(/Delivered|Read/);

  // Alice removes the linked device: it goes back to first run, and Bob's later messages reach only the primary
  await (await alice.app.openSettings()).getByRole("button", { name: "Linked devices" }).click();
  const list = devices.getByRole("list", { name: "Devices" });
  await list.getByRole("button", { name: "Remove" }).click();
  await expect(list.getByRole("listitem")).toHaveCount(1);
  await expect(laptop.app.page.getByRole("button", { name: "Link to an existing account" })).toBeVisible();
  await bob.app.send("After the removal");
  await expect(alice.app.message("After the removal")).toBeVisible();
  await expect(bob.app.message("After the removal")).toContainText(/Delivered|Read/);
  await expect(laptop.app.page.getByText("After the removal")).toHaveCount(0);
});
