// PQXDH is mandatory. A relay that strips the ML-KEM prekeys from a bundle (to downgrade the session
// to classical X3DH) must get nothing: the sender refuses, the message shows "Not sent", and "Retry"
// sends it once the relay serves honest bundles again.
import { expect, test } from "./fixtures";
import { address, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";
import { kemPrekeyCount, stripKemPrekeys } from "./relayDb";

test("a bundle stripped of its post-quantum prekey is refused: 'Not sent', and Retry sends it later", async ({ person }) => {
  const dave = await person();
  const gina = await person();
  const h = handles("gina");
  await Promise.all([dave.app.createAccount("Instagram", h.instagram, NAMES.dave), gina.app.createAccount("Messenger", h.messenger, NAMES.gina)]);
  const ginaAddress = address("Messenger", h.messenger);

  // the relay turns against Gina's correspondents: her bundles now carry X25519 prekeys only
  expect(kemPrekeyCount(ginaAddress)).toBeGreaterThan(0);
  const stripped = stripKemPrekeys(ginaAddress);
  let restored = false;
  try {
    expect(kemPrekeyCount(ginaAddress)).toBe(0);

    await dave.app.startChat("Instagram", ginaAddress);
    await dave.app.composer.fill(TEXT.notSent);
    await dave.app.page.getByRole("button", { name: "Send" }).click();
    const bubble = dave.app.message(TEXT.notSent);
    await expect(bubble).toContainText("Not sent");
    await expect(dave.app.retryButton(TEXT.notSent)).toBeVisible();
    // the reason says what went wrong, in words a person can act on
    await expect(dave.app.retryButton(TEXT.notSent)).toHaveAccessibleDescription(/post-quantum/);
    // nothing reached Gina, not even the conversation
    await expect(gina.app.conversation(NAMES.dave)).toHaveCount(0);

    stripped.restore();
    restored = true;
    expect(kemPrekeyCount(ginaAddress)).toBeGreaterThan(0);
  } finally {
    if (!restored) stripped.restore();
  }

  // Retry from the keyboard, as anyone can
  const retry = dave.app.retryButton(TEXT.notSent);
  await retry.focus();
  await dave.app.page.keyboard.press("Enter");
  await expect(dave.app.retryButton(TEXT.notSent)).toHaveCount(0);
  await expect(dave.app.message(TEXT.notSent)).toContainText(/Delivered|Read/);
  await expect(dave.app.message(TEXT.notSent)).not.toContainText("Not sent");

  await expect(gina.app.conversation(NAMES.dave)).toBeVisible();
  await gina.app.openConversation(NAMES.dave);
  await expect(gina.app.message(TEXT.notSent)).toHaveCount(1);
});
