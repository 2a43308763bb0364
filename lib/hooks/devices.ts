// What Settings → Linked devices shows of each of my devices: its name, whether it is this one or the
// primary, when it was linked, when it was last heard from (to the day) and whether it has gone quiet.
// Pure: computed from my device list row and the time.
import type { DeviceListRow } from "../store/db";

const DAY_MS = 24 * 60 * 60_000;
/** A device silent this many days is listed as inactive. */
export const INACTIVE_AFTER_DAYS = 30;
/** On a linked device: the primary silent this many days shows a warning (it vouches for the others). */
export const PRIMARY_SILENT_WARNING_DAYS = 14;

export interface DeviceView {
  deviceId: string;
  name: string;
  primary: boolean;
  thisDevice: boolean;
  linkedAt: number;
  /** When it was last heard from (this device: now); its link time when nothing came from it since. */
  lastActive: number;
  /** Whole days since then. */
  silentDays: number;
  inactive: boolean;
}

const sameKey = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export function deviceViews(list: DeviceListRow, now: number): DeviceView[] {
  const mine = list.devices.find((d) => d.deviceId === list.thisDevice);
  return list.devices.map((d) => {
    const primary = sameKey(d.identityKey, list.accountKey);
    const thisDevice = d.deviceId === list.thisDevice;
    // nothing from it yet: it was active when it was linked (or, for the primary, when it linked this device)
    const since = primary && mine && !thisDevice ? Math.max(d.linkedAt, mine.linkedAt) : d.linkedAt;
    const lastActive = thisDevice ? now : Math.max(list.seen?.[d.deviceId] ?? 0, since);
    const silentDays = Math.max(0, Math.floor((now - lastActive) / DAY_MS));
    return {
      deviceId: d.deviceId,
      name: list.names?.[d.deviceId] ?? (primary ? "Primary device" : "Linked device"),
      primary,
      thisDevice,
      linkedAt: d.linkedAt,
      lastActive,
      silentDays,
      inactive: silentDays >= INACTIVE_AFTER_DAYS,
    };
  });
}

/** On a linked device: how many days the primary has been silent, when that calls for a warning. */
export function primarySilence(views: DeviceView[]): number | null {
  const me = views.find((v) => v.thisDevice);
  const primary = views.find((v) => v.primary);
  if (!me || me.primary || !primary || primary.silentDays < PRIMARY_SILENT_WARNING_DAYS) return null;
  return primary.silentDays;
}
