// The bubbles and notices for states a healthy chat rarely shows, staged as the engine would leave
// them in IndexedDB: a message still being recovered, one that never could be, one from a newer
// version, my message that was not sent (and its Retry), and a verified contact's changed safety
// number holding my messages until I accept it. Also the Diagnostics view.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { patchIdentity, putRows } from "./idb";
import { NAMES, TEXT } from "./plaintexts";

test("placeholders, 'Not sent' with Retry, the changed-safety-number hold and Diagnostics", async ({ person }) => {
  const hugo = await person();
  const ivy = await person();
  const h = handles("hugo");
  await Promise.all([hugo.app.createAccount("WhatsApp", h.whatsapp, NAMES.hugo), ivy.app.createAccount("Instagram", h.instagram, NAMES.ivy)]);
  const hugoAddress = address("WhatsApp", h.whatsapp);
  const ivyAddress = address("Instagram", h.instagram);
  await converse(ivy.app, "Instagram", NAMES.ivy, hugo.app, hugoAddress, TEXT.statesSetup);

  const conversationId = `${hugoAddress}|${ivyAddress}`;
  const now = Date.now();
  const row = (id: string, patch: Record<string, unknown>) => ({
    id,
    conversationId,
    direction: "in",
    text: "",
    sentAt: now,
    receivedAt: now,
    state: "delivered",
    sentToRelayAt: null,
    deliveredAt: null,
    ...patch,
  });
  await putRows(hugo.app.page, "messages", [
    row("staged-waiting", { kind: "waiting", sentAt: now + 1 }),
    row("staged-undecryptable", { kind: "undecryptable", sentAt: now + 2 }),
    row("staged-unsupported", { kind: "unsupported", sentAt: now + 3, content: JSON.stringify({ v: 99, type: "hologram" }) }),
    row("staged-failed", { direction: "out", text: TEXT.statesFailed, sentAt: now + 4, state: "failed", error: "their keys could not be verified" }),
  ]);
  await patchIdentity(hugo.app.page, hugoAddress, ivyAddress, { verified: false, changedAt: now, awaitingAcceptance: true });
  await hugo.app.page.reload();
  await expect(hugo.app.composer).toBeVisible();

  const app = hugo.app;
  await expect(app.waitingMessages).toHaveCount(1);
  await expect(app.waitingMessages).toHaveAccessibleDescription(`It will appear when ${NAMES.ivy}'s device sends it again.`);
  await expect(app.message("This message couldn't be decrypted.")).toHaveCount(1);
  await expect(app.message("This message needs a newer version of Junction.")).toHaveCount(1);

  const failed = app.message(TEXT.statesFailed);
  await expect(failed).toContainText("Not sent");
  await expect(app.retryButton(TEXT.statesFailed)).toHaveAccessibleDescription("their keys could not be verified");

  // the hold: a notice instead of the plain warning, and my new message waits in the outbox
  const notice = app.safetyNumberChanged;
  await expect(notice).toBeVisible();
  await expect(notice).toContainText("held until you accept");
  await expect(app.page.getByText(/safety number with .* has changed/)).toHaveCount(0);
  await notice.getByRole("button", { name: "View safety number" }).click();
  const dialog = app.page.getByRole("dialog", { name: "Safety number" });
  await expect(dialog.getByRole("img", { name: /QR code of the safety number/ })).toBeVisible();
  await app.page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();

  await app.send(TEXT.statesHeld);
  await expect(app.message(TEXT.statesHeld)).toContainText("Queued");
  // held, not lost: give a send every chance to happen, then check that it did not
  await app.page.waitForTimeout(1_500);
  await expect(app.message(TEXT.statesHeld)).toContainText("Queued");
  await expect(ivy.app.message(TEXT.statesHeld)).toHaveCount(0);

  await notice.getByRole("button", { name: "Accept" }).click();
  await expect(notice).toHaveCount(0);
  // accepting is not verifying
  await expect(app.page.getByRole("heading", { name: NAMES.ivy })).not.toContainText("Verified");
  await expect(ivy.app.message(TEXT.statesHeld)).toHaveCount(1);
  await expect(app.message(TEXT.statesHeld)).toContainText(/Delivered|Read/);

  // Retry, from the keyboard
  await app.retryButton(TEXT.statesFailed).focus();
  await app.page.keyboard.press("Enter");
  await expect(app.retryButton(TEXT.statesFailed)).toHaveCount(0);
  await expect(failed).toContainText(/Delivered|Read/);
  await expect(ivy.app.message(TEXT.statesFailed)).toHaveCount(1);

  // Diagnostics: counters and the engine's log lines, reachable from the top bar and closed with Escape
  const diagnostics = await app.openDiagnostics();
  await expect(diagnostics.getByRole("heading", { name: "Counters" })).toBeVisible();
  await expect(diagnostics.getByRole("list", { name: /Recent log/ })).toContainText("relay connected");
  await expect(diagnostics.getByRole("row", { name: /stored/ })).toBeVisible();
  await app.page.keyboard.press("Escape");
  await expect(diagnostics).toBeHidden();
});
