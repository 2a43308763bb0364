// Applying changes (reactions, edits, deletes, timers) to stored rows, as receive does for a peer's change
// and for a copy of my own from another of my devices. Every refusal of a hostile change has a test here.
import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Address } from "../../brands";
import { DELETE_FOR_EVERYONE_WINDOW_MS, EDIT_WINDOW_MS, JunctionDB, conversationId, type MessageRow } from "../../store/db";
import { newConversation } from "../../store/conversations";
import { CLOCK_SKEW_MS, type ChangeScope, type IncomingChange } from "./change";
import { applyChange, type ChangeContent } from "./registry";

const ME: Address = "whatsapp:+15550000001";
const PEER: Address = "instagram:@dana";
const OTHER: Address = "messenger:someone.else";
const CONV = conversationId(ME, PEER);
const OTHER_CONV = conversationId(ME, OTHER);
const T0 = 1_700_000_000_000;

let db: JunctionDB;
let refusals: string[];
const scope = (): ChangeScope => ({
  db,
  now: T0 + 1000,
  refuse(kind, reason) {
    refusals.push(`${kind}: ${reason}`);
    return "refused";
  },
});

beforeEach(async () => {
  db = new JunctionDB(`change-test-${Math.random().toString(36).slice(2)}`);
  await db.open();
  refusals = [];
  await db.conversations.bulkPut([newConversation(ME, PEER, T0), newConversation(ME, OTHER, T0)]);
  await db.messages.bulkPut([msg("theirs000001", "in"), msg("mine00000001", "out"), msg("elsewhere001", "in", { conversationId: OTHER_CONV })]);
  await db.conversations.update(CONV, { lastMessageId: "mine00000001", lastPreview: "text of mine00000001" });
});

afterEach(async () => {
  db.close();
  await db.delete();
});

function msg(id: string, direction: "in" | "out", patch: Partial<MessageRow> = {}): MessageRow {
  return {
    id,
    conversationId: CONV,
    direction,
    text: `text of ${id}`,
    sentAt: T0,
    receivedAt: T0,
    state: direction === "in" ? "delivered" : "sent",
    sentToRelayAt: null,
    deliveredAt: null,
    ...patch,
  };
}

/** A change's own fields; id and clock default. */
type Draft<C = ChangeContent> = C extends ChangeContent ? Omit<C, "v" | "id" | "sentAt"> & { sentAt?: number; id?: string } : never;

/** A change from the peer ("in") or from my other device ("out"). */
function change(direction: "in" | "out", content: Draft): IncomingChange<ChangeContent> {
  return {
    our: ME,
    their: PEER,
    direction,
    content: { v: 1, id: `chg${Math.random().toString(36).slice(2, 12)}`, sentAt: T0 + 1000, ...content } as ChangeContent,
  };
}

const get = async (id: string) => (await db.messages.get(id)) as MessageRow;
const apply = (c: IncomingChange<ChangeContent>) => db.transaction("rw", [db.messages, db.conversations], () => applyChange(scope(), c));

describe("reactions", () => {
  it("one per person: added, changed, removed; mine (from my other device) beside theirs", async () => {
    expect(await apply(change("in", { type: "reaction", target: "mine00000001", emoji: "👍" }))).toBe("applied");
    expect(await apply(change("out", { type: "reaction", target: "mine00000001", emoji: "❤️" }))).toBe("applied");
    expect((await get("mine00000001")).reactions).toEqual([
      { by: PEER, emoji: "👍", at: T0 + 1000 },
      { by: ME, emoji: "❤️", at: T0 + 1000 },
    ]);
    expect(await apply(change("in", { type: "reaction", target: "mine00000001", emoji: "😂", sentAt: T0 + 2000 }))).toBe("applied");
    expect((await get("mine00000001")).reactions?.find((r) => r.by === PEER)?.emoji).toBe("😂");
    // an older reaction that arrives late does not win over a newer one
    expect(await apply(change("in", { type: "reaction", target: "mine00000001", emoji: "😮", sentAt: T0 + 1500 }))).toBe("stale");
    expect(await apply(change("in", { type: "reaction", target: "mine00000001", emoji: null, sentAt: T0 + 3000 }))).toBe("applied");
    expect(await apply(change("out", { type: "reaction", target: "mine00000001", emoji: null, sentAt: T0 + 3000 }))).toBe("applied");
    expect((await get("mine00000001")).reactions).toBeUndefined();
  });

  it("a reaction naming a message of another conversation changes nothing", async () => {
    expect(await apply(change("in", { type: "reaction", target: "elsewhere001", emoji: "👍" }))).toBe("refused");
    expect((await get("elsewhere001")).reactions).toBeUndefined();
    expect(refusals).toEqual(["reaction: another conversation"]);
  });

  it("a reaction to a message that is not here (yet) is dropped as orphaned", async () => {
    expect(await apply(change("in", { type: "reaction", target: "notherenot01", emoji: "👍" }))).toBe("orphaned");
  });
});

