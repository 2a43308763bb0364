// Transfers whose tab closes midway. An upload: Dave has two tabs open and sends a file from the one that
// runs his engine; the relay has stored its first request when that tab closes (what it had on the way is
// cut, and may still reach the relay). The other tab takes the engine over and finishes the upload on the
// same blob, and Carol, on another brand, gets the file once, intact. A download: Carol's tab that runs her
// engine closes while it downloads (its file in the origin-private file system open); her other tab takes
// over and finishes it, intact.
import { randomBytes } from "node:crypto";
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { blobIdOf, mediaHash, sha256 } from "./idb";
import { NAMES, TEXT } from "./plaintexts";

test("an upload whose tab closes midway is finished by the other tab, on the same blob, and arrives once", async ({ person }) => {
  const dave = await person();
  const carol = await person();
  const h = handles("handover");
  await Promise.all([dave.app.createAccount("Messenger", h.messenger, NAMES.dave), carol.app.createAccount("WhatsApp", h.whatsapp, NAMES.carol)]);
  await converse(carol.app, "WhatsApp", NAMES.carol, dave.app, address("Messenger", h.messenger), TEXT.handoverAsk);
  const first = dave.app;
  const second = await dave.newTab();
  await second.openConversation(NAMES.carol);
  await expect(second.status).toHaveText("Online");

  // sent from the first tab (its engine uploads); the relay takes the first request, the others wait
  let patches = 0;
  let closing = false;
  let cut: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (cut = resolve));
  await first.page.context().route("**/blobs/*", async (route) => {
    if (route.request().method() === "PATCH" && !closing && ++patches > 1) {
      // the closing tab's requests are cut, as a closing tab cuts them
      await held;
      await route.abort().catch(() => undefined);
      return;
    }
    await route.continue().catch(() => undefined);
  });
  const file = randomBytes(6_000_000 + 4321);
  await first.page.getByLabel("Attach files").setInputFiles({ name: TEXT.handoverFileName, mimeType: "application/octet-stream", buffer: file });
  await first.page.getByRole("button", { name: "Send" }).click();
  const mine = second.messages.filter({ hasText: TEXT.handoverFileName });
  const uploading = mine.getByRole("progressbar", { name: "Uploading" });
  await expect.poll(async () => Number(await uploading.getAttribute("aria-valuenow"))).toBeGreaterThan(0);
  const id = (await mine.getAttribute("data-message-id"))!;
  const blob = await blobIdOf(second.page, id);

  // the first tab closes with requests on the way; the second takes the engine over and goes on
  closing = true;
  await first.page.close();
  cut();
  await expect(mine).toContainText(/Delivered|Read/);
  expect(await blobIdOf(second.page, id)).toBe(blob);

  // Carol: the file once, and its bytes
  const theirs = carol.app.messages.filter({ hasText: TEXT.handoverFileName });
  await expect(theirs).toHaveCount(1);
  await theirs.getByRole("button", { name: "Download" }).click();
  await expect(theirs.getByRole("button", { name: "Save" })).toBeVisible();
  expect(await mediaHash(carol.app.page, id)).toBe(sha256(file));
  await carol.app.page.waitForTimeout(1_000);
  await expect(carol.app.messages.filter({ hasText: TEXT.handoverFileName })).toHaveCount(1);
});

test("a download whose tab closes midway is finished by the other tab, intact", async ({ person }) => {
  const dave = await person();
  const carol = await person();
  const h = handles("handdown");
  await Promise.all([dave.app.createAccount("Instagram", h.instagram, NAMES.dave), carol.app.createAccount("Messenger", h.messenger, NAMES.carol)]);
  await converse(dave.app, "Instagram", NAMES.dave, carol.app, address("Messenger", h.messenger), TEXT.handoverSetup);
  const file = randomBytes(6_000_000 + 99);
  await dave.app.page.getByLabel("Attach files").setInputFiles({ name: TEXT.handoverFileName, mimeType: "application/octet-stream", buffer: file });
  await dave.app.page.getByRole("button", { name: "Send" }).click();
  await expect(dave.app.messages.filter({ hasText: TEXT.handoverFileName })).toContainText(/Delivered|Read/);

  const first = carol.app;
  const second = await carol.newTab();
  await second.openConversation(NAMES.dave);
  await expect(second.status).toHaveText("Online");
  // the download starts in the engine's tab and waits at the relay
  let releaseGet: () => void = () => undefined;
  const heldGet = new Promise<void>((resolve) => (releaseGet = resolve));
  await first.page.context().route("**/blobs/*", async (route) => {
    if (route.request().method() === "GET") await heldGet;
    await route.continue().catch(() => undefined);
  });
  await first.messages.filter({ hasText: TEXT.handoverFileName }).getByRole("button", { name: "Download" }).click();
  const theirs = second.messages.filter({ hasText: TEXT.handoverFileName });
  await expect(theirs.getByRole("progressbar", { name: "Downloading" })).toBeVisible();

  // that tab closes; the other takes the engine over and finishes the download
  await first.page.close();
  releaseGet();
  await second.page.context().unroute("**/blobs/*");
  await expect(theirs.getByRole("button", { name: "Save" })).toBeVisible();
  expect(await mediaHash(second.page, (await theirs.getAttribute("data-message-id"))!)).toBe(sha256(file));
});
