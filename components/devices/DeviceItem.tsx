"use client";
// One of my devices in Settings → Linked devices: its name (renamed in place; the name reaches my other
// devices end-to-end encrypted), whether it is this one, its link date, when it was last active (to the
// day) and "Inactive" after 30 silent days; the primary also gets "Remove" on the others.
import { useState, type FormEvent } from "react";
import { describeError, renameDevice } from "@/lib/hooks/actions";
import type { DeviceView } from "@/lib/hooks/devices";

const date = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

function activity(d: DeviceView): string {
  if (d.thisDevice) return "This device";
  if (d.silentDays === 0) return "Active today";
  if (d.silentDays === 1) return "Active yesterday";
  return `Last active ${date.format(d.lastActive)}`;
}

export function DeviceItem({ device: d, onRemove }: { device: DeviceView; onRemove?: () => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(d.name);
  const [error, setError] = useState<string | null>(null);
  const nameId = `device-${d.deviceId}`;

  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await renameDevice(d.deviceId, name);
      setEditing(false);
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <li className="flex flex-col gap-2 py-2">
      <div className="flex items-center justify-between gap-3">
        <div className="min-w-0">
          <p id={nameId} className="truncate font-medium">
            {d.name}
          </p>
          <p className="text-xs text-slate-700 dark:text-slate-300">
            {d.primary ? "Primary, holds your account keys" : `Linked ${date.format(d.linkedAt)}`} · {activity(d)}
            {d.inactive ? (
              <span className="ml-2 rounded bg-slate-200 px-1.5 py-0.5 font-semibold text-slate-900 dark:bg-slate-700 dark:text-slate-100">Inactive</span>
            ) : null}
          </p>
        </div>
        <div className="flex shrink-0 gap-2">
          {editing ? null : (
            <button
              type="button"
              onClick={() => {
                setName(d.name);
                setEditing(true);
              }}
              aria-label="Rename"
              aria-describedby={nameId}
              className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-semibold hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
            >
              Rename
            </button>
          )}
          {onRemove ? (
            <button
              type="button"
              onClick={onRemove}
              aria-label="Remove"
              aria-describedby={nameId}
              className="rounded-lg border border-red-700 px-3 py-1.5 text-sm font-semibold text-red-700 hover:bg-red-50 dark:border-red-300 dark:text-red-300 dark:hover:bg-red-950"
            >
              Remove
            </button>
          ) : null}
        </div>
      </div>
      {editing ? (
        <form onSubmit={save} className="flex flex-wrap items-center gap-2">
          <input
            value={name}
            aria-label="Device name"
            maxLength={64}
            ref={(el) => el?.focus()}
            onChange={(e) => setName(e.target.value)}
            className="min-w-0 flex-1 rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm dark:border-slate-700 dark:bg-slate-950"
          />
          <button type="submit" className="rounded-lg bg-slate-900 px-3 py-1.5 text-sm font-semibold text-white dark:bg-slate-100 dark:text-slate-900">
            Save
          </button>
          <button type="button" onClick={() => setEditing(false)} className="rounded-lg px-3 py-1.5 text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-800">
            Cancel
          </button>
          {error ? (
            <p role="alert" className="w-full text-sm text-red-700 dark:text-red-300">
              {error}
            </p>
          ) : null}
        </form>
      ) : null}
    </li>
  );
}
