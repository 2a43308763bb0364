// Linked devices: Alice links a second browser to her account by the pasted link code (a first attempt she
// cancels leaves the new browser with the reason and "Start again"); her history comes with a progress bar
// on both, with the photo she sent before the link ("Include photos and files"); Bob's next message reaches
// both of her devices, and what she answers from the linked one shows on her primary as hers. Removed, the
// linked browser is back at first run and Bob's later messages reach only the primary.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("link a device by its code with its history; messages reach both devices, a reply from the linked one shows on the primary; remove it", async ({ person }) => {
  // three browsers, two link attempts and a history transfer
  test.setTimeout(150_000);
  const alice = await person();
  const bob = await person();
  const laptop = await person();
  const h = handles("linked");
  await Promise.all([alice.app.createAccount("Messenger", h.messenger, NAMES.alice), bob.app.createAccount("WhatsApp", h.whatsapp, NAMES.bob)]);
  await converse(bob.app, "WhatsApp", NAMES.bob, alice.app, address("Messenger", h.messenger), "Before the link");
  // a photo Alice sends before the link: it travels with the history
  const png = await alice.app.page.evaluate(() => {
    const canvas = document.createElement("canvas");
    canvas.width = 96;
    canvas.height = 64;
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#0b3d91";
    ctx.fillRect(0, 0, 96, 64);
    return canvas.toDataURL("image/png").split(",")[1];
  });
  await alice.app.page.getByLabel("Attach files").setInputFiles({ name: "lighthouse.png", mimeType: "image/png", buffer: Buffer.from(png, "base64") });
  await alice.app.composer.fill(TEXT.historyPhoto);
  await alice.app.page.getByRole("button", { name: "Send" }).click();
  await expect(alice.app.message(TEXT.historyPhoto)).toContainText(/Sent|Delivered|Read/);

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
  // the code with a character left out: refused here, and the new browser is told at once (its code still works)
  await devices.getByRole("textbox", { name: "Link code" }).fill(code.slice(0, 40) + code.slice(41));
  await devices.getByRole("button", { name: "Link device" }).click();
  await expect(devices.getByRole("alert")).toHaveText("That is not a link code.");
  await expect(laptop.app.page.getByRole("alert").filter({ hasText: "The code typed on your other device does not match this one." })).toBeVisible();
  // Alice cancels a first attempt: the new browser says so at once, and starts again with a new code
  await devices.getByRole("textbox", { name: "Link code" }).fill(code);
  await devices.getByRole("button", { name: "Link device" }).click();
  await devices.getByRole("group", { name: "Confirm the new device" }).getByRole("button", { name: "Cancel" }).click();
  await expect(devices.getByRole("status")).toHaveText("Not linked.");
  await expect(laptop.app.page.getByRole("alert").filter({ hasText: "The link was cancelled on your other device." })).toBeVisible();
  await laptop.app.page.getByRole("button", { name: "Start again" }).click();
  const again = await laptop.app.page.getByRole("textbox", { name: "Link code" }).inputValue();
  expect(again).not.toBe(code);
  await devices.getByRole("button", { name: "Link a device" }).click();
  await devices.getByRole("textbox", { name: "Link code" }).fill(again);
  await devices.getByRole("button", { name: "Link device" }).click();
  // the primary names the new device and asks before it issues anything
  const confirm = devices.getByRole("group", { name: "Confirm the new device" });
  await expect(confirm.getByRole("checkbox", { name: /Send my message history/ })).toBeChecked();
  // small: included by default, with its size
  await expect(confirm.getByRole("checkbox", { name: /^Include photos and files \([\d.]+ (B|KB)\)$/ })).toBeChecked();
  await expect(confirm).toContainText(/Link Chrome on \w+ to your accounts\?/);
  await confirm.getByRole("button", { name: "Confirm" }).click();
  await expect(devices.getByRole("status")).toHaveText(/^Linked Chrome/);
  await expect(devices.getByRole("list", { name: "Devices" }).getByRole("listitem")).toHaveCount(2);
  // the history goes with a progress bar on the primary…
  const sent = devices.getByRole("progressbar", { name: "Transferring history" });
  await expect(sent).toHaveAttribute("aria-valuenow", "100");
  await expect(sent).toHaveAttribute("aria-valuemax", "100");
  await expect(devices.getByText(/^History sent to Chrome on \w+: 2 messages and 1 photo or file\.$/)).toBeVisible();
  await devices.getByRole("button", { name: "Close" }).click();
  await alice.app.page.keyboard.press("Escape");

  // …and on the linked browser, which leaves first run with Alice's account and her earlier conversation
  const received = laptop.app.page.getByRole("progressbar", { name: "Transferring history" });
  await expect(received).toHaveAttribute("aria-valuenow", "100");
  await expect(laptop.app.page.getByText("History transferred: 2 messages, with 1 photo or file.")).toBeVisible();
  await laptop.app.page.getByRole("button", { name: "Dismiss" }).click();
  await expect(received).toHaveCount(0);
  await expect(laptop.app.conversation(NAMES.bob)).toBeVisible();
  await laptop.app.openConversation(NAMES.bob);
  await expect(laptop.app.message("Before the link")).toBeVisible();
  // the photo came whole: the full image (not the preview), loaded
  const photo = laptop.app.message(TEXT.historyPhoto).getByRole("img", { name: "lighthouse.png" });
  await expect(photo).toHaveAttribute("data-state", "full");
  await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

  // Bob's next message reaches both of Alice's devices
  await bob.app.send("After the link");
  await expect(alice.app.message("After the link")).toBeVisible();
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
