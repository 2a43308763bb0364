// A voice note recorded with Chromium's fake microphone (a steady tone), sent from Instagram to
// WhatsApp: the receiver gets it by itself, with the waveform made at record time, and plays it at 2×;
// the sender sees "Listened".
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./env";
import { NAMES, TEXT } from "./plaintexts";

test.use({ launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"] } });

test("a recorded voice note arrives and plays, at a chosen speed; a cancelled one never goes", async ({ person }) => {
  const ivy = await person({ permissions: ["microphone"] });
  const jon = await person();
  const h = handles("voice");
  await Promise.all([ivy.app.createAccount("Instagram", h.instagram, NAMES.ivy), jon.app.createAccount("WhatsApp", h.whatsapp, NAMES.jon)]);
  await converse(ivy.app, "Instagram", NAMES.ivy, jon.app, address("WhatsApp", h.whatsapp), TEXT.voiceSetup);
  const page = ivy.app.page;

  // one recording cancelled: nothing is sent
  await page.getByRole("button", { name: "Record voice message" }).click();
  await expect(page.getByRole("button", { name: "Stop recording" })).toBeVisible();
  await page.getByRole("button", { name: "Cancel recording" }).click();
  await expect(page.getByRole("button", { name: "Record voice message" })).toBeVisible();

  // one recorded for about two seconds, stopped, then sent
  await page.getByRole("button", { name: "Record voice message" }).click();
  await expect(page.getByRole("status").filter({ hasText: /Recording 0:0[2-9]/ })).toBeVisible();
  await page.getByRole("button", { name: "Stop recording" }).click();
  await page.getByRole("button", { name: "Send voice message" }).click();
  await expect(ivy.app.messages.getByRole("button", { name: "Play voice message" })).toHaveCount(1);
  const mine = ivy.app.messages.filter({ has: page.getByLabel("Playback speed") });

  // Jon: one voice note (the cancelled one never came), fetched by itself, played at 2×
  const note = jon.app.messages.filter({ has: jon.app.page.getByLabel("Playback speed") });
  await expect(note).toHaveCount(1);
  await expect(note.getByRole("button", { name: "Play voice message" })).toBeEnabled();
  await note.getByLabel("Playback speed").selectOption("2");
  await note.getByRole("button", { name: "Play voice message" }).click();
  await expect(note.getByRole("button", { name: "Pause voice message" })).toBeVisible();
  const rate = await note.locator("audio").evaluate((a: HTMLAudioElement) => a.playbackRate);
  expect(rate).toBe(2);
  // it really plays: its position moves, and the whole note is a couple of seconds of audio
  await expect.poll(() => note.locator("audio").evaluate((a: HTMLAudioElement) => a.currentTime)).toBeGreaterThan(0);
  await expect(jon.app.messages.filter({ hasText: TEXT.voiceSetup })).toHaveCount(1);
  await expect(jon.app.messages).toHaveCount(2);
  // Ivy sees that it was played
  await expect(mine.getByText("Listened", { exact: true })).toBeVisible();
});
