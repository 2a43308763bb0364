import { describe, expect, it } from "vitest";
import type { DeviceListRow } from "../store/db";
import { deviceViews, primarySilence } from "./devices";

const DAY = 24 * 60 * 60_000;
const key = (n: number) => new Uint8Array(33).fill(n);
const now = 100 * DAY;

function list(seen: Record<string, number>, thisDevice: string): DeviceListRow {
  return {
    address: "messenger:alice.smith",
    accountKey: key(1),
    version: 3,
    digest: new Uint8Array(32),
    devices: [
      { deviceId: "phone", identityKey: key(1), linkedAt: 10 * DAY },
      { deviceId: "laptop", identityKey: key(2), linkedAt: 20 * DAY },
      { deviceId: "tablet", identityKey: key(3), linkedAt: 30 * DAY },
    ],
    signed: "",
    names: { laptop: "Work laptop" },
    seen,
    thisDevice,
    checkedAt: now,
  };
}

describe("device views", () => {
  it("names, last active to the day, inactive after 30 silent days", () => {
    const views = deviceViews(list({ phone: now - 2 * DAY - 5, tablet: now - 31 * DAY }, "laptop"), now);
    expect(views.map((v) => [v.name, v.thisDevice, v.silentDays, v.inactive])).toEqual([
      ["Primary device", false, 2, false],
      ["Work laptop", true, 0, false],
      ["Linked device", false, 31, true],
    ]);
    expect(primarySilence(views)).toBeNull();
  });

  it("warns a linked device when the primary has been silent 14 days, never the primary itself", () => {
    expect(primarySilence(deviceViews(list({ phone: now - 14 * DAY }, "laptop"), now))).toBe(14);
    expect(primarySilence(deviceViews(list({ phone: now - 13 * DAY }, "laptop"), now))).toBeNull();
    // never heard from since this device was linked: counted from the link
    expect(primarySilence(deviceViews(list({}, "tablet"), 50 * DAY))).toBe(20);
    expect(primarySilence(deviceViews(list({ laptop: 0 }, "phone"), now))).toBeNull();
  });
});
