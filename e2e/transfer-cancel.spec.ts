// Transfers cancelled midway, across brands: an upload cancelled while its requests are on the way shows
// "Not sent", nothing of it reaches the other side, and Retry sends it once; a download cancelled while it
// waits on the relay shows "Download" again, keeps nothing visible, and then arrives intact.
import { randomBytes } from "node:crypto";
import { expect, test } from "./fixtures";
import { address, converse, handles, sendFileSeenUploading } from "./flows";
import { mediaHash, sha256 } from "./idb";
import { NAMES, TEXT } from "./plaintexts";

test("an upload cancelled midway is Not sent and Retry sends it once; a download cancelled midway can be asked for again", async ({ person }) => {
  const ana = await person();
  const ben = await person();
  const h = handles("cancel");
  await Promise.all([ana.app.createAccount("Messenger", h.messenger, NAMES.ana), ben.app.createAccount("Instagram", h.instagram, NAMES.ben)]);
  await converse(ana.app, "Messenger", NAMES.ana, ben.app, address("Instagram", h.instagram), TEXT.cancelSetup);

  // the upload: its first request stored, the next ones held; Cancel upload
  const file = randomBytes(6_000_000 + 777);
  const { mine, uploading, release, unhold } = await sendFileSeenUploading(ana.app, TEXT.cancelFileName, file);
  await mine.getByRole("button", { name: "Cancel upload" }).click();
  await expect(mine).toContainText("Not sent");
  await expect(uploading).toHaveCount(0);
  release();
  await unhold();
  // nothing of it reached Ben: the message goes only once its blob is whole
  await ben.app.page.waitForTimeout(1_000);
  await expect(ben.app.messages.filter({ hasText: TEXT.cancelFileName })).toHaveCount(0);
  await mine.getByRole("button", { name: "Retry" }).click();
  await expect(mine).toContainText(/Delivered|Read/);
  const theirs = ben.app.messages.filter({ hasText: TEXT.cancelFileName });
  await expect(theirs).toHaveCount(1);

  // the download: held at the relay, then cancelled; Download is offered again and nothing is shown
  let releaseGet: () => void = () => undefined;
  const heldGet = new Promise<void>((resolve) => (releaseGet = resolve));
  await ben.app.page.context().route("**/blobs/*", async (route) => {
    if (route.request().method() === "GET") await heldGet;
    await route.continue().catch(() => undefined);
  });
  await theirs.getByRole("button", { name: "Download" }).click();
  await expect(theirs.getByRole("progressbar", { name: "Downloading" })).toBeVisible();
  await theirs.getByRole("button", { name: "Cancel download" }).click();
  await expect(theirs.getByRole("button", { name: "Download" })).toBeVisible();
  await expect(theirs.getByRole("progressbar", { name: "Downloading" })).toHaveCount(0);
  const id = (await theirs.getAttribute("data-message-id"))!;
  expect(await mediaHash(ben.app.page, id)).toBeNull();
  releaseGet();
  await ben.app.page.context().unroute("**/blobs/*");
  // asked for again, it arrives whole, the bytes sent
  await theirs.getByRole("button", { name: "Download" }).click();
  await expect(theirs.getByRole("button", { name: "Save" })).toBeVisible();
  expect(await mediaHash(ben.app.page, id)).toBe(sha256(file));
  await expect(ben.app.messages.filter({ hasText: TEXT.cancelFileName })).toHaveCount(1);
});
