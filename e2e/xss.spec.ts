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
  // Shift+Enter is a new line inside one message, Enter sends it; both lines arrive as text
  await jon.app.composer.click();
  await jon.app.page.keyboard.type(TEXT.multiline[0]);
  await jon.app.page.keyboard.press("Shift+Enter");
  await jon.app.page.keyboard.type(TEXT.multiline[1]);
  await jon.app.page.keyboard.press("Enter");
  await expect(jon.app.composer).toHaveValue("");
  await expect(erin.app.message(TEXT.multiline.join("\n"))).toHaveCount(1);

  // the inbox preview is text as well
  await erin.app.send(TEXT.xssLast);
  await expect(erin.app.conversation(NAMES.jon)).toHaveAccessibleDescription(new RegExp(TEXT.xssLast.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  // and behind that, a nonce-based CSP: injected markup could not run script even if it were parsed
  const response = await erin.app.page.request.get("/");
  const csp = response.headers()["content-security-policy"] ?? "";
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
  expect(csp).not.toContain("unsafe-eval");
  expect(csp).toContain("object-src 'none'");
  await expect(jon.app.message(TEXT.xssLast)).toBeVisible();
  await jon.app.message(TEXT.xssLast).hover();
  await expect(jon.app.log.locator("script, b, img")).toHaveCount(0);
  expect(await jon.app.page.evaluate(() => window.__pwned)).toBeUndefined();
  await erin.app.page.reload();
  await expect(erin.app.message(TEXT.xss)).toBeVisible();
  expect(await erin.app.page.evaluate(() => window.__pwned)).toBeUndefined();

  // The first screen kept for the next start (painted from local storage by an inline script, before any of
  // the app's scripts) holds that preview as text too: inert, hidden from assistive technology, nothing run.
  // The app takes it away as soon as its own inbox is there, so the test records it as it is added.
  const page = jon.app.page;
  await expect.poll(() => page.evaluate(() => localStorage.getItem("junction:firstScreen")?.includes("__pwned=2") ?? false)).toBe(true);
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      const node = document.getElementById("junction-first-screen");
      if (!node || !node.hasChildNodes()) return;
      (window as unknown as { __firstScreen?: unknown }).__firstScreen = {
        ariaHidden: node.getAttribute("aria-hidden"),
        inert: node.inert,
        text: node.textContent,
        markup: node.querySelectorAll("script, b, img, [onmouseover], [onerror]").length,
        rows: node.querySelectorAll('[role="list"][aria-label="Conversations"] li').length,
      };
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });
  });
  await page.reload();
  await expect(jon.app.conversation(NAMES.erin)).toBeVisible();
  const seen = (await page.evaluate(() => (window as unknown as { __firstScreen?: unknown }).__firstScreen)) as
    | { ariaHidden: string | null; inert: boolean; text: string; markup: number; rows: number }
    | undefined;
  expect(seen).toMatchObject({ ariaHidden: "true", inert: true, markup: 0, rows: 1 });
  expect(seen?.text).toContain(NAMES.erin);
  expect(seen?.text).toContain("<script>window.__pwned=2</script>");
  expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  // the real inbox took over and the copy is gone
  await expect(page.locator("#junction-first-screen")).toBeEmpty();
  await expect(page.locator("#junction-first-screen")).not.toHaveAttribute("aria-hidden", "true");
});
