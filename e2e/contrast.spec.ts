// Every text at WCAG AA contrast, in light and in dark: axe-core's color-contrast rule over the inbox
// and an open conversation with my (brand-tinted) bubbles and theirs, the unread line, a quote and a
// reaction-free bubble, the Settings dialog.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

interface Violation {
  id: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

async function contrastViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Violation[] }> } }).axe;
    return axe.run(document, { runOnly: { type: "rule", values: ["color-contrast"] }, resultTypes: ["violations"] });
  });
  return result.violations.flatMap((v) => v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary ?? v.id}`));
}

for (const scheme of ["light", "dark"] as const) {
  test(`every text meets AA contrast in ${scheme}`, async ({ person }) => {
    const carol = await person({ colorScheme: scheme });
    const dave = await person({ colorScheme: scheme });
    const h = handles(`contrast${scheme}`);
    await Promise.all([carol.app.createAccount("WhatsApp", h.whatsapp, NAMES.carol), dave.app.createAccount("Instagram", h.instagram, NAMES.dave)]);
    await converse(carol.app, "WhatsApp", NAMES.carol, dave.app, address("Instagram", h.instagram), TEXT.textSetup);
    await dave.app.send(TEXT.links);
    await expect(carol.app.message(TEXT.links)).toBeVisible();
    // the theme really is the one asked for
    const dark = await carol.app.page.evaluate(() => document.documentElement.classList.contains("dark"));
    expect(dark).toBe(scheme === "dark");

    for (const app of [carol.app, dave.app]) {
      expect(await contrastViolations(app.page), "conversation").toEqual([]);
      // the menu of a message, then the inbox alone
      await app.messageActions(app.message(TEXT.textSetup));
      expect(await contrastViolations(app.page), "message actions").toEqual([]);
      await app.page.keyboard.press("Escape");
    }
    const settings = await carol.app.openSettings();
    expect(await contrastViolations(carol.app.page), "settings").toEqual([]);
    await settings.getByRole("button", { name: "Close" }).click();
    await carol.app.page.keyboard.press("Escape");
    await expect(carol.app.composer).toHaveCount(0);
    expect(await contrastViolations(carol.app.page), "inbox").toEqual([]);
    // search results, the match marked, and the empty state
    const search = carol.app.page.getByRole("searchbox", { name: "Search" });
    await search.fill("paper");
    await expect(carol.app.page.getByRole("list", { name: "Search results" }).locator("mark").first()).toBeVisible();
    expect(await contrastViolations(carol.app.page), "search results").toEqual([]);
    await search.fill("xylophone");
    await expect(carol.app.page.getByRole("status").filter({ hasText: "No results" })).toBeVisible();
    expect(await contrastViolations(carol.app.page), "no search results").toEqual([]);
  });
}
