// Sync between my own devices: Alice links a second browser; Bob's messages reach both. Read receipts
// turned off on the linked browser are off on the primary; reading on the linked browser (so with no
// receipt to copy) clears the unread count on the primary; a pin on the primary shows on the linked one; a
// name the linked browser gives itself shows in the primary's device list, with when it was active; and
// fifteen days on with nothing from the primary, the linked browser warns (the primary never does).
import { expect, test } from "./fixtures";
import { address, handles } from "./flows";
import { NAMES } from "./plaintexts";

test("reading on my linked device clears unread on my primary; a pin and a device's new name show on the other", async ({ person }) => {
  const alice = await person();
  const bob = await person();
  const laptop = await person();
  const h = handles("devsync");
  await Promise.all([alice.app.createAccount("Messenger", h.messenger, NAMES.alice), bob.app.createAccount("WhatsApp", h.whatsapp, NAMES.bob)]);

  // Alice links the second browser by its code
  await laptop.app.page.getByRole("button", { name: "Link to an existing account" }).click();
  const code = await laptop.app.page.getByRole("textbox", { name: "Link code" }).inputValue();
  await (await alice.app.openSettings()).getByRole("button", { name: "Linked devices" }).click();
  const devices = alice.app.page.getByRole("dialog", { name: "Linked devices" });
  await devices.getByRole("button", { name: "Link a device" }).click();
  await devices.getByRole("textbox", { name: "Link code" }).fill(code);
  await devices.getByRole("button", { name: "Link device" }).click();
  await devices.getByRole("group", { name: "Confirm the new device" }).getByRole("button", { name: "Confirm" }).click();
  await expect(devices.getByRole("list", { name: "Devices" }).getByRole("listitem")).toHaveCount(2);
  await devices.getByRole("button", { name: "Close" }).click();
  await alice.app.page.keyboard.press("Escape");
  await expect(laptop.app.page.getByText("No conversations yet")).toBeVisible();

  // read receipts off on the laptop: off on the primary too (so what clears unread below is the sync alone)
  const laptopSettings = await laptop.app.openSettings();
  await laptopSettings.getByRole("switch", { name: "Read receipts" }).click();
  await expect(laptopSettings.getByRole("switch", { name: "Read receipts" })).toHaveAttribute("aria-checked", "false");
  await laptop.app.page.keyboard.press("Escape");
  await expect(laptopSettings).toBeHidden();
  const primarySettings = await alice.app.openSettings();
  await expect(primarySettings.getByRole("switch", { name: "Read receipts" })).toHaveAttribute("aria-checked", "false");
  await alice.app.page.keyboard.press("Escape");
  await expect(primarySettings).toBeHidden();

  // Bob writes twice; neither of Alice's devices has the conversation open: two unread on each
  await bob.app.startChat("WhatsApp", address("Messenger", h.messenger));
  await bob.app.send("Are you on your laptop?");
  await bob.app.send("Ping me when you read this");
  for (const device of [alice.app, laptop.app]) await expect(device.conversation(NAMES.bob)).toHaveAccessibleDescription(/2 unread\./);

  // read on the laptop: the primary's unread count goes, with no read receipt involved in it
  await laptop.app.openConversation(NAMES.bob);
  await expect(laptop.app.message("Ping me when you read this")).toBeVisible();
  await expect(alice.app.conversation(NAMES.bob)).not.toHaveAccessibleDescription(/unread/);

  // pinned on the primary: pinned on the laptop
  await alice.app.conversationAction(NAMES.bob, "Pin");
  await expect(alice.app.conversation(NAMES.bob)).toHaveAccessibleDescription(/Pinned\./);
  await expect(laptop.app.conversation(NAMES.bob)).toHaveAccessibleDescription(/Pinned\./);

  // the laptop renames itself; the primary's list shows the new name, and that it was active today
  await (await laptop.app.openSettings()).getByRole("button", { name: "Linked devices" }).click();
  const laptopDevices = laptop.app.page.getByRole("dialog", { name: "Linked devices" });
  const mine = laptopDevices.getByRole("listitem").filter({ hasText: "This device" });
  await mine.getByRole("button", { name: "Rename" }).click();
  await laptopDevices.getByRole("textbox", { name: "Device name" }).fill("Work laptop");
  await laptopDevices.getByRole("button", { name: "Save" }).click();
  await expect(mine).toContainText("Work laptop");
  // a companion cannot remove devices: only the primary can
  await expect(laptopDevices.getByRole("button", { name: "Remove" })).toHaveCount(0);

  await (await alice.app.openSettings()).getByRole("button", { name: "Linked devices" }).click();
  const item = devices.getByRole("listitem").filter({ hasText: "Work laptop" });
  await expect(item).toContainText("Active today");
  await expect(item.getByRole("button", { name: "Remove" })).toHaveAccessibleDescription("Work laptop");

  // fifteen days later on the laptop's clock, with nothing from the primary since: the laptop warns
  for (const device of [alice.app, laptop.app]) {
    await device.page.keyboard.press("Escape");
    await expect(device.page.getByRole("dialog", { name: "Linked devices" })).toBeHidden();
    await device.page.keyboard.press("Escape");
    await expect(device.page.getByRole("dialog", { name: "Settings" })).toBeHidden();
  }
  await laptop.app.page.clock.setSystemTime(Date.now() + 15 * 24 * 60 * 60_000);
  const later = await laptop.app.openSettings();
  await expect(later.getByRole("note")).toHaveText(/Your primary device has not been active for 15 days\./);
  // the primary itself never shows it
  const primaryLater = await alice.app.openSettings();
  await expect(primaryLater.getByRole("note")).toHaveCount(0);
});
