// Attachments between two people on different brands, through the real relay: a photo shows its
// thumbnail first and then the full image, whose bytes are the sender's re-encoded image with the EXIF
// GPS gone; a file of 20 MB downloads intact; a blob altered on the relay's disk is refused with a
// visible error and nothing shown; downloads are kept in origin-private files, which go with their message,
// at the next start when nothing names them, and at log out.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { RELAY_DATA_DIR } from "./env";
import { blobIdOf, mediaBytes, mediaFileNames, mediaHash, mediaPieceCount, sha256 } from "./idb";
import { NAMES, TEXT } from "./plaintexts";

/** A JPEG made by the browser, with an EXIF segment added that holds a GPS position (N 51°30'26"). */
async function jpegWithGps(page: Page): Promise<Buffer> {
  const base64 = await page.evaluate(() => {
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 240;
    const ctx = canvas.getContext("2d")!;
    const g = ctx.createLinearGradient(0, 0, 320, 240);
    g.addColorStop(0, "#0b3d91");
    g.addColorStop(1, "#f5a623");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, 320, 240);
    return canvas.toDataURL("image/jpeg", 0.9).split(",")[1];
  });
  const jpeg = Buffer.from(base64, "base64");
  // TIFF (big-endian): IFD0 with one entry, the GPS IFD pointer; the GPS IFD with GPSLatitudeRef "N" and GPSLatitude 51/1 30/1 26/1
  const tiff = Buffer.alloc(8 + 2 + 12 + 4 + 2 + 24 + 4 + 24);
  tiff.write("MM\u0000\u002a", 0, "latin1");
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(0x8825, 10);
  tiff.writeUInt16BE(4, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt32BE(26, 18);
  tiff.writeUInt32BE(0, 22);
  tiff.writeUInt16BE(2, 26);
  tiff.writeUInt16BE(1, 28); // GPSLatitudeRef, ASCII, 2: "N\0"
  tiff.writeUInt16BE(2, 30);
  tiff.writeUInt32BE(2, 32);
  tiff.write("N\u0000", 36, "latin1");
  tiff.writeUInt16BE(2, 40); // GPSLatitude, RATIONAL, 3, at offset 56
  tiff.writeUInt16BE(5, 42);
  tiff.writeUInt32BE(3, 44);
  tiff.writeUInt32BE(56, 48);
  tiff.writeUInt32BE(0, 52);
  [51, 1, 30, 1, 26, 1].forEach((v, i) => tiff.writeUInt32BE(v, 56 + i * 4));
  const payload = Buffer.concat([Buffer.from("Exif\u0000\u0000", "latin1"), tiff]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1]), Buffer.from([(payload.length + 2) >> 8, (payload.length + 2) & 0xff]), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

