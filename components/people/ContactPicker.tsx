"use client";
// "Find a contact": my contacts found by name or address, five at a time, each a toggle button. Shown only
// once I have contacts; choosing one is the form's business (write to them, or add them to a group).
import { useId, useMemo, useState } from "react";
import type { Address } from "@/lib/brands";
import { filterContacts, useContacts } from "@/lib/hooks/people";
import { BrandBadge } from "../ui/BrandBadge";
import { FIELD } from "../ui/FormParts";

/** How many matches are offered at once. */
const MATCHES_SHOWN = 5;

export function ContactPicker({ chosen, onPick, exclude }: { chosen: (address: Address) => boolean; onPick: (address: Address) => void; exclude?: Address }) {
  const id = useId();
  const contacts = useContacts();
  const [find, setFind] = useState("");
  const matches = useMemo(
    () => (contacts ? filterContacts(contacts.contacts, find).filter((c) => c.address !== exclude).slice(0, MATCHES_SHOWN) : []),
    [contacts, find, exclude],
  );
  if (!contacts || contacts.contacts.length === 0) return null;
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium">
        Find a contact
      </label>
      <input id={id} type="search" autoComplete="off" spellCheck={false} placeholder="Name or address" value={find} onChange={(e) => setFind(e.target.value)} className={FIELD} />
      {matches.length > 0 ? (
        <ul aria-label="Matching contacts" className="flex flex-col gap-1">
          {matches.map((c) => (
            <li key={c.address}>
              <button
                type="button"
                aria-pressed={chosen(c.address)}
                onClick={() => onPick(c.address)}
                className="flex w-full items-center gap-2 rounded-lg border border-slate-200 px-2 py-1 text-left text-sm hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 aria-pressed:border-sky-700 aria-pressed:bg-sky-50 dark:border-slate-700 dark:hover:bg-slate-800 dark:aria-pressed:border-sky-300 dark:aria-pressed:bg-sky-950"
              >
                <BrandBadge brand={c.brand} />
                <span className="truncate font-medium">{c.name}</span>
                <span className="ml-auto truncate text-xs text-slate-600 dark:text-slate-400">{c.address}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="text-xs text-slate-600 dark:text-slate-400">No contact matches; type the address below.</p>
      )}
    </div>
  );
}
