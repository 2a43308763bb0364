// Each person is a separate browser context (own IndexedDB, own worker, own device keys).
import { test as base, type BrowserContextOptions } from "@playwright/test";
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
    await use(async (options) => {
      const context = await browser.newContext(options);
      contexts.push(context);
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
  },
});

export { expect } from "@playwright/test";

/** Distinguishes this run's handles from earlier runs' so a reused relay never answers "taken". */
export const RUN = Date.now().toString(36).slice(-5);
