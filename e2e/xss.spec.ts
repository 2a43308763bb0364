// Test 9: message text is shown as text. Markup from a peer never becomes DOM, let alone script.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

declare global {
  interface Window {
    __pwned?: number;
  }
}

test("9. a message made of HTML shows as text and runs nothing", async ({ person }) => {
  const jon = await person();
  const erin = await person();
  const h = handles("jon");
  await jon.app.createAccount("Messenger", h.messenger, NAMES.jon);
  await erin.app.createAccount("Instagram", h.instagram, NAMES.erin);
  await converse(jon.app, "Messenger", NAMES.jon, erin.app, address("Instagram", h.instagram), TEXT.xss);

  for (const app of [jon.app, erin.app]) {
    await expect(app.message(TEXT.xss)).toBeVisible();
    await expect(app.log.locator("img")).toHaveCount(0);
    expect(await app.page.evaluate(() => window.__pwned)).toBeUndefined();
  }
  // the inbox preview is text as well
  await expect(erin.app.conversation(NAMES.jon)).toHaveAccessibleDescription(new RegExp(TEXT.xss.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  // and behind that, a nonce-based CSP: injected markup could not run script even if it were parsed
  const response = await erin.app.page.request.get("/");
  const csp = response.headers()["content-security-policy"] ?? "";
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
  expect(csp).not.toContain("unsafe-eval");
  expect(csp).toContain("object-src 'none'");
  await erin.app.page.reload();
  await expect(erin.app.message(TEXT.xss)).toBeVisible();
  expect(await erin.app.page.evaluate(() => window.__pwned)).toBeUndefined();
});
