// Attachments when the relay fails them, against a relay this spec owns (e2e/ownRelay.ts): killed in the
// middle of an upload (it resumes the same blob when the relay is back, and the message arrives once),
// out of quota (a clear "Not sent" with Retry, which sends it once the relay has room), and a blob
// past its expiry ("no longer on the relay"). Settings → Storage shows what is kept and "Delete media"
// removes it; "Uploading" and "Downloading" show their progress.
import { randomBytes } from "node:crypto";
import { expect, test, type Person } from "./fixtures";
import { address, converse, handles, sendFileSeenUploading } from "./flows";
import { blobIdOf, mediaHash, mediaPieceCount, sha256 } from "./idb";
import { OWN_RELAY_URL, OwnRelay } from "./ownRelay";
import { NAMES, TEXT } from "./plaintexts";

// each test restarts the relay (the app server with it) once: more than the suite's 90 s on a loaded machine
test.describe.configure({ mode: "serial", timeout: 150_000 });
test.use({ baseURL: OWN_RELAY_URL });

/** Small enough that one 6 MB file does not fit. */
const QUOTA = 5_000_000;
let relay: OwnRelay;
test.beforeAll(async () => {
  relay = await OwnRelay.fresh(QUOTA);
});
test.afterAll(async () => {
  await relay?.stop();
});

async function pair(person: (options?: object) => Promise<Person>, label: string) {
  const gina = (await person()).app;
  const hugo = (await person()).app;
  const h = handles(label);
  await Promise.all([gina.createAccount("WhatsApp", h.whatsapp, NAMES.gina), hugo.createAccount("Messenger", h.messenger, NAMES.hugo)]);
  await converse(gina, "WhatsApp", NAMES.gina, hugo, address("Messenger", h.messenger), TEXT.relaySetup);
  return { gina, hugo };
}

test("an upload cut by the relay's death resumes the same blob when it is back; the message arrives once", async ({ person }) => {
  const { gina, hugo } = await pair(person, "resume");
  // the relay takes the first piece; the second waits until the relay is gone
  const file = randomBytes(2_500_000);
  const { mine, release, unhold } = await sendFileSeenUploading(gina, TEXT.relayResumeName, file);

  await relay.kill();
  release();
  await unhold();
  // while the relay is down the message waits, with no "Not sent"
  await expect(mine).not.toContainText("Not sent");
  await relay.start();

  const theirs = hugo.messages.filter({ hasText: TEXT.relayResumeName });
  await expect(theirs.getByRole("button", { name: "Download" })).toBeVisible({ timeout: 60_000 });
  await expect(mine).toContainText(/Delivered|Read/);
  // the relay holds one blob: the upload went on where it was, it did not start another
  expect(relay.blobCount()).toBe(1);
  await theirs.getByRole("button", { name: "Download" }).click();
  await expect(theirs.getByRole("button", { name: "Save" })).toBeVisible();
  expect(await mediaHash(hugo.page, (await theirs.getAttribute("data-message-id"))!)).toBe(sha256(file));
  await expect(theirs).toHaveCount(1);
});

test("past the relay's attachment quota: a clear Not sent with Retry, which sends it once there is room", async ({ person }) => {
  const { gina, hugo } = await pair(person, "quota");
  await gina.page.getByLabel("Attach files").setInputFiles({ name: TEXT.relayQuotaName, mimeType: "application/octet-stream", buffer: randomBytes(6_000_000) });
  await gina.page.getByRole("button", { name: "Send" }).click();
  const mine = gina.message(TEXT.relayQuotaName);
  await expect(mine).toContainText("Not sent");
  await expect(mine).toContainText("the relay has no room for more of my attachments now");
  await expect(gina.retryButton(TEXT.relayQuotaName)).toBeVisible();
  await expect(hugo.messages.filter({ hasText: TEXT.relayQuotaName })).toHaveCount(0);

  // the relay makes room (a larger quota): Retry sends it, once
  await relay.stop();
  await relay.start(50_000_000);
  await gina.retryButton(TEXT.relayQuotaName).click();
  const theirs = hugo.messages.filter({ hasText: TEXT.relayQuotaName });
  await expect(theirs.getByRole("button", { name: "Download" })).toBeVisible({ timeout: 60_000 });
  await expect(mine).toContainText(/Delivered|Read/);
  await expect(theirs).toHaveCount(1);
});

test("Storage shows what is kept and Delete media removes it; an expired blob is no longer available", async ({ person }) => {
  const { gina, hugo } = await pair(person, "storage");
  const file = randomBytes(3_000_000);
  for (const [name, buffer] of [
    [TEXT.relayStorageName, file],
    [TEXT.relayExpiredName, randomBytes(100_000)],
  ] as const) {
    await gina.page.getByLabel("Attach files").setInputFiles({ name, mimeType: "application/octet-stream", buffer });
    await gina.page.getByRole("button", { name: "Send" }).click();
  }
  const kept = hugo.messages.filter({ hasText: TEXT.relayStorageName });
  const expired = hugo.messages.filter({ hasText: TEXT.relayExpiredName });
  await expect(expired.getByRole("button", { name: "Download" })).toBeVisible();

  // the download shows its progress while the relay's answer is held back
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await hugo.page.context().route("**/blobs/*", async (route) => {
    await held;
    await route.continue();
  });
  await kept.getByRole("button", { name: "Download" }).click();
  await expect(kept.getByRole("progressbar", { name: "Downloading" })).toHaveAttribute("aria-valuenow", /^\d+$/);
  release();
  await expect(kept.getByRole("button", { name: "Save" })).toBeVisible();
  await hugo.page.context().unroute("**/blobs/*");
  expect(await mediaHash(hugo.page, (await kept.getAttribute("data-message-id"))!)).toBe(sha256(file));

  const settings = await hugo.openSettings();
  await expect(settings.getByText(/Photos and files on this device: 3(\.0)? MB/)).toBeVisible();
  await expect(settings.getByRole("list", { name: "Media per conversation" })).toContainText("1 file");
  await settings.getByRole("button", { name: "Delete media", exact: true }).click();
  await expect(settings.getByText("No photos or files are kept on this device.")).toBeVisible();
  await hugo.page.keyboard.press("Escape");
  // the message stays, and can be fetched again
  await expect(kept.getByRole("button", { name: "Download" })).toBeVisible();
  await expect.poll(() => mediaPieceCount(hugo.page)).toBe(0);

  // the relay's clock passes the other blob's expiry: it says so, and nothing is kept
  const expiredId = (await expired.getAttribute("data-message-id"))!;
  relay.expireBlob(await blobIdOf(gina.page, expiredId));
  await expired.getByRole("button", { name: "Download" }).click();
  await expect(expired).toContainText("This attachment is no longer on the relay.");
  expect(await mediaHash(hugo.page, expiredId)).toBeNull();
});