describe("edits", () => {
  it("the author's edit within the window replaces the text, marks it edited and updates the preview", async () => {
    await db.conversations.update(CONV, { lastMessageId: "theirs000001" });
    expect(await apply(change("in", { type: "edit", target: "theirs000001", text: "fixed", sentAt: T0 + EDIT_WINDOW_MS }))).toBe("applied");
    expect(await get("theirs000001")).toMatchObject({ text: "fixed", editedAt: T0 + EDIT_WINDOW_MS });
    expect((await db.conversations.get(CONV))?.lastPreview).toBe("fixed");
    // an older edit arriving after a newer one is not applied
    expect(await apply(change("in", { type: "edit", target: "theirs000001", text: "older", sentAt: T0 + 1000 }))).toBe("stale");
    expect((await get("theirs000001")).text).toBe("fixed");
  });

  it("refuses an edit of a message the sender did not write", async () => {
    expect(await apply(change("in", { type: "edit", target: "mine00000001", text: "you said this" }))).toBe("refused");
    expect((await get("mine00000001")).text).toBe("text of mine00000001");
    expect(refusals).toEqual(["edit: not the author"]);
  });

  it(`refuses an edit later than the window plus ${CLOCK_SKEW_MS / 60_000} minutes of clock skew`, async () => {
    expect(await apply(change("in", { type: "edit", target: "theirs000001", text: "late", sentAt: T0 + EDIT_WINDOW_MS + CLOCK_SKEW_MS + 1 }))).toBe("refused");
    expect(await apply(change("in", { type: "edit", target: "theirs000001", text: "before it was sent", sentAt: T0 - CLOCK_SKEW_MS - 1 }))).toBe("refused");
    expect((await get("theirs000001")).editedAt).toBeUndefined();
    expect(await apply(change("in", { type: "edit", target: "theirs000001", text: "just in", sentAt: T0 + EDIT_WINDOW_MS + CLOCK_SKEW_MS }))).toBe("applied");
  });

  it("refuses an edit of a message of another conversation, and of a line that is not text", async () => {
    expect(await apply(change("in", { type: "edit", target: "elsewhere001", text: "x" }))).toBe("refused");
    await db.messages.put(msg("timerline001", "in", { kind: "timer", timerMs: 0, text: "" }));
    expect(await apply(change("in", { type: "edit", target: "timerline001", text: "x" }))).toBe("refused");
    expect((await get("elsewhere001")).text).toBe("text of elsewhere001");
  });
});

describe("deletes for everyone", () => {
  it("empties the text, drops reactions and its quote, and quotes of it read as deleted", async () => {
    await db.messages.bulkPut([
      msg("theirs000001", "in", { reactions: [{ by: ME, emoji: "👍", at: T0 }], replyTo: { id: "mine00000001", author: ME, text: "q" } }),
      msg("reply0000001", "out", { sentAt: T0 + 5, replyTo: { id: "theirs000001", author: PEER, text: "text of theirs000001" } }),
    ]);
    await db.conversations.update(CONV, { lastMessageId: "theirs000001" });
    expect(await apply(change("in", { type: "delete", target: "theirs000001", sentAt: T0 + DELETE_FOR_EVERYONE_WINDOW_MS }))).toBe("applied");
    const gone = await get("theirs000001");
    expect(gone).toMatchObject({ text: "", deletedAt: T0 + DELETE_FOR_EVERYONE_WINDOW_MS });
    expect(gone.reactions).toBeUndefined();
    expect(gone.replyTo).toBeUndefined();
    expect((await get("reply0000001")).replyTo).toEqual({ id: "theirs000001", author: PEER, text: "", deleted: true });
    expect((await db.conversations.get(CONV))?.lastPreview).toBe("This message was deleted");
    // a reaction or an edit that comes after the delete changes nothing
    expect(await apply(change("in", { type: "reaction", target: "theirs000001", emoji: "👍" }))).toBe("stale");
    expect(await apply(change("in", { type: "edit", target: "theirs000001", text: "back" }))).toBe("stale");
    expect((await get("theirs000001")).text).toBe("");
  });

  it("refuses a delete of a message the sender did not write, and one outside 48 hours", async () => {
    expect(await apply(change("in", { type: "delete", target: "mine00000001" }))).toBe("refused");
    expect(await apply(change("in", { type: "delete", target: "theirs000001", sentAt: T0 + DELETE_FOR_EVERYONE_WINDOW_MS + CLOCK_SKEW_MS + 1 }))).toBe("refused");
    expect(await apply(change("in", { type: "delete", target: "elsewhere001" }))).toBe("refused");
    expect((await get("mine00000001")).deletedAt).toBeUndefined();
    expect((await get("theirs000001")).deletedAt).toBeUndefined();
    expect((await get("elsewhere001")).deletedAt).toBeUndefined();
    expect(refusals).toEqual(["delete: not the author", "delete: outside the delete window", "delete: another conversation"]);
  });

  it("my own delete from my other device applies to my message", async () => {
    expect(await apply(change("out", { type: "delete", target: "mine00000001" }))).toBe("applied");
    expect((await get("mine00000001")).deletedAt).toBe(T0 + 1000);
  });
});

describe("timer changes", () => {
  it("store a line on arrival and the newest setting by the setter's clock wins, whatever the order", async () => {
    expect(await apply(change("in", { type: "timer", expiresInMs: 86_400_000, sentAt: T0 + 2000, id: "timerAAAAAAA" }))).toBe("applied");
    expect(await apply(change("out", { type: "timer", expiresInMs: 0, sentAt: T0 + 1000, id: "timerBBBBBBB" }))).toBe("applied");
    const conv = await db.conversations.get(CONV);
    expect(conv?.expiresInMs).toBe(86_400_000);
    const lines = (await db.messages.where("conversationId").equals(CONV).toArray()).filter((m) => m.kind === "timer");
    expect(lines.map((m) => [m.direction, m.timerMs])).toEqual(expect.arrayContaining([["in", 86_400_000], ["out", 0]]));
    // a timer line is never unread
    expect(conv?.unread).toBe(0);
    // the same change again is a duplicate
    expect(await apply(change("in", { type: "timer", expiresInMs: 86_400_000, sentAt: T0 + 2000, id: "timerAAAAAAA" }))).toBe("stale");
  });
});
