// Settings, kept in the meta table under "settings": absent fields take DEFAULT_SETTINGS.
import { z } from "zod";
import { DEFAULT_SETTINGS, type JunctionDB, type Settings } from "./db";

export const SETTINGS_KEY = "settings";

const StoredSettings = z.object({
  readReceipts: z.boolean().optional(),
  theme: z.enum(["system", "light", "dark"]).optional(),
  onePerPerson: z.boolean().optional(),
});

/** A change to settings as the RPC takes it: only known fields, of the right types. */
export const SettingsPatch = z.strictObject({
  readReceipts: z.boolean().optional(),
  theme: z.enum(["system", "light", "dark"]).optional(),
  onePerPerson: z.boolean().optional(),
});

/** The settings, with defaults for what was never set (or was stored in a shape this build does not read). */
export async function getSettings(db: JunctionDB): Promise<Settings> {
  const row = await db.meta.get(SETTINGS_KEY);
  const parsed = StoredSettings.safeParse(row?.value ?? {});
  return { ...DEFAULT_SETTINGS, ...(parsed.success ? stripUndefined(parsed.data) : {}) };
}

/** Merges a change into the stored settings; returns the result. */
export async function updateSettings(db: JunctionDB, patch: Partial<Settings>): Promise<Settings> {
  return db.transaction("rw", db.meta, async () => {
    const next = { ...(await getSettings(db)), ...stripUndefined(patch) };
    await db.meta.put({ key: SETTINGS_KEY, value: next });
    return next;
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
