// Simultaneous initiation: two people who have never talked each write first while offline, so both
// devices set up a session to the other from prekey bundles at the same moment. Both first messages
// must arrive, and the conversation must keep working both ways afterwards (the two sessions settle
// on one; a message sealed under either still opens).
import { expect, test } from "./fixtures";
import { address, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("two people who each write first while offline both get through, and keep talking both ways", async ({ person }) => {
  const jon = await person();
  const carol = await person();
  const j = handles("jon");
  const c = handles("carol");
  await Promise.all([jon.app.createAccount("WhatsApp", j.whatsapp, NAMES.jon), carol.app.createAccount("Instagram", c.instagram, NAMES.carol)]);

  // opening a chat asks the directory, so it happens online; no session exists until the first send
  await jon.app.startChat("WhatsApp", address("Instagram", c.instagram));
  await carol.app.startChat("Instagram", address("WhatsApp", j.whatsapp));

  const contexts = [jon.app.page.context(), carol.app.page.context()];
  await Promise.all(contexts.map((context) => context.setOffline(true)));
  await expect(jon.app.status).toHaveText("Offline");
  await expect(carol.app.status).toHaveText("Offline");

  const [jonFirst, carolFirst] = TEXT.simultaneousFirst;
  await jon.app.send(jonFirst);
  await carol.app.send(carolFirst);
  await expect(jon.app.message(jonFirst)).toContainText("Queued");
  await expect(carol.app.message(carolFirst)).toContainText("Queued");

  // both come back together: each drains its outbox, fetching the other's bundle, before either hears
  await Promise.all(contexts.map((context) => context.setOffline(false)));
  await expect(jon.app.status).toHaveText("Online");
  await expect(carol.app.status).toHaveText("Online");

  for (const app of [jon.app, carol.app]) {
    await expect(app.message(jonFirst)).toHaveCount(1);
    await expect(app.message(carolFirst)).toHaveCount(1);
  }
  await expect(jon.app.message(jonFirst)).toContainText(/Delivered|Read/);
  await expect(carol.app.message(carolFirst)).toContainText(/Delivered|Read/);

  // alternating, one at a time
  const [jon1, jonBurst1, jonBurst2] = TEXT.simultaneousJon;
  const [carol1, carolBurst1, carolBurst2] = TEXT.simultaneousCarol;
  await jon.app.send(jon1);
  await expect(carol.app.message(jon1)).toHaveCount(1);
  await carol.app.send(carol1);
  await expect(jon.app.message(carol1)).toHaveCount(1);

  // then bursts from both sides at once, without waiting for anything in between
  await Promise.all([
    (async () => {
      await jon.app.sendQuickly(jonBurst1);
      await jon.app.sendQuickly(jonBurst2);
    })(),
    (async () => {
      await carol.app.sendQuickly(carolBurst1);
      await carol.app.sendQuickly(carolBurst2);
    })(),
  ]);

  await jon.app.expectMessagesInOrder([jonFirst, jon1, jonBurst1, jonBurst2]);
  await jon.app.expectMessagesInOrder([carolFirst, carol1, carolBurst1, carolBurst2]);
  await carol.app.expectMessagesInOrder([jonFirst, jon1, jonBurst1, jonBurst2]);
  await carol.app.expectMessagesInOrder([carolFirst, carol1, carolBurst1, carolBurst2]);
  for (const text of [jonFirst, jon1, jonBurst1, jonBurst2]) await expect(jon.app.message(text)).toContainText(/Delivered|Read/);
  for (const text of [carolFirst, carol1, carolBurst1, carolBurst2]) await expect(carol.app.message(text)).toContainText(/Delivered|Read/);
  // nothing was lost on the way: no placeholder for a message that could not be read
  await expect(jon.app.waitingMessages).toHaveCount(0);
  await expect(carol.app.waitingMessages).toHaveCount(0);
});
