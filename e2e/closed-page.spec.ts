// Test 4: the relay holds what arrives while the recipient's app is closed, and the app takes it all in once.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { JunctionPage } from "./pages/app";
import { NAMES, TEXT } from "./plaintexts";

test("4. twenty messages sent while the recipient's app is closed all appear once", async ({ person }) => {
  // tall enough that the virtual logs render the whole backlog at once
  const frank = await person({ viewport: { width: 1200, height: 1800 } });
  const gina = await person({ viewport: { width: 1200, height: 1800 } });
  const h = handles("frank");
  await frank.app.createAccount("Messenger", h.messenger, NAMES.frank);
  await gina.app.createAccount("WhatsApp", h.whatsapp, NAMES.gina);
  await converse(frank.app, "Messenger", NAMES.frank, gina.app, address("WhatsApp", h.whatsapp), TEXT.beforeClose);

  // Gina has seen it (read receipts are batched: closing at once could beat the batch, and it would count as
  // unread when she comes back)
  await expect(frank.app.message(TEXT.beforeClose)).toContainText(/Read$/);
  const context = gina.app.page.context();
  await gina.app.page.close();

  // typed as fast as the keyboard goes: Enter after each, no waiting in between
  await frank.app.composer.click();
  for (const text of TEXT.backlog) {
    await frank.app.page.keyboard.insertText(text);
    await frank.app.page.keyboard.press("Enter");
  }
  await frank.app.expectMessagesInOrder([TEXT.beforeClose, ...TEXT.backlog]);
  // stored by the relay: nobody could have decrypted them yet
  for (const text of TEXT.backlog) await expect(frank.app.message(text)).toContainText(/Sent/);

  const reopened = new JunctionPage(await context.newPage());
  await reopened.open();
  const row = reopened.conversation(NAMES.frank);
  await expect(row).toHaveAccessibleDescription(/20 unread/);
  await reopened.openConversation(NAMES.frank);
  await reopened.expectMessagesInOrder([TEXT.beforeClose, ...TEXT.backlog]);
  await expect(reopened.messages).toHaveCount(21);

  for (const text of TEXT.backlog) await expect(frank.app.message(text)).toContainText(/Delivered|Read/);
});
