// A person's view of Junction, found the way a person (or a screen reader) finds things:
// by role and accessible name.
import { expect, type Locator, type Page } from "@playwright/test";

export type BrandName = "WhatsApp" | "Instagram" | "Messenger";

export class JunctionPage {
  constructor(readonly page: Page) {}

  async open(): Promise<void> {
    await this.page.goto("/");
  }

  // ---- accounts ----

  /** Fills the account form (first run, or the Add account dialog when already signed up). */
  async createAccount(brand: BrandName, handle: string, displayName: string): Promise<void> {
    const form = await this.accountForm();
    await form.getByRole("radiogroup", { name: "Brand" }).getByRole("radio", { name: brand }).check();
    await form.getByRole("textbox", { name: "Handle" }).fill(handle);
    await form.getByRole("textbox", { name: "Display name" }).fill(displayName);
    await form.getByRole("button", { name: "Create account" }).click();
    await expect(this.newMessageButton).toBeVisible();
    await expect(this.page.getByRole("dialog", { name: "Add account" })).toBeHidden();
  }

  private async accountForm(): Promise<Locator> {
    const create = this.page.getByRole("button", { name: "Create account" });
    const addAccount = this.page.getByRole("button", { name: "Add account" });
    await expect(create.or(addAccount).first()).toBeVisible();
    if (await create.isVisible()) return this.page.locator("body");
    await addAccount.click();
    const dialog = this.page.getByRole("dialog", { name: "Add account" });
    await expect(dialog).toBeVisible();
    return dialog;
  }

  // ---- inbox ----

  get newMessageButton(): Locator {
    return this.page.getByRole("button", { name: "New message" });
  }

  get conversations(): Locator {
    return this.page.getByRole("list", { name: "Conversations" });
  }

  /** The inbox row (a link) named by the peer's display name or address. */
  conversation(name: string): Locator {
    return this.conversations.getByRole("link", { name, exact: true });
  }

  /** A filter chip; a brand's chip is my account on that brand ("My WhatsApp"). */
  filter(name: "All" | BrandName | "Unread" | "Archived"): Locator {
    const label = name === "All" || name === "Unread" || name === "Archived" ? name : `My ${name}`;
    return this.page.getByRole("group", { name: "Filter conversations" }).getByRole("button", { name: label, exact: true });
  }

  /** The connection status in the top bar ("Online", "Offline", "Connecting…"). */
  get status(): Locator {
    return this.page.getByRole("status", { name: "Connection" });
  }

  /** Opens a row's "Conversation actions" menu and picks an item (Pin, Unpin, Archive, Mute…). */
  async conversationAction(name: string, item: string): Promise<void> {
    const row = this.conversations.getByRole("listitem").filter({ has: this.page.getByRole("link", { name, exact: true }) });
    await row.hover();
    await row.getByRole("button", { name: "Conversation actions" }).click();
    await this.page.getByRole("menu", { name: "Conversation actions" }).getByRole("menuitem", { name: item, exact: true }).click();
  }

  /** The status line under the peer's name in the conversation header ("typing…"). */
  get typingStatus(): Locator {
    return this.page.getByRole("status").filter({ hasText: "typing…" });
  }

  /** New message → From (my account on a brand) → To → Start chat. */
  async startChat(from: BrandName, to: string): Promise<void> {
    await this.newMessageButton.click();
    const dialog = this.page.getByRole("dialog", { name: "New message" });
    await expect(dialog).toBeVisible();
    const fromSelect = dialog.getByLabel("From");
    const option = fromSelect.locator("option", { hasText: from });
    await fromSelect.selectOption({ label: (await option.first().textContent()) ?? from });
    await dialog.getByRole("textbox", { name: "To" }).fill(to);
    await dialog.getByRole("button", { name: "Start chat" }).click();
    await expect(dialog).toBeHidden();
    await expect(this.composer).toBeVisible();
  }

  async openConversation(name: string): Promise<void> {
    await this.conversation(name).click();
    await expect(this.composer).toBeVisible();
  }

  // ---- conversation ----

