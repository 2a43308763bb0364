// Search above the inbox: finds an English word, a Japanese word inside a sentence, a word with accents
// typed without them, a prefix as it is typed, and a conversation by name; choosing a result opens an old
// message in its context (older pages loaded); the keyboard works; many hits come a screenful at a time; an
// expired disappearing message is not found. Ivy writes from Instagram, Jon reads on WhatsApp.
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { patchConversation, putRows } from "./idb";
import { NAMES, TEXT } from "./plaintexts";

/** Older messages than a conversation opens with (its first page is 200): the oldest is found by search. */
const SEEDED = 260;
const UNICORN = "An old story about a unicorn in the orchard";

function searchBox(page: Page) {
  return page.getByRole("searchbox", { name: "Search" });
}

function results(page: Page) {
  return page.getByRole("list", { name: "Search results" });
}

async function search(page: Page, query: string) {
  await searchBox(page).fill(query);
  return results(page);
}

test("search finds words in every script, prefixes and names, and opens an old message in context", async ({ person }) => {
  const ivy = await person();
  const jon = await person();
  const h = handles("search");
  await Promise.all([ivy.app.createAccount("Instagram", h.instagram, NAMES.ivy), jon.app.createAccount("WhatsApp", h.whatsapp, NAMES.jon)]);
  const ivyAddress = address("Instagram", h.instagram);
  const jonAddress = address("WhatsApp", h.whatsapp);
  await converse(ivy.app, "Instagram", NAMES.ivy, jon.app, jonAddress, TEXT.searchSetup);
  for (const text of [TEXT.searchEnglish, TEXT.searchJapanese, TEXT.searchAccent]) await ivy.app.send(text);
  await expect(jon.app.message(TEXT.searchAccent)).toBeVisible();
  const page = jon.app.page;

  // an English word; the match is marked
  let list = await search(page, "windmill");
  await expect(list.getByRole("link", { name: new RegExp(TEXT.searchEnglish.replace(/'/g, ".")) })).toBeVisible();
  await expect(list.locator("mark")).toHaveText(["windmill"]);
  // the results are grouped under the conversation's name
  await expect(list.getByRole("heading", { name: NAMES.ivy })).toBeVisible();

  // a Japanese word inside a sentence written without spaces
  list = await search(page, "東京");
  await expect(list.getByRole("link", { name: /私は東京に住んでいます/ })).toBeVisible();
  await expect(list.locator("mark")).toHaveText(["東京"]);

  // accents typed without them; the text shows as written
  list = await search(page, "creme brulee");
  await expect(list.getByRole("link", { name: /crème brûlée/ })).toBeVisible();
  await expect(list.locator("mark")).toHaveText(["crème", "brûlée"]);

  // a prefix, as it is typed
  await searchBox(page).fill("");
  await searchBox(page).pressSequentially("wind");
  await expect(results(page).getByRole("link", { name: /old windmill/ })).toBeVisible();
  await expect(results(page).locator("mark")).toHaveText(["wind"]);

  // a word nowhere: the empty state
  await search(page, "xylophone");
  await expect(page.getByRole("status").filter({ hasText: "No results" })).toBeVisible();
  await expect(results(page).getByRole("link")).toHaveCount(0);

  // the conversation by the person's name
  list = await search(page, NAMES.ivy.split(" ")[0]!.toLowerCase());
  await expect(list.getByRole("link", { name: new RegExp(NAMES.ivy) })).toBeVisible();

  // Escape clears the search and the inbox is back
  await searchBox(page).press("Escape");
  await expect(searchBox(page)).toHaveValue("");
  await expect(results(page)).toHaveCount(0);
  await expect(jon.app.conversation(NAMES.ivy)).toBeVisible();

  // keyboard: ↓ from the box into the results, Enter opens
  await search(page, "brul");
  await expect(results(page).getByRole("link")).toHaveCount(1);
  await searchBox(page).press("ArrowDown");
  await expect(results(page).getByRole("link").first()).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(jon.app.message(TEXT.searchAccent)).toBeInViewport();

  // Old history, stored before this build indexed anything (as a database from an earlier version holds
  // it): the worker indexes it in the background after the next start.
  const conversationId = `${jonAddress}|${ivyAddress}`;
  const start = Date.now() - 40 * 24 * 60 * 60_000;
  await putRows(
    page,
    "messages",
    Array.from({ length: SEEDED }, (_, i) => ({
      id: `seeded-${String(i).padStart(4, "0")}`,
      conversationId,
      direction: "in",
      author: ivyAddress,
      text: i === 0 ? UNICORN : `Older line ${i}: the river keeps going`,
      sentAt: start + i * 60_000,
      receivedAt: start + i * 60_000,
      state: "read",
      readAt: start + i * 60_000,
      sentToRelayAt: null,
      deliveredAt: null,
    })),
  );
  await putRows(page, "meta", [{ key: "searchBackfill", value: "" }]);
  await page.reload();
  await expect(jon.app.conversation(NAMES.ivy)).toBeVisible();
  list = await search(page, "unicorn");
  await expect(list.getByRole("link", { name: /unicorn/ })).toBeVisible();
  await list.getByRole("link", { name: /unicorn/ }).click();
  // it opens at that message, far above the newest page, and highlights it
  const old = jon.app.message(UNICORN);
  await expect(old).toHaveAttribute("data-highlighted", "true");
  await expect(old).toBeInViewport();
  await expect(jon.app.message(TEXT.searchAccent)).not.toBeInViewport();

  // a word in 259 of those: a screenful first, more each time the end of the results scrolls into view
  list = await search(page, "river");
  await expect(list.getByRole("link")).toHaveCount(20);
  await expect(page.getByRole("status").filter({ hasText: "20+ messages" })).toBeVisible();
  const more = page.getByRole("button", { name: "Show more messages" });
  await more.scrollIntoViewIfNeeded();
  await expect(list.getByRole("link")).toHaveCount(70);
  await expect(list.getByRole("link").first()).toHaveAccessibleName(/Older line 259:/);
  await expect(list.getByRole("link").last()).toHaveAccessibleName(/Older line 190:/);
  await more.scrollIntoViewIfNeeded();
  await expect(list.getByRole("link")).toHaveCount(120);
  await expect(page.getByRole("status").filter({ hasText: "120+ messages" })).toBeVisible();
});

test("an expired disappearing message is not found", async ({ person }) => {
  const ivy = await person();
  const jon = await person();
  const h = handles("findgone");
  await Promise.all([ivy.app.createAccount("Instagram", h.instagram, NAMES.ivy), jon.app.createAccount("WhatsApp", h.whatsapp, NAMES.jon)]);
  const ivyAddress = address("Instagram", h.instagram);
  const jonAddress = address("WhatsApp", h.whatsapp);
  await converse(ivy.app, "Instagram", NAMES.ivy, jon.app, jonAddress, TEXT.searchSetup);

  // a timer of a few seconds, which the dialog does not offer, staged as the engine keeps it
  await patchConversation(ivy.app.page, `${ivyAddress}|${jonAddress}`, { expiresInMs: 8_000 });
  await ivy.app.page.reload();
  await expect(ivy.app.composer).toBeVisible();
  await ivy.app.send(TEXT.searchVanish);
  await expect(jon.app.message(TEXT.searchVanish)).toBeVisible();

  // found while it lasts
  const page = jon.app.page;
  let list = await search(page, "zeppelin");
  await expect(list.getByRole("link", { name: /violet zeppelin/ })).toBeVisible();
  await searchBox(page).fill("");

  // gone from the log, and from search
  await expect(jon.app.message(TEXT.searchVanish)).toHaveCount(0, { timeout: 30_000 });
  list = await search(page, "zeppelin");
  await expect(page.getByRole("status").filter({ hasText: "No results" })).toBeVisible();
  await expect(list.getByRole("link")).toHaveCount(0);
  // what did not disappear is still found
  list = await search(page, "marble");
  await expect(list.getByRole("link", { name: /marble staircase/ })).toBeVisible();
});
