// The inbox: pin, archive and mute from a row's "Conversation actions"; brand chips for my own
// accounts only; drafts (with the reply they quote) kept per conversation across chats and reloads.
import { expect, test } from "./fixtures";
import { address, converse, handles } from "./flows";
import { NAMES, TEXT } from "./plaintexts";

test("pin, archive and mute; brand chips only for my accounts", async ({ person }) => {
  const ivy = await person();
  const jon = await person();
  const kim = await person();
  const h = handles("inbox");
  const k = handles("inboxk");
  await Promise.all([
    ivy.app.createAccount("WhatsApp", h.whatsapp, NAMES.ivy),
    jon.app.createAccount("Instagram", h.instagram, NAMES.jon),
    kim.app.createAccount("Messenger", k.messenger, NAMES.alice),
  ]);
  await converse(jon.app, "Instagram", NAMES.jon, ivy.app, address("WhatsApp", h.whatsapp), TEXT.inboxSetup);
  await converse(kim.app, "Messenger", NAMES.alice, ivy.app, address("WhatsApp", h.whatsapp), TEXT.draftSetup);
  await ivy.app.page.keyboard.press("Escape");
  const rows = ivy.app.conversations.getByRole("link");
  await expect(rows).toHaveText([new RegExp(NAMES.alice), new RegExp(NAMES.jon)]);

  // only "My WhatsApp": Ivy has no account on the other brands
  const chips = ivy.app.page.getByRole("group", { name: "Filter conversations" }).getByRole("button");
  await expect(chips).toHaveText(["All", "My WhatsApp", "Unread", "Groups", "Archived"]);

  // pinned first, whatever came later
  await ivy.app.conversationAction(NAMES.jon, "Pin");
  await expect(rows).toHaveText([new RegExp(NAMES.jon), new RegExp(NAMES.alice)]);
  await expect(ivy.app.conversation(NAMES.jon)).toHaveAccessibleDescription(/Pinned\./);
  await ivy.app.conversationAction(NAMES.jon, "Unpin");
  await expect(rows).toHaveText([new RegExp(NAMES.alice), new RegExp(NAMES.jon)]);

  // archived: out of All, into Archived, and back
  await ivy.app.conversationAction(NAMES.alice, "Archive");
  await expect(ivy.app.conversation(NAMES.alice)).toHaveCount(0);
  await ivy.app.filter("Archived").click();
  await expect(rows).toHaveText([new RegExp(NAMES.alice)]);
  await ivy.app.conversationAction(NAMES.alice, "Unarchive");
  await expect(ivy.app.page.getByText("No archived conversations")).toBeVisible();
  await ivy.app.filter("All").click();
  await expect(rows).toHaveCount(2);

  // muted: a new message brings no unread count to the title
  await ivy.app.conversationAction(NAMES.jon, "Mute");
  await expect(ivy.app.conversation(NAMES.jon)).toHaveAccessibleDescription(/Muted\./);
  await jon.app.send(TEXT.inboxMuted);
  await expect(ivy.app.conversation(NAMES.jon)).toHaveAccessibleDescription(/1 unread/);
  await expect(ivy.app.page).toHaveTitle("Junction");
  await ivy.app.conversationAction(NAMES.jon, "Unmute");
  await expect(ivy.app.page).toHaveTitle("(1) Junction");
});

test("a draft and its reply stay with their conversation, across chats and reloads", async ({ person }) => {
  const erin = await person();
  const frank = await person();
  const gina = await person();
  const h = handles("draft");
  await Promise.all([
    erin.app.createAccount("Instagram", h.instagram, NAMES.erin),
    frank.app.createAccount("Messenger", h.messenger, NAMES.frank),
    gina.app.createAccount("WhatsApp", h.whatsapp, NAMES.gina),
  ]);
  await converse(frank.app, "Messenger", NAMES.frank, erin.app, address("Instagram", h.instagram), TEXT.draftSetup);
  await converse(gina.app, "WhatsApp", NAMES.gina, erin.app, address("Instagram", h.instagram), TEXT.inboxSetup);

  await erin.app.openConversation(NAMES.frank);
  await erin.app.messageAction(erin.app.message(TEXT.draftSetup), "Reply");
  await erin.app.composer.fill(TEXT.draft);
  // another chat has its own empty box
  await erin.app.openConversation(NAMES.gina);
  await expect(erin.app.composer).toHaveValue("");
  await expect(erin.app.page.getByRole("button", { name: "Cancel reply" })).toHaveCount(0);
  await erin.app.openConversation(NAMES.frank);
  await expect(erin.app.composer).toHaveValue(TEXT.draft);
  await expect(erin.app.page.getByText(`Replying to ${NAMES.frank}`)).toBeVisible();

  await erin.app.page.reload();
  await expect(erin.app.composer).toHaveValue(TEXT.draft);
  await expect(erin.app.page.getByText(`Replying to ${NAMES.frank}`)).toBeVisible();
  // sending it clears the draft, for good
  await erin.app.composer.press("Enter");
  await expect(frank.app.message(TEXT.draft)).toContainText(TEXT.draftSetup);
  await erin.app.page.reload();
  await expect(erin.app.composer).toHaveValue("");
});
