// Test 10: one engine per device. Two tabs of one person both show new messages; when the
// engine's tab closes, the other takes over.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import type { JunctionPage } from "./pages/app";
import { NAMES, TEXT } from "./plaintexts";

async function engineLocks(app: JunctionPage): Promise<{ held: number; pending: number }> {
  return app.page.evaluate(async () => {
    const { held = [], pending = [] } = await navigator.locks.query();
    return { held: held.filter((l) => l.name === "junction-engine").length, pending: pending.filter((l) => l.name === "junction-engine").length };
  });
}

test("10. two tabs of one person: one engine, both show messages, closing it hands over", async ({ person }) => {
  const ivy = await person();
  const hugo = await person();
  const h = handles("ivy");
  await ivy.app.createAccount("Instagram", h.instagram, NAMES.ivy);
  await hugo.app.createAccount("Messenger", h.messenger, NAMES.hugo);
  await converse(hugo.app, "Messenger", NAMES.hugo, ivy.app, address("Instagram", h.instagram), TEXT.twoTabsSetup);

  const first = ivy.app;
  const second = await ivy.newTab();
  await second.openConversation(NAMES.hugo);
  // one tab holds the engine lock, the other waits for it
  await expect.poll(() => engineLocks(second)).toEqual({ held: 1, pending: 1 });
  await expect(second.status).toHaveText("Online");

  await hugo.app.send(TEXT.twoTabsFirst);
  await expect(first.message(TEXT.twoTabsFirst)).toBeVisible();
  await expect(second.message(TEXT.twoTabsFirst)).toBeVisible();

  // the follower hands its send to the leader
  await second.send(TEXT.twoTabsFromFollower);
  await expect(hugo.app.message(TEXT.twoTabsFromFollower)).toBeVisible();

  await first.page.close();
  await expect.poll(() => engineLocks(second)).toEqual({ held: 1, pending: 0 });
  await expect(second.status).toHaveText("Online");

  await hugo.app.send(TEXT.twoTabsAfterHandover);
  await expect(second.message(TEXT.twoTabsAfterHandover)).toBeVisible();
  await second.expectMessagesInOrder([TEXT.twoTabsSetup, TEXT.twoTabsFirst, TEXT.twoTabsFromFollower, TEXT.twoTabsAfterHandover]);
  // the new leader took over the follower's send: its receipt came back too
  await expect(second.message(TEXT.twoTabsFromFollower)).toContainText(/Delivered|Read/);
});
