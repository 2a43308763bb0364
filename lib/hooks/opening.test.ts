import { describe, expect, it } from "vitest";
import { sameData, shareRows } from "./opening";
import type { MessageRow } from "./types";

function message(id: string, extra: Partial<MessageRow> = {}): MessageRow {
  return {
    id,
    conversationId: "messenger:a|whatsapp:b",
    direction: "in",
    text: `text ${id}`,
    sentAt: 1,
    receivedAt: 2,
    state: "delivered",
    ...extra,
  } as MessageRow;
}

describe("sameData", () => {
  it("compares plain objects and arrays by content", () => {
    expect(sameData({ a: 1, b: [1, { c: "x" }] }, { b: [1, { c: "x" }], a: 1 })).toBe(true);
    expect(sameData({ a: 1, b: [1, { c: "x" }] }, { a: 1, b: [1, { c: "y" }] })).toBe(false);
    expect(sameData({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameData([1, 2], [1, 2, 3])).toBe(false);
    expect(sameData([], {})).toBe(false);
    expect(sameData(null, {})).toBe(false);
  });

  it("compares anything else by identity", () => {
    const bytes = new Uint8Array([1]);
    expect(sameData(bytes, bytes)).toBe(true);
    expect(sameData(bytes, new Uint8Array([1]))).toBe(false);
    expect(sameData(new Date(1), new Date(1))).toBe(false);
  });
});

describe("shareRows", () => {
  it("gives back the previous window when nothing changed", () => {
    const prev = { messages: [message("1"), message("2")], hasOlder: true };
    const next = { messages: [message("1"), message("2")], hasOlder: true };
    expect(shareRows(prev, next)).toBe(prev);
    expect(shareRows(undefined, next)).toBe(next);
  });

  it("keeps the objects of unchanged messages and takes the changed and new ones", () => {
    const prev = { messages: [message("1"), message("2", { reactions: [{ by: "messenger:x", emoji: "👍", at: 1 }] })], hasOlder: false };
    const changed = message("2", { reactions: [{ by: "messenger:x", emoji: "❤️", at: 2 }] });
    const added = message("3");
    const shared = shareRows(prev, { messages: [message("1"), changed, added], hasOlder: false });
    expect(shared).not.toBe(prev);
    expect(shared.messages[0]).toBe(prev.messages[0]);
    expect(shared.messages[1]).toBe(changed);
    expect(shared.messages[2]).toBe(added);
  });

  it("sees a change of order, of hasOlder and of a removed message", () => {
    const a = message("1");
    const b = message("2");
    const prev = { messages: [a, b], hasOlder: false };
    expect(shareRows(prev, { messages: [message("2"), message("1")], hasOlder: false }).messages).toEqual([b, a]);
    expect(shareRows(prev, { messages: [message("2"), message("1")], hasOlder: false })).not.toBe(prev);
    expect(shareRows(prev, { messages: [message("1"), message("2")], hasOlder: true }).hasOlder).toBe(true);
    expect(shareRows(prev, { messages: [message("1")], hasOlder: false }).messages).toHaveLength(1);
  });
});
