// Steps several specs share: sign up, and open a conversation that both sides can see.
import { expect } from "@playwright/test";
import { RUN } from "./fixtures";
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
