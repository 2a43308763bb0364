"use client";
// The pieces the "write to someone" forms share: which of my accounts speaks, the refusal shown under the
// fields, and the one primary button.
import type { ReactNode } from "react";
import { BRANDS, type Address } from "@/lib/brands";
import type { AccountRow } from "@/lib/hooks/types";

export const FIELD =
  "rounded-lg border border-slate-300 bg-white px-3 py-2 text-base outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 aria-[invalid]:border-red-500 dark:border-slate-700 dark:bg-slate-950";

/** "From": which of my accounts writes (or holds the group). */
export function FromAccount({ id, value, accounts, onChange }: { id: string; value: Address | ""; accounts: AccountRow[]; onChange: (address: Address) => void }) {
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium">
        From
      </label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as Address)} className={FIELD}>
        {accounts.map((account) => (
          <option key={account.address} value={account.address}>
            {BRANDS[account.brand].name} · {account.handle} ({account.displayName})
          </option>
        ))}
      </select>
    </div>
  );
}

/** Why the form was refused, named by `id` so the field it concerns can point at it. */
export function FormError({ id, children }: { id: string; children: ReactNode }) {
  return (
    <p id={id} role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
      {children}
    </p>
  );
}

export function SubmitButton({ busy, children }: { busy: boolean; children: ReactNode }) {
  return (
    <button
      type="submit"
      disabled={busy}
      aria-busy={busy || undefined}
      className="rounded-xl bg-sky-700 px-4 py-2.5 font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60"
    >
      {children}
    </button>
  );
}
