// Steps several specs share: sign up, and open a conversation that both sides can see.
import { expect } from "@playwright/test";
import { RUN } from "./fixtures";
import type { Locator } from "@playwright/test";
import type { BrandName, JunctionPage } from "./pages/app";

let counter = 0;

/** Fresh handles per call, valid under each brand's rule, unique across runs. */
export function handles(label: string): { whatsapp: string; instagram: string; messenger: string } {
  counter += 1;
  const digits = (parseInt(RUN, 36) % 1_000_000).toString().padStart(6, "0");
  return {
    whatsapp: `+1555${digits}${String(counter).padStart(2, "0")}`,
    instagram: `@${label}_${RUN}${counter}`,
    messenger: `${label}.${RUN}${counter}`,
  };
}

export const ADDRESS_BRAND: Record<BrandName, string> = { WhatsApp: "whatsapp", Instagram: "instagram", Messenger: "messenger" };

export function address(brand: BrandName, handle: string): string {
  return `${ADDRESS_BRAND[brand]}:${handle}`;
}

/**
 * `from` opens a chat with `to`'s address and writes `text`; `to` sees the conversation under
 * `fromName` and opens it. Both end inside the conversation.
 */
export async function converse(
  from: JunctionPage,
  fromBrand: BrandName,
  fromName: string,
  to: JunctionPage,
  toAddress: string,
  text: string,
): Promise<void> {
  await from.startChat(fromBrand, toAddress);
  await from.send(text);
  await expect(to.conversation(fromName)).toBeVisible();
  await to.openConversation(fromName);
  await expect(to.message(text)).toBeVisible();
  await expect(from.message(text)).toContainText(/Delivered|Read/);
}

/**
 * `app` attaches and sends a file while the relay takes only its first upload request (the others wait on a
 * route until release()): the message's "Uploading" bar is seen part way, above 0 and under 100. unhold()
 * takes the route away.
 */
export async function sendFileSeenUploading(
  app: JunctionPage,
  name: string,
  buffer: Buffer,
): Promise<{ mine: Locator; uploading: Locator; release(): void; unhold(): Promise<void> }> {
  let patches = 0;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await app.page.context().route("**/blobs/*", async (route) => {
    if (route.request().method() === "PATCH" && ++patches > 1) await held;
    await route.continue().catch(() => undefined);
  });
  await app.page.getByLabel("Attach files").setInputFiles({ name, mimeType: "application/octet-stream", buffer });
  await app.page.getByRole("button", { name: "Send" }).click();
  const mine = app.messages.filter({ hasText: name });
  const uploading = mine.getByRole("progressbar", { name: "Uploading" });
  await expect.poll(async () => Number(await uploading.getAttribute("aria-valuenow"))).toBeGreaterThan(0);
  expect(Number(await uploading.getAttribute("aria-valuenow"))).toBeLessThan(100);
  return { mine, uploading, release, unhold: () => app.page.context().unroute("**/blobs/*") };
}
