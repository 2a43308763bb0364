// How message text is shown: http(s) links open in a new tab and nothing else is a link,
// right-to-left text runs right to left, emoji-only messages are larger, a run of messages shows one
// time; and opening a chat puts the cursor in the message box, Escape closes it on a wide screen.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("links, right-to-left text, emoji-only messages, runs, focus and Escape", async ({ person }) => {
  const ivy = await person();
  const jon = await person();
  const h = handles("text");
  await Promise.all([ivy.app.createAccount("Instagram", h.instagram, NAMES.ivy), jon.app.createAccount("Messenger", h.messenger, NAMES.jon)]);
  await converse(ivy.app, "Instagram", NAMES.ivy, jon.app, address("Messenger", h.messenger), TEXT.textSetup);

  for (const text of [TEXT.rtl, TEXT.ltrAfterRtl, TEXT.links, TEXT.emojiOnly]) await ivy.app.send(text);
  const app = jon.app;
  await expect(app.message(TEXT.emojiOnly)).toBeVisible();

  // right to left where the text is, left to right elsewhere
  const direction = (text: string) => app.log.getByText(text, { exact: true }).evaluate((el) => getComputedStyle(el).direction);
  expect(await direction(TEXT.rtl)).toBe("rtl");
  expect(await direction(TEXT.ltrAfterRtl)).toBe("ltr");
  await expect(app.composer).toHaveAttribute("dir", "auto");

  // the https link is a real link that opens in a new tab without handing over the opener
  const bubble = app.messages.filter({ hasText: "Docs at" });
  const link = bubble.getByRole("link", { name: "https://example.com/guide?page=2" });
  await expect(link).toHaveAttribute("href", "https://example.com/guide?page=2");
  await expect(link).toHaveAttribute("target", "_blank");
  await expect(link).toHaveAttribute("rel", "noopener noreferrer");
  // javascript: is text, not a link, and its words are all still there
  await expect(bubble.getByRole("link")).toHaveCount(1);
  await expect(bubble).toContainText("javascript:alert(document.domain)");
  await expect(app.log.locator('a[href^="javascript:"]')).toHaveCount(0);

  // emoji-only is shown larger than ordinary text
  const size = (text: string) => app.log.getByText(text, { exact: true }).evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(await size(TEXT.emojiOnly)).toBeGreaterThan((await size(TEXT.ltrAfterRtl)) * 1.5);

  // a run of messages from one side shows one time, at its end
  await ivy.app.send(TEXT.runFirst);
  await ivy.app.send(TEXT.runSecond);
  await expect(app.message(TEXT.runSecond)).toBeVisible();
  const timeWidth = (text: string) => app.message(text).locator("time").evaluate((el) => el.getBoundingClientRect().width);
  expect(await timeWidth(TEXT.runFirst)).toBeLessThanOrEqual(1);
  expect(await timeWidth(TEXT.runSecond)).toBeGreaterThan(10);
  // the hidden time is still there for screen readers
  await expect(app.message(TEXT.runFirst).locator("time")).toHaveCount(1);

  // on a wide screen Escape closes the conversation; opening one puts the cursor in the message box
  await app.page.keyboard.press("Escape");
  await expect(app.composer).toHaveCount(0);
  await expect(app.page.getByText("Choose a conversation")).toBeVisible();
  await app.openConversation(NAMES.ivy);
  await expect(app.composer).toBeFocused();
  // the inbox preview follows the text's own direction too
  await ivy.app.send(TEXT.rtlPreview);
  await app.page.keyboard.press("Escape");
  await expect(app.conversation(NAMES.ivy)).toBeVisible();
  const preview = app.conversations.getByText(TEXT.rtlPreview, { exact: true });
  expect(await preview.evaluate((el) => getComputedStyle(el).direction)).toBe("rtl");
});
