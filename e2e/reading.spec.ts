// A long backlog opens at the first unread message under "N unread messages"; only what has been on
// screen counts as read; "Jump to latest" carries the count of what is still unread below.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("opens at the first unread message, marks read only what was seen, and jumps to the latest", async ({ person }) => {
  const gina = await person();
  const hugo = await person();
  const h = handles("reading");
  await Promise.all([gina.app.createAccount("WhatsApp", h.whatsapp, NAMES.gina), hugo.app.createAccount("Instagram", h.instagram, NAMES.hugo)]);
  await converse(gina.app, "WhatsApp", NAMES.gina, hugo.app, address("Instagram", h.instagram), TEXT.readingSetup);
  await hugo.app.page.keyboard.press("Escape");
  await expect(hugo.app.composer).toHaveCount(0);

  for (const line of TEXT.readingBacklog) await gina.app.sendQuickly(line);
  const row = hugo.app.conversation(NAMES.gina);
  await expect(row).toHaveAccessibleDescription(new RegExp(`${TEXT.readingBacklog.length} unread`));

  await hugo.app.openConversation(NAMES.gina);
  const app = hugo.app;
  await expect(app.log.getByText(`${TEXT.readingBacklog.length} unread messages`)).toBeInViewport();
  await expect(app.message(TEXT.readingBacklog[0]!)).toBeInViewport();
  await expect(app.message(TEXT.readingBacklog.at(-1)!)).not.toBeInViewport();
  // only what was on screen is read: some, not all
  await expect(row).not.toHaveAccessibleDescription(new RegExp(`${TEXT.readingBacklog.length} unread`));
  await expect(row).toHaveAccessibleDescription(/\d+ unread/);
  // Gina's side: the newest is only delivered, the oldest (scrolled to) read
  await expect(gina.app.message(TEXT.readingBacklog.at(-1)!)).toContainText(/Delivered$/);
  await gina.app.log.evaluate((el) => el.scrollTo({ top: 0 }));
  await expect(gina.app.message(TEXT.readingBacklog[0]!)).toContainText(/Read$/);
  await gina.app.log.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));

  // "Jump to latest" says how many are still unread below
  const jump = app.page.getByRole("button", { name: /^Jump to latest/ });
  await expect(jump).toHaveAccessibleName(/^Jump to latest, \d+ new$/);
  await gina.app.send(TEXT.readingLate);
  await expect(app.message(TEXT.readingLate)).not.toBeInViewport();
  await jump.click();
  await expect(app.message(TEXT.readingLate)).toBeInViewport();
  await expect(jump).toHaveCount(0);
  await expect(row).not.toHaveAccessibleDescription(/unread/);
  await expect(gina.app.message(TEXT.readingLate)).toContainText(/Read$/);
});
