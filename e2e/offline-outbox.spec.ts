// Test 3: what is written offline is queued, survives a reload, and goes out once, in order.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("3. three messages written offline stay queued across a reload and arrive once, in order", async ({ person }) => {
  const dave = await person();
  const erin = await person();
  const h = handles("dave");
  await dave.app.createAccount("Instagram", h.instagram, NAMES.dave);
  await erin.app.createAccount("Messenger", h.messenger, NAMES.erin);
  await converse(dave.app, "Instagram", NAMES.dave, erin.app, address("Messenger", h.messenger), TEXT.beforeOffline);

  const context = dave.app.page.context();
  await context.setOffline(true);
  await expect(dave.app.status).toHaveText("Offline");

  for (const text of TEXT.offline) {
    await dave.app.send(text);
    await expect(dave.app.message(text)).toContainText("Queued");
  }

  // the app shell comes from the service worker, the queue from IndexedDB
  await dave.app.page.reload();
  await expect(dave.app.status).toHaveText("Offline");
  for (const text of TEXT.offline) await expect(dave.app.message(text)).toContainText("Queued");
  await expect(erin.app.message(TEXT.offline[0])).toHaveCount(0);

  await context.setOffline(false);
  await expect(dave.app.status).toHaveText("Online");
  for (const text of TEXT.offline) await expect(dave.app.message(text)).toContainText(/Delivered|Read/);

  await erin.app.expectMessagesInOrder([TEXT.beforeOffline, ...TEXT.offline]);
  // and still once after Erin reloads: the inbox is idempotent by message id
  await erin.app.page.reload();
  await erin.app.expectMessagesInOrder([TEXT.beforeOffline, ...TEXT.offline]);
});