test("a photo (thumbnail first, GPS gone), a file intact, a tampered blob refused, media deleted with its message", async ({ person }) => {
  const erin = await person();
  const frank = await person();
  const h = handles("attach");
  await Promise.all([erin.app.createAccount("WhatsApp", h.whatsapp, NAMES.erin), frank.app.createAccount("Messenger", h.messenger, NAMES.frank)]);
  await converse(erin.app, "WhatsApp", NAMES.erin, frank.app, address("Messenger", h.messenger), TEXT.attachSetup);

  // Frank's blob downloads wait until released, so the thumbnail is seen before the full image
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await frank.app.page.context().route("**/blobs/*", async (route) => {
    await held;
    await route.continue();
  });

  // Erin attaches a photo with GPS in its EXIF, with a caption
  const photo = await jpegWithGps(erin.app.page);
  expect(photo.includes(Buffer.from("Exif\u0000\u0000", "latin1"))).toBe(true);
  await erin.app.page.getByLabel("Attach files").setInputFiles({ name: "boat.jpg", mimeType: "image/jpeg", buffer: photo });
  await expect(erin.app.page.getByRole("list", { name: "Files to send" })).toContainText("boat.jpg");
  await erin.app.composer.fill(TEXT.attachCaption);
  await erin.app.page.getByRole("button", { name: "Send" }).click();
  const mine = erin.app.message(TEXT.attachCaption);
  await expect(mine.getByRole("button", { name: "Open image" })).toBeVisible();
  await expect(mine).toContainText(/Sent|Delivered|Read/);
  const photoId = (await mine.getAttribute("data-message-id"))!;

  // Frank: the thumbnail at once, blurred, then the full image once the download is let through
  const theirs = frank.app.message(TEXT.attachCaption);
  await expect(theirs.getByRole("img", { name: "Preview of boat.jpg" })).toBeVisible();
  await expect(theirs.getByRole("button", { name: "Open image" })).toHaveCount(0);
  release();
  await expect(theirs.getByRole("button", { name: "Open image" })).toBeVisible();
  await expect(theirs.getByRole("img", { name: "Preview of boat.jpg" })).toHaveCount(0);
  await frank.app.page.context().unroute("**/blobs/*");

  // the full image is the sender's re-encoded image, byte for byte, and its EXIF (GPS) is gone
  const sent = await mediaHash(erin.app.page, photoId);
  expect(sent).not.toBe(sha256(photo));
  expect(await mediaHash(frank.app.page, photoId)).toBe(sent);
  // a download is kept in a file of the origin-private file system, written by the worker
  const received = await mediaBytes(frank.app.page, photoId);
  expect(received?.kept).toBe("file");
  const bytes = received!.bytes;
  expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  expect(bytes.includes(Buffer.from("Exif\u0000\u0000", "latin1"))).toBe(false);
  expect(bytes.includes(Buffer.from([0, 0, 0, 51, 0, 0, 0, 1, 0, 0, 0, 30]))).toBe(false);

  // the image viewer: Save and Close, Escape closes it
  await theirs.getByRole("button", { name: "Open image" }).click();
  const viewer = frank.app.page.getByRole("dialog", { name: "Image viewer" });
  await expect(viewer.getByRole("img", { name: "boat.jpg" })).toBeVisible();
  await expect(viewer.getByRole("button", { name: "Save" })).toBeEnabled();
  await frank.app.page.keyboard.press("Escape");
  await expect(viewer).toBeHidden();

  // a file of 20 MB: "Download" on request, with progress, and intact (its upload sealed on two threads,
  // the engine's and the I/O worker's, each piece where it was free)
  const file = randomBytes(20_000_000 + 12_345);
  await erin.app.page.getByLabel("Attach files").setInputFiles({ name: TEXT.attachFileName, mimeType: "application/octet-stream", buffer: file });
  await erin.app.page.getByRole("button", { name: "Send" }).click();
  const fileBubble = frank.app.messages.filter({ hasText: TEXT.attachFileName });
  await expect(fileBubble).toContainText("20.0 MB");
  await fileBubble.getByRole("button", { name: "Download" }).click();
  await expect(fileBubble.getByRole("button", { name: "Save" })).toBeVisible();
  const fileId = (await fileBubble.getAttribute("data-message-id"))!;
  expect(await mediaHash(frank.app.page, fileId)).toBe(sha256(file));

  // a blob altered on the relay's disk (in its middle, after a whole piece of it was stored): refused,
  // with a visible error and nothing saved or shown
  await erin.app.page.getByLabel("Attach files").setInputFiles({ name: TEXT.attachTamperedName, mimeType: "application/octet-stream", buffer: randomBytes(2_500_000) });
  await erin.app.page.getByRole("button", { name: "Send" }).click();
  const altered = frank.app.messages.filter({ hasText: TEXT.attachTamperedName });
  await expect(altered.getByRole("button", { name: "Download" })).toBeVisible();
  const alteredId = (await altered.getAttribute("data-message-id"))!;
  const path = join(RELAY_DATA_DIR, "blobs", await blobIdOf(erin.app.page, alteredId));
  const stored = readFileSync(path);
  stored[Math.floor(stored.length / 2)] ^= 0x40;
  writeFileSync(path, stored);
  await altered.getByRole("button", { name: "Download" }).click();
  await expect(frank.app.messages.filter({ has: frank.app.page.getByRole("alert") })).toContainText("This attachment was altered on the relay and was refused.");
  expect(await mediaHash(frank.app.page, alteredId)).toBeNull();
  // nothing of it kept, not even the pieces before the altered byte (the photo's one and the file's twenty stay)
  await expect.poll(() => mediaPieceCount(frank.app.page)).toBe(21);
  expect(await mediaFileNames(frank.app.page)).toEqual([photoId, fileId].sort());

  // deleting the photo (for me) deletes its media, its file too
  await frank.app.messageAction(theirs, "Delete");
  const dialog = frank.app.page.getByRole("dialog", { name: /Delete/ });
  await dialog.getByRole("button", { name: "Delete for me" }).click();
  await expect(frank.app.message(TEXT.attachCaption)).toHaveCount(0);
  expect(await mediaHash(frank.app.page, photoId)).toBeNull();
  await expect.poll(() => mediaFileNames(frank.app.page)).toEqual([fileId]);
  expect(await mediaHash(frank.app.page, fileId)).toBe(sha256(file));

  // a file no row names (a removal that could not run) goes at the next start; the file kept stays and shows
  await frank.app.page.evaluate(async () => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("media-junction");
    const handle = await dir.getFileHandle("AAAAAAAAAAAAAAAAAAAAAA", { create: true });
    const writable = await handle.createWritable();
    await writable.write(new Uint8Array(5000));
    await writable.close();
  });
  await frank.app.page.reload();
  await expect.poll(() => mediaFileNames(frank.app.page)).toEqual([fileId]);
  await expect(fileBubble.getByRole("button", { name: "Save" })).toBeVisible();

  // logging out removes the files with the database
  await (await frank.app.openSettings()).getByRole("button", { name: "Log out" }).click();
  await frank.app.page.getByRole("dialog", { name: "Log out of this device?" }).getByRole("button", { name: "Log out" }).click();
  await expect(frank.app.page.getByRole("status", { name: "Logged out" })).toBeVisible();
  expect(await mediaFileNames(frank.app.page)).toEqual([]);
});
