"use client";
import { Archive } from "lucide-react";
import { BRANDS, type BrandId } from "@/lib/brands";
import type { InboxFilter } from "@/lib/hooks/types";

/**
 * Toggle buttons rather than tabs: each one filters the same list, and aria-pressed says which. A brand
 * chip means my account on that brand ("My WhatsApp"), so there is one only for brands where I have one.
 * The chips stay on one line and scroll sideways on a narrow screen.
 */
export function FilterBar({ value, onChange, brands }: { value: InboxFilter; onChange: (next: InboxFilter) => void; brands: readonly BrandId[] }) {
  const filters: { id: InboxFilter; label: string; title?: string }[] = [
    { id: "all", label: "All" },
    ...brands.map((id) => ({ id, label: `My ${BRANDS[id].name}`, title: `Conversations of my ${BRANDS[id].name} account` })),
    { id: "unread", label: "Unread" },
    { id: "groups", label: "Groups", title: "Group conversations" },
    { id: "archived", label: "Archived" },
  ];
  return (
    <div role="group" aria-label="Filter conversations" className="flex shrink-0 gap-1.5 overflow-x-auto px-3 py-2 [scrollbar-width:thin]">
      {filters.map(({ id, label, title }) => {
        const pressed = value === id;
        const color = id === "all" || id === "unread" || id === "archived" || id === "groups" ? undefined : BRANDS[id].color;
        return (
          <button
            key={id}
            type="button"
            aria-pressed={pressed}
            title={title}
            onClick={() => onChange(id)}
            className={`flex shrink-0 items-center gap-1.5 rounded-full border px-3 py-1 text-sm font-medium whitespace-nowrap focus-visible:outline-2 focus-visible:outline-sky-600 ${
              pressed
                ? "border-slate-900 bg-slate-900 text-white dark:border-slate-100 dark:bg-slate-100 dark:text-slate-900"
                : "border-slate-300 text-slate-800 hover:bg-slate-100 dark:border-slate-700 dark:text-slate-200 dark:hover:bg-slate-800"
            }`}
          >
            {color ? <span aria-hidden="true" className="h-2 w-2 rounded-full" style={{ backgroundColor: color }} /> : null}
            {id === "archived" ? <Archive aria-hidden="true" className="h-3.5 w-3.5" /> : null}
            {label}
          </button>
        );
      })}
    </div>
  );
}
