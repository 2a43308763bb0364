// Ways of attaching, across brands: two photos picked at once go as two messages with the caption on the
// first; the image viewer goes through them with the arrow keys; a file pasted into the composer and a file
// dropped on it each arrive intact; and the relay refuses to append to a blob without its upload token, or
// with a made-up one, leaving the blob as it was.
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { blobIdOf, mediaHash, sha256 } from "./idb";
import { NAMES, TEXT } from "./plaintexts";

/** A small PNG of one colour, made by the browser. */
async function png(page: Page, colour: string): Promise<Buffer> {
  const base64 = await page.evaluate((fill) => {
    const canvas = document.createElement("canvas");
    canvas.width = 96;
    canvas.height = 64;
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = fill;
    ctx.fillRect(0, 0, 96, 64);
    return canvas.toDataURL("image/png").split(",")[1];
  }, colour);
  return Buffer.from(base64, "base64");
}

/** The bytes of the files pasted and dropped: made the same way in the page and here. */
function fileBytes(length: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));
}

test("two photos at once with a caption, the viewer's arrow keys, a file pasted and one dropped; no upload without its token", async ({ person }) => {
  const gina = await person();
  const hugo = await person();
  const h = handles("compose");
  await Promise.all([gina.app.createAccount("Instagram", h.instagram, NAMES.gina), hugo.app.createAccount("WhatsApp", h.whatsapp, NAMES.hugo)]);
  await converse(gina.app, "Instagram", NAMES.gina, hugo.app, address("WhatsApp", h.whatsapp), TEXT.composeSetup);
  const page = gina.app.page;

  // two photos picked at once, with one caption: two messages, the caption on the first
  const [north, south] = await Promise.all([png(page, "#1d4ed8"), png(page, "#b91c1c")]);
  await page.getByLabel("Attach files").setInputFiles([
    { name: "cove-north.png", mimeType: "image/png", buffer: north },
    { name: "cove-south.png", mimeType: "image/png", buffer: south },
  ]);
  const toSend = page.getByRole("list", { name: "Files to send" });
  await expect(toSend.getByRole("listitem")).toHaveCount(2);
  await gina.app.composer.fill(TEXT.composeCaption);
  await page.getByRole("button", { name: "Send" }).click();
  await expect(toSend).toHaveCount(0);
  const images = hugo.app.messages.filter({ has: hugo.app.page.getByRole("button", { name: "Open image" }) });
  // small images download by themselves
  await expect(images).toHaveCount(2);
  await expect(images.first()).toContainText(TEXT.composeCaption);
  await expect(images.last()).not.toContainText(TEXT.composeCaption);

  // the viewer goes through the conversation's images with the arrow keys, and no further than the last
  await images.first().getByRole("button", { name: "Open image" }).click();
  const viewer = hugo.app.page.getByRole("dialog", { name: "Image viewer" });
  await expect(viewer.getByRole("img", { name: "cove-north.png" })).toBeVisible();
  await expect(viewer).toContainText("1 of 2");
  await hugo.app.page.keyboard.press("ArrowRight");
  await expect(viewer.getByRole("img", { name: "cove-south.png" })).toBeVisible();
  await expect(viewer).toContainText("2 of 2");
  await hugo.app.page.keyboard.press("ArrowRight");
  await expect(viewer).toContainText("2 of 2");
  await hugo.app.page.keyboard.press("ArrowLeft");
  await expect(viewer.getByRole("img", { name: "cove-north.png" })).toBeVisible();
  await hugo.app.page.keyboard.press("Escape");
  await expect(viewer).toBeHidden();
  // each is the image that was sent (re-encoded by the sender's worker: the same on both sides)
  const ids = await images.evaluateAll((els) => els.map((el) => el.getAttribute("data-message-id")!));
  for (const id of ids) expect(await mediaHash(hugo.app.page, id)).toBe(await mediaHash(page, id));

  // a file pasted into the composer, then a file dropped on it: each waits in the list, goes on Send
  const pasted = fileBytes(70_000, 3);
  const dropped = fileBytes(45_000, 11);
  await gina.app.composer.evaluate(
    (el, f) => {
      const data = new DataTransfer();
      data.items.add(new File([Uint8Array.from({ length: f.length }, (_, i) => (i * 31 + f.seed) & 0xff)], f.name, { type: "application/pdf" }));
      el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    },
    { name: TEXT.composePastedName, length: pasted.length, seed: 3 },
  );
  await expect(toSend).toContainText(TEXT.composePastedName);
  await page.getByRole("button", { name: "Send" }).click();
  await gina.app.composer.evaluate(
    (el, f) => {
      const data = new DataTransfer();
      data.items.add(new File([Uint8Array.from({ length: f.length }, (_, i) => (i * 31 + f.seed) & 0xff)], f.name, { type: "text/csv" }));
      el.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
      el.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    },
    { name: TEXT.composeDroppedName, length: dropped.length, seed: 11 },
  );
  await expect(toSend).toContainText(TEXT.composeDroppedName);
  await page.getByRole("button", { name: "Send" }).click();
  for (const [name, bytes] of [[TEXT.composePastedName, pasted], [TEXT.composeDroppedName, dropped]] as const) {
    const bubble = hugo.app.messages.filter({ hasText: name });
    await bubble.getByRole("button", { name: "Download" }).click();
    await expect(bubble.getByRole("button", { name: "Save" })).toBeVisible();
    expect(await mediaHash(hugo.app.page, (await bubble.getAttribute("data-message-id"))!)).toBe(sha256(bytes));
  }

  // the relay appends to a blob only for the holder of its upload token: none, or a made-up one, is
  // refused, and the blob is as it was
  const mine = gina.app.messages.filter({ hasText: TEXT.composePastedName });
  await expect(mine).toContainText(/Delivered|Read/);
  const blobId = await blobIdOf(page, (await mine.getAttribute("data-message-id"))!);
  const attempts = await page.evaluate(async (id) => {
    const url = `/blobs/${id}`;
    const before = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const patch = (headers: Record<string, string>) => fetch(url, { method: "PATCH", headers: { "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream", ...headers }, body: new Uint8Array(100) }).then((r) => r.status);
    const none = await patch({});
    const madeUp = await patch({ Authorization: `Bearer ${"A".repeat(43)}` });
    const after = new Uint8Array(await (await fetch(url)).arrayBuffer());
    return { none, madeUp, same: before.length > 0 && before.length === after.length && before.every((b, i) => b === after[i]) };
  }, blobId);
  expect(attempts).toEqual({ none: 401, madeUp: 401, same: true });
});
