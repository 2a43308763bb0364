// Test 8: Chromium considers the app installable (manifest, icons, service worker, secure origin).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, expect, test } from "@playwright/test";
import { BASE_URL, CHROMIUM_ARGS, CHROMIUM_PATH } from "./env";

test("8. the app is installable", async () => {
  // installability is judged only for a persistent profile, never for an incognito context
  const profile = await mkdtemp(join(tmpdir(), "junction-install-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    // without engagement (minutes of use) Chromium never offers installation; the test cannot wait for that
    args: [...CHROMIUM_ARGS, "--bypass-app-banner-engagement-checks"],
    baseURL: BASE_URL,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto("/");
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);

    const cdp = await context.newCDPSession(page);
    await expect
      .poll(async () => {
        const { installabilityErrors } = (await cdp.send("Page.getInstallabilityErrors")) as {
          installabilityErrors: { errorId: string }[];
        };
        return installabilityErrors.map((e) => e.errorId);
      })
      .toEqual([]);

    const manifest = (await cdp.send("Page.getAppManifest")) as { url: string; errors: unknown[]; data?: string };
    expect(manifest.errors).toEqual([]);
    const data = JSON.parse(manifest.data ?? "{}") as { name?: string; display?: string; icons?: { sizes: string; purpose?: string }[] };
    expect(data.name).toBe("Junction");
    expect(data.display).toBe("standalone");
    const icons = data.icons ?? [];
    for (const size of ["192x192", "512x512"]) {
      expect(icons.some((i) => i.sizes === size && (i.purpose ?? "any").includes("any"))).toBe(true);
      expect(icons.some((i) => i.sizes === size && i.purpose?.includes("maskable"))).toBe(true);
    }
    // every icon is a real PNG of the size it claims
    for (const icon of icons as { src: string; sizes: string }[]) {
      const response = await page.request.get(icon.src);
      expect(response.ok()).toBe(true);
      const png = await response.body();
      expect(png.subarray(1, 4).toString("ascii")).toBe("PNG");
      expect(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`).toBe(icon.sizes);
    }

    // the browser offers installation, so the app shows its own Install button
    await expect(page.getByRole("button", { name: "Install" })).toBeVisible();
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
