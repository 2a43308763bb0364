"use client";
import { BRAND_IDS, BRANDS } from "@/lib/brands";
import type { InboxFilter } from "@/lib/hooks/types";

const FILTERS: { id: InboxFilter; label: string }[] = [
  { id: "all", label: "All" },
  ...BRAND_IDS.map((id) => ({ id, label: BRANDS[id].name })),
  { id: "unread", label: "Unread" },
];

/** Toggle buttons rather than tabs: each one filters the same list, and aria-pressed says which. */
export function FilterBar({ value, onChange }: { value: InboxFilter; onChange: (next: InboxFilter) => void }) {
  return (
    <div role="group" aria-label="Filter conversations" className="flex flex-wrap gap-1.5 px-3 py-2">
      {FILTERS.map(({ id, label }) => {
        const pressed = value === id;
        const color = id === "all" || id === "unread" ? undefined : BRANDS[id].color;
        return (
          <button
            key={id}
            type="button"
            aria-pressed={pressed}
            onClick={() => onChange(id)}
            className={`flex shrink-0 items-center gap-1.5 rounded-full border px-3 py-1 text-sm font-medium focus-visible:outline-2 focus-visible:outline-sky-500 ${
              pressed
                ? "border-slate-900 bg-slate-900 text-white dark:border-slate-100 dark:bg-slate-100 dark:text-slate-900"
                : "border-slate-300 text-slate-700 hover:bg-slate-100 dark:border-slate-700 dark:text-slate-300 dark:hover:bg-slate-800"
            }`}
          >
            {color ? <span aria-hidden="true" className="h-2 w-2 rounded-full" style={{ backgroundColor: color }} /> : null}
            {label}
          </button>
        );
      })}
    </div>
  );
}
