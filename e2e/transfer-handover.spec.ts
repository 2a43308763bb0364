// A transfer whose tab closes midway: Carol's tab that runs her engine closes while it downloads a file
// Dave sent from another brand (its file in the origin-private file system open); her other tab takes the
// engine over and finishes the download, intact.
import { randomBytes } from "node:crypto";
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { mediaHash, sha256 } from "./idb";
import { NAMES, TEXT } from "./plaintexts";

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
