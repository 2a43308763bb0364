// A message sent in a conversation too short to scroll leaves the page idle. The message log's virtualizer
// (anchored to the end, following appends) used to move its own idea of the scroll offset by the new row's
// size, which an element that cannot scroll never reports back, and checked again every animation frame for
// its 5 s limit: about 300 frames rendered on the main thread after each message (bench:media's uploads too).
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("a message sent in a conversation too short to scroll leaves no frame loop running", async ({ person }) => {
  const h = handles("frames");
  const alice = (await person()).app;
  const bob = (await person()).app;
  await alice.createAccount("Messenger", h.messenger, NAMES.alice);
  await bob.createAccount("WhatsApp", h.whatsapp, NAMES.bob);
  await converse(alice, "Messenger", NAMES.alice, bob, address("WhatsApp", h.whatsapp), TEXT.shortFirst);
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