  get composer(): Locator {
    return this.page.getByRole("textbox", { name: "Message" });
  }

  get log(): Locator {
    return this.page.getByRole("log", { name: "Messages" });
  }

  /** Every message bubble in the log, in display order. */
  get messages(): Locator {
    return this.log.getByRole("article");
  }

  /** The bubble whose text is exactly `text`. */
  message(text: string): Locator {
    return this.messages.filter({ has: this.page.getByText(text, { exact: true }) });
  }

  async send(text: string): Promise<void> {
    await this.composer.fill(text);
    await this.page.getByRole("button", { name: "Send" }).click();
    await expect(this.message(text)).toHaveCount(1);
  }

  /** Opens the "Message actions" menu of the bubble `message` and returns the menu. */
  async messageActions(message: Locator): Promise<Locator> {
    await message.hover();
    await message.getByRole("button", { name: "Message actions" }).click();
    const menu = this.page.getByRole("menu", { name: "Message actions" });
    await expect(menu).toBeVisible();
    return menu;
  }

  /** Message actions → `item` on the bubble `message`. */
  async messageAction(message: Locator, item: "Reply" | "React" | "Edit" | "Delete" | "Copy" | "Info"): Promise<void> {
    const menu = await this.messageActions(message);
    await menu.getByRole("menuitem", { name: item, exact: true }).click();
  }

  /** Message actions → React → `emoji` on the bubble `message`. */
  async react(message: Locator, emoji: string): Promise<void> {
    await this.messageAction(message, "React");
    await this.page.getByRole("dialog", { name: "React" }).getByRole("button", { name: emoji, exact: true }).click();
    await expect(this.page.getByRole("dialog", { name: "React" })).toHaveCount(0);
  }

  /** Opens Settings from the top bar. */
  async openSettings(): Promise<Locator> {
    await this.page.getByRole("button", { name: "Settings", exact: true }).click();
    const dialog = this.page.getByRole("dialog", { name: "Settings" });
    await expect(dialog).toBeVisible();
    return dialog;
  }

  /** The placeholder bubbles for a message that could not be decrypted yet. */
  get waitingMessages(): Locator {
    return this.messages.filter({ has: this.page.getByText("Waiting for this message…", { exact: true }) });
  }

  /** The Retry button under my message `text` that was not sent. */
  retryButton(text: string): Locator {
    return this.message(text).getByRole("button", { name: "Retry", exact: true });
  }

  /** The notice shown while a verified contact's new safety number waits for my acceptance. */
  get safetyNumberChanged(): Locator {
    return this.page.getByRole("region", { name: "Safety number changed" });
  }

  /** Opens the Diagnostics dialog from the top bar. */
  async openDiagnostics(): Promise<Locator> {
    await this.page.getByRole("button", { name: "Diagnostics", exact: true }).click();
    const dialog = this.page.getByRole("dialog", { name: "Diagnostics" });
    await expect(dialog).toBeVisible();
    return dialog;
  }

  /** Types and sends without waiting for the bubble (for bursts). */
  async sendQuickly(text: string): Promise<void> {
    await this.composer.fill(text);
    await this.composer.press("Enter");
  }

  /** The lines of every bubble in the log, in order; a bubble's own text is one of its lines. */
  async bubbleLines(): Promise<string[][]> {
    const texts = await this.messages.allInnerTexts();
    return texts.map((t) => t.split("\n").map((line) => line.trim()));
  }

  /** Asserts that each text appears in exactly one bubble and that they appear in this order. */
  async expectMessagesInOrder(texts: readonly string[]): Promise<void> {
    await expect(async () => {
      const bubbles = await this.bubbleLines();
      const positions = texts.map((text) => {
        const hits = bubbles.flatMap((lines, i) => (lines.includes(text) ? [i] : []));
        expect(hits, `"${text}" shown exactly once`).toHaveLength(1);
        return hits[0] ?? -1;
      });
      expect(positions, "messages in the order they were written").toEqual([...positions].sort((a, b) => a - b));
    }).toPass();
  }
}
