// Frames the page renders for nothing, on the main thread, while a person only waits.
// - A message sent in a conversation too short to scroll: the message log's virtualizer (anchored to the end,
//   following appends) used to move its own idea of the scroll offset by the new row's size, which an element
//   that cannot scroll never reports back, and checked again every animation frame for its 5 s limit: about
//   300 frames after each message (bench:media's uploads too).
// - A transfer's progress bar: its fill's width was a CSS transition, which the compositor cannot run (a width
//   is layout), so each progress step (every 250 ms) was 150 ms of frames on the main thread, style, layout and
//   paint each. The bar now steps: one frame a step.
import { randomBytes } from "node:crypto";
import { expect, test, type Person } from "./fixtures";
import { address, converse, handles, sendFileSeenUploading } from "./flows";
import type { JunctionPage } from "./pages/app";
import { NAMES, TEXT } from "./plaintexts";

/** Alice and Bob in a conversation of one message: Alice's page, inside it. */
async function shortConversation(person: (options?: object) => Promise<Person>): Promise<JunctionPage> {
  const h = handles("frames");
  const alice = (await person()).app;
  const bob = (await person()).app;
  await alice.createAccount("Messenger", h.messenger, NAMES.alice);
  await bob.createAccount("WhatsApp", h.whatsapp, NAMES.bob);
  await converse(alice, "Messenger", NAMES.alice, bob, address("WhatsApp", h.whatsapp), TEXT.shortFirst);
  return alice;
}

test("a message sent in a conversation too short to scroll leaves no frame loop running", async ({ person }) => {
  const alice = await shortConversation(person);
  const log = alice.page.getByRole("log");
  // the conversation does not fill its log: nothing to scroll
  expect(await log.evaluate((el) => el.scrollHeight <= el.clientHeight)).toBe(true);

  // every animation frame the page asks for from here on is counted
  await alice.page.evaluate(() => {
    const w = window as unknown as { __frames: number };
    w.__frames = 0;
    const request = window.requestAnimationFrame.bind(window);
    window.requestAnimationFrame = (callback) => {
      w.__frames++;
      return request(callback);
    };
  });
  await alice.send(TEXT.shortSecond);
  await expect(alice.message(TEXT.shortSecond)).toContainText(/Delivered|Read/);
  await alice.page.waitForTimeout(1_500);
  // a few frames for the new row (its measurement, the follow to the end), not one every 16 ms for 5 s
  expect(await alice.page.evaluate(() => (window as unknown as { __frames: number }).__frames)).toBeLessThan(40);
  await expect(log).toContainText(TEXT.shortSecond);
});

test("a transfer's progress moves and reaches its end without an animation on the page", async ({ person }) => {
  const alice = await shortConversation(person);
  // every CSS animation or transition the page starts from here on is counted (Chromium's Animation domain)
  const cdp = await alice.page.context().newCDPSession(alice.page);
  const started: string[] = [];
  cdp.on("Animation.animationStarted", (event) => started.push(event.animation.name || event.animation.type));
  await cdp.send("Animation.enable");
  // the upload's requests after the first wait until the bar has been seen part way
  const { mine, uploading, release, unhold } = await sendFileSeenUploading(alice, TEXT.framesFileName, randomBytes(3_000_000));
  release();
  // the end: the bar goes, the message goes out
  await expect(uploading).toHaveCount(0);
  await expect(mine).toContainText(/Delivered|Read/);
  await unhold();
  expect(started).toEqual([]);
});
