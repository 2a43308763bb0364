// Tests 1 and 2: two people on two brands talk, then both reload and carry on in the same sessions.
import { expect, test, type Browser, type BrowserContext } from "@playwright/test";
import { storeKeys } from "./idb";
import { JunctionPage } from "./pages/app";
import { NAMES, TEXT } from "./plaintexts";

const ALICE = "messenger:alice.smith";
const BOB = "whatsapp:+15551234567";

test.describe.configure({ mode: "serial" });

let contexts: BrowserContext[] = [];
let alice: JunctionPage;
let bob: JunctionPage;

async function open(browser: Browser): Promise<JunctionPage> {
  const context = await browser.newContext();
  contexts.push(context);
  const app = new JunctionPage(await context.newPage());
  await app.open();
  return app;
}

test.beforeAll(async ({ browser }) => {
  alice = await open(browser);
  bob = await open(browser);
});

test.afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  contexts = [];
});

test("1. Messenger writes to WhatsApp, WhatsApp replies, and the first message is delivered", async () => {
  await alice.createAccount("Messenger", "alice.smith", NAMES.alice);
  await bob.createAccount("WhatsApp", "+15551234567", NAMES.bob);
  await expect(alice.conversations.getByRole("listitem")).toHaveCount(0);
  await expect(alice.page.getByText("No conversations yet")).toBeVisible();

  await alice.startChat("Messenger", BOB);
  await alice.send(TEXT.aliceHello);

  // Bob's inbox names Alice as she named herself, with her brand and his
  const row = bob.conversation(NAMES.alice);
  await expect(row).toBeVisible();
  await expect(row).toHaveAccessibleDescription(/^On Messenger, with your WhatsApp account \+15551234567\./);
  await expect(row).toHaveAccessibleDescription(/1 unread/);
  await expect(bob.page).toHaveTitle("(1) Junction");

  await bob.openConversation(NAMES.alice);
  await expect(bob.message(TEXT.aliceHello)).toBeVisible();
  // the header names her, her address and brand, and which of Bob's accounts she wrote to
  await expect(bob.page.getByRole("heading", { name: NAMES.alice })).toBeVisible();
  await expect(bob.page.getByText(ALICE, { exact: true })).toBeVisible();
  await expect(bob.page).toHaveTitle("Junction");
  await bob.send(TEXT.bobReply);

  await expect(alice.message(TEXT.bobReply)).toBeVisible();
  await alice.expectMessagesInOrder([TEXT.aliceHello, TEXT.bobReply]);
  await bob.expectMessagesInOrder([TEXT.aliceHello, TEXT.bobReply]);

  // delivered = Bob's device decrypted it and said so in an encrypted receipt
  await expect(alice.message(TEXT.aliceHello)).toContainText(/Delivered|Read/);
  await expect(bob.message(TEXT.bobReply)).toContainText(/Sent|Delivered|Read/);
  // once Bob has replied, Alice's inbox knows his name too
  await expect(alice.conversation(NAMES.bob)).toHaveAccessibleDescription(/^On WhatsApp, with your Messenger account alice\.smith\./);
});

test("2. after both reload, history and states persist and messages flow in the same sessions", async () => {
  const sessionsBefore = { alice: await storeKeys(alice.page, "sessions"), bob: await storeKeys(bob.page, "sessions") };
  expect(sessionsBefore.alice.length).toBeGreaterThan(0);
  expect(sessionsBefore.bob.length).toBeGreaterThan(0);

  await Promise.all([alice.page.reload(), bob.page.reload()]);

  // the open conversation is in the URL, so the reload lands back in it
  await expect(alice.composer).toBeVisible();
  await expect(bob.composer).toBeVisible();
  await alice.expectMessagesInOrder([TEXT.aliceHello, TEXT.bobReply]);
  await bob.expectMessagesInOrder([TEXT.aliceHello, TEXT.bobReply]);
  await expect(alice.message(TEXT.aliceHello)).toContainText(/Delivered|Read/);
  await expect(alice.status).toHaveText("Online");
  await expect(bob.status).toHaveText("Online");

  await alice.send(TEXT.aliceAfterReload);
  await expect(bob.message(TEXT.aliceAfterReload)).toBeVisible();
  await bob.send(TEXT.bobAfterReload);
  await expect(alice.message(TEXT.bobAfterReload)).toBeVisible();
  await expect(alice.message(TEXT.aliceAfterReload)).toContainText(/Delivered|Read/);

  const order = [TEXT.aliceHello, TEXT.bobReply, TEXT.aliceAfterReload, TEXT.bobAfterReload];
  await alice.expectMessagesInOrder(order);
  await bob.expectMessagesInOrder(order);

  // no new session was set up on either side, and nothing warns of a changed identity
  expect(await storeKeys(alice.page, "sessions")).toEqual(sessionsBefore.alice);
  expect(await storeKeys(bob.page, "sessions")).toEqual(sessionsBefore.bob);
  await expect(alice.page.getByText(/safety number with .* has changed/)).toHaveCount(0);
});

test("safety numbers: both sides see the same 60 digits and a QR code, and can mark each other verified", async () => {
  const digitsOf = async (app: JunctionPage): Promise<string> => {
    await app.page.getByRole("button", { name: "Safety number" }).click();
    const dialog = app.page.getByRole("dialog", { name: "Safety number" });
    await expect(dialog.getByRole("img", { name: /QR code of the safety number/ })).toBeVisible();
    const text = (await dialog.getByText(/^Safety number: /).textContent()) ?? "";
    return text.replace(/\D/g, "");
  };
  const aliceDigits = await digitsOf(alice);
  const bobDigits = await digitsOf(bob);
  expect(aliceDigits).toMatch(/^\d{60}$/);
  expect(bobDigits).toBe(aliceDigits);

  const dialog = alice.page.getByRole("dialog", { name: "Safety number" });
  await dialog.getByRole("button", { name: "Mark as verified" }).click();
  await expect(dialog.getByRole("button", { name: "Clear verification" })).toBeVisible();
  await alice.page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(alice.page.getByRole("heading", { name: NAMES.bob })).toContainText("Verified");
  // verification is Alice's own judgement: it survives a reload and does not touch Bob's side
  await alice.page.reload();
  await expect(alice.page.getByRole("heading", { name: NAMES.bob })).toContainText("Verified");
  await bob.page.keyboard.press("Escape");
  await expect(bob.page.getByRole("heading", { name: NAMES.alice })).not.toContainText("Verified");
});
