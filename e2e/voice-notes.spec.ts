// A voice note recorded with Chromium's fake microphone (a steady tone), sent from Instagram to
// WhatsApp: the receiver gets it by itself, with the waveform made at record time, and plays it at 2×;
// the sender sees "Listened". Then, as on a phone: one recorded while the button is held goes on release,
// and one slid away while held never goes.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./env";
import { NAMES, TEXT } from "./plaintexts";

test.use({ launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"] } });

test("a recorded voice note arrives and plays, at a chosen speed; a cancelled one never goes; held, it goes on release, slid away it does not", async ({ person }) => {
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

  // held: it records while the button is held, and goes on release
  const record = page.getByRole("button", { name: "Record voice message" });
  const box = (await record.boundingBox())!;
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const notes = (app: typeof ivy.app) => app.messages.filter({ has: app.page.getByLabel("Playback speed") });
  await page.mouse.move(at.x, at.y);
  await page.mouse.down();
  const recording = page.getByRole("status").filter({ hasText: /Recording 0:0[1-9]/ });
  await expect(recording).toBeVisible();
  await expect(recording).toContainText("Release to send, slide left to cancel");
  await page.mouse.up();
  await expect(notes(ivy.app)).toHaveCount(2);
  await expect(notes(jon.app)).toHaveCount(2);
  await expect(record).toBeVisible();

  // held, then slid left: dropped at once, and the release sends nothing
  await page.mouse.move(at.x, at.y);
  await page.mouse.down();
  await expect(recording).toBeVisible();
  await page.mouse.move(at.x - 150, at.y, { steps: 5 });
  await expect(record).toBeVisible();
  await page.mouse.up();
  await expect(page.getByRole("button", { name: "Send voice message" })).toHaveCount(0);
  await jon.app.page.waitForTimeout(1_500);
  await expect(notes(ivy.app)).toHaveCount(2);
  await expect(notes(jon.app)).toHaveCount(2);
});
