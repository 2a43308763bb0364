// Each person is a separate browser context (own IndexedDB, own worker, own device keys).
import { expect, test as base, type BrowserContextOptions } from "@playwright/test";
import { JunctionPage } from "./pages/app";

export interface Person {
  app: JunctionPage;
  /** Another tab of the same person (same context, same device). */
  newTab(): Promise<JunctionPage>;
}

type MakePerson = (options?: BrowserContextOptions) => Promise<Person>;

export const test = base.extend<{ person: MakePerson }>({
  person: async ({ browser }, use) => {
    const contexts: Awaited<ReturnType<typeof browser.newContext>>[] = [];
    const violations: string[] = [];
    await use(async (options) => {
      const context = await browser.newContext(options);
      contexts.push(context);
      // the app must run entirely within its CSP: a blocked script or style is a bug, not noise; so is a
      // hydration mismatch (React's production errors 418–425), e.g. from the early first screen
      context.on("console", (message) => {
        if (message.type() === "error" && /Content.Security.Policy|hydrat|Minified React error #4(1[89]|2[0-5])\b/i.test(message.text())) violations.push(message.text());
      });
      context.on("weberror", (error) => {
        if (/hydrat|Minified React error #4(1[89]|2[0-5])\b/i.test(error.error().message)) violations.push(error.error().message);
      });
      const page = await context.newPage();
      const app = new JunctionPage(page);
      await app.open();
      return {
        app,
        async newTab() {
          const tab = new JunctionPage(await context.newPage());
          await tab.open();
          return tab;
        },
      };
    });
    await Promise.all(contexts.map((c) => c.close()));
    expect(violations, "CSP violations and hydration mismatches").toEqual([]);
  },
});

export { expect } from "@playwright/test";

/** Distinguishes this run's handles from earlier runs' so a reused relay never answers "taken". */
export const RUN = Date.now().toString(36).slice(-5);
