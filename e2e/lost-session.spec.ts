// A device that lost its session (restored from an old backup, storage cleared) cannot read what
// comes next under it. It shows a placeholder, asks the sender's device to resend, and the real
// message replaces the placeholder in place. Then both talk on in a fresh session.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { deleteSessions, messageKinds, storeKeys } from "./idb";
import { NAMES, TEXT } from "./plaintexts";

test("a lost session heals: 'Waiting for this message…', then the message itself, then replies flow", async ({ person }) => {
  const erin = await person();
  const frank = await person();
  const h = handles("frank");
  await Promise.all([erin.app.createAccount("Messenger", h.messenger, NAMES.erin), frank.app.createAccount("WhatsApp", h.whatsapp, NAMES.frank)]);
  const erinAddress = address("Messenger", h.messenger);
  const frankAddress = address("WhatsApp", h.whatsapp);
  await converse(erin.app, "Messenger", NAMES.erin, frank.app, frankAddress, TEXT.lostSessionSetup);
  // Frank has answered too, so each side holds a session in use
  await frank.app.send(TEXT.lostSessionSetupReply);
  await expect(erin.app.message(TEXT.lostSessionSetupReply)).toBeVisible();
  // and Erin's receipts for it are in (she has it on screen, so "read" follows "delivered"): nothing of
  // hers is still on its way to Frank under the old session
  await expect(frank.app.message(TEXT.lostSessionSetupReply)).toContainText(/Read$/);

  // Frank goes offline and loses his session with Erin; Erin, unaware, writes under hers
  const frankContext = frank.app.page.context();
  await frankContext.setOffline(true);
  await expect(frank.app.status).toHaveText("Offline");
  expect((await storeKeys(frank.app.page, "sessions")).some((key) => key.includes(`|${erinAddress}|`))).toBe(true);
  expect(await deleteSessions(frank.app.page, frankAddress, erinAddress)).toBeGreaterThan(0);
  expect((await storeKeys(frank.app.page, "sessions")).some((key) => key.includes(`|${erinAddress}|`))).toBe(false);

  await erin.app.send(TEXT.lostSessionAfter);
  await expect(erin.app.message(TEXT.lostSessionAfter)).toContainText("Sent");
  // Erin is away while Frank comes back: his request to resend waits for her, and the placeholder stays
  const erinContext = erin.app.page.context();
  await erinContext.setOffline(true);
  await expect(erin.app.status).toHaveText("Offline");
  await frankContext.setOffline(false);
  await expect(frank.app.status).toHaveText("Online");

  const conversation = `${frankAddress}|${erinAddress}`;
  await expect.poll(() => messageKinds(frank.app.page, conversation), { message: "Frank stores a waiting row" }).toContain("waiting");
  const waiting = frank.app.waitingMessages;
  await expect(waiting).toHaveCount(1);
  await expect(waiting).toHaveAccessibleDescription(/appear when .* sends it again/);
  await expect(frank.app.message(TEXT.lostSessionAfter)).toHaveCount(0);

  // Erin is back: she gets the request, sets up a new session and sends the message again
  await erinContext.setOffline(false);
  await expect(erin.app.status).toHaveText("Online");
  await expect(frank.app.message(TEXT.lostSessionAfter)).toHaveCount(1);
  await expect(frank.app.waitingMessages).toHaveCount(0);
  await expect(frank.app.page.getByText("Waiting for this message…")).toHaveCount(0);
  expect(await messageKinds(frank.app.page, conversation)).not.toContain("waiting");
  await expect(erin.app.message(TEXT.lostSessionAfter)).toContainText(/Delivered|Read/);
  await frank.app.expectMessagesInOrder([TEXT.lostSessionSetup, TEXT.lostSessionSetupReply, TEXT.lostSessionAfter]);

  // what happened is in Frank's Diagnostics: the warning and the recovery, with no message text
  const diagnostics = await frank.app.openDiagnostics();
  const log = diagnostics.getByRole("list", { name: /Recent log/ });
  await expect(log).toContainText(/did not decrypt/);
  await expect(log).not.toContainText(TEXT.lostSessionAfter);
  await expect(diagnostics.getByRole("row", { name: /^recovered/ })).toBeVisible();
  await frank.app.page.keyboard.press("Escape");
  await expect(diagnostics).toBeHidden();

  // and the conversation goes on both ways
  await frank.app.send(TEXT.lostSessionReply);
  await expect(erin.app.message(TEXT.lostSessionReply)).toHaveCount(1);
  await erin.app.expectMessagesInOrder([TEXT.lostSessionSetup, TEXT.lostSessionSetupReply, TEXT.lostSessionAfter, TEXT.lostSessionReply]);
});
