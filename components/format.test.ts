import { describe, expect, it } from "vitest";
import { formatDay, groupSafetyNumber, initials, withDaySeparators } from "./format";

const at = (y: number, m: number, d: number, h = 12) => new Date(y, m - 1, d, h).getTime();

describe("withDaySeparators", () => {
  it("puts one separator before the first message of each day, in order", () => {
    const messages = [
      { id: "a", sentAt: at(2025, 3, 1, 9) },
      { id: "b", sentAt: at(2025, 3, 1, 23) },
      { id: "c", sentAt: at(2025, 3, 2, 0) },
    ];
    const items = withDaySeparators(messages);
    expect(items.map((i) => (i.kind === "day" ? "day" : i.message.id))).toEqual(["day", "a", "b", "day", "c"]);
    expect(new Set(items.map((i) => i.key)).size).toBe(items.length);
  });

  it("can leave out the first day's separator while older messages are not loaded", () => {
    const messages = [
      { id: "a", sentAt: at(2025, 3, 1, 9) },
      { id: "b", sentAt: at(2025, 3, 2, 9) },
    ];
    const items = withDaySeparators(messages, false);
    expect(items.map((i) => (i.kind === "day" ? "day" : i.message.id))).toEqual(["a", "day", "b"]);
  });

  it("returns nothing for an empty conversation", () => {
    expect(withDaySeparators([])).toEqual([]);
  });
});

describe("formatDay", () => {
  const now = at(2025, 3, 10, 15);
  it("names today and yesterday", () => {
    expect(formatDay(at(2025, 3, 10, 1), now)).toBe("Today");
    expect(formatDay(at(2025, 3, 9, 23), now)).toBe("Yesterday");
  });
  it("uses a date for older days, with the year only when it differs", () => {
    expect(formatDay(at(2025, 1, 5), now, "en-GB")).toBe("5 January");
    expect(formatDay(at(2024, 1, 5), now, "en-GB")).toBe("5 January 2024");
  });
});

describe("groupSafetyNumber", () => {
  it("splits 60 digits into twelve groups of five", () => {
    const digits = "0123456789".repeat(6);
    const groups = groupSafetyNumber(digits);
    expect(groups).toHaveLength(12);
    expect(groups.join("")).toBe(digits);
    expect(groups.every((g) => g.length === 5)).toBe(true);
  });
  it("leaves a malformed number whole rather than hiding digits", () => {
    expect(groupSafetyNumber("123")).toEqual(["123"]);
  });
});

describe("initials", () => {
  it("uses up to two words and skips handle prefixes", () => {
    expect(initials("Alice Smith")).toBe("AS");
    expect(initials("@bob")).toBe("B");
    expect(initials("alice.smith")).toBe("AS");
    expect(initials("+15551234567")).toBe("1");
  });
});
