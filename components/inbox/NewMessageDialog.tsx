"use client";
// Write to anyone on any brand: pick which of my accounts speaks, then a contact (found by name or
// address) or any `brand:handle`.
// The address is checked locally (the brand's rule) and then with the relay's directory,
// so a person learns that an address does not exist before anything is sent.
import { useId, useMemo, useState, type FormEvent } from "react";
import { BRANDS, brandOf, isAddressError, parseAddress, type Address } from "@/lib/brands";
import { addressExists, describeError, startChat } from "@/lib/hooks/actions";
import { filterContacts, useContacts } from "@/lib/hooks/people";
import type { AccountRow } from "@/lib/hooks/types";
import { BrandBadge } from "../ui/BrandBadge";
import { Dialog } from "../ui/Dialog";

interface Props {
  open: boolean;
  onClose: () => void;
  accounts: AccountRow[];
  onStarted: (conversationId: string) => void;
  /** An address to write to, filled in (a contact chosen in search). */
  initialTo?: Address;
}

export function NewMessageDialog({ open, onClose, accounts, onStarted, initialTo }: Props) {
  return (
    <Dialog open={open} onClose={onClose} title="New message">
      {/* remounted on every opening so no stale address or error survives */}
      {open ? <NewMessageForm accounts={accounts} onStarted={onStarted} initialTo={initialTo} /> : null}
    </Dialog>
  );
}

function NewMessageForm({ accounts, onStarted, initialTo }: Omit<Props, "open" | "onClose">) {
  // an address of a brand I have an account on is written to from that account
  const [from, setFrom] = useState<Address | "">((initialTo && accounts.find((a) => a.brand === brandOf(initialTo))?.address) ?? accounts[0]?.address ?? "");
  const [to, setTo] = useState<string>(initialTo ?? "");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { from: useId(), to: useId(), hint: useId(), error: useId(), find: useId() };
  const contacts = useContacts();
  const [find, setFind] = useState("");
  const matches = useMemo(() => (contacts ? filterContacts(contacts.contacts, find).slice(0, 5) : []), [contacts, find]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const sender = accounts.find((a) => a.address === from);
    if (!sender) {
      setError("Choose which of your accounts writes.");
      return;
    }
    const parsed = parseAddress(to);
    if (isAddressError(parsed)) {
      setError(parsed.message.charAt(0).toUpperCase() + parsed.message.slice(1) + ".");
      return;
    }
    if (parsed.address === sender.address) {
      setError("That is the account you are writing from.");
      return;
    }
    setBusy(true);
    try {
      if (!(await addressExists(parsed.address))) {
        setError(`No one has the ${BRANDS[parsed.brand].name} address ${parsed.handle}.`);
        return;
      }
      onStarted(await startChat(sender.address, parsed.address));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-4">
      <div className="flex flex-col gap-1">
        <label htmlFor={ids.from} className="text-sm font-medium">
          From
        </label>
        <select
          id={ids.from}
          value={from}
          onChange={(e) => setFrom(e.target.value as Address)}
          className="rounded-lg border border-slate-300 bg-white px-3 py-2 dark:border-slate-700 dark:bg-slate-950"
        >
          {accounts.map((account) => (
            <option key={account.address} value={account.address}>
              {BRANDS[account.brand].name} · {account.handle} ({account.displayName})
            </option>
          ))}
        </select>
      </div>
      {contacts && contacts.contacts.length > 0 ? (
        <div className="flex flex-col gap-1">
          <label htmlFor={ids.find} className="text-sm font-medium">
            Find a contact
          </label>
          <input
            id={ids.find}
            type="search"
            autoComplete="off"
            spellCheck={false}
            placeholder="Name or address"
            value={find}
            onChange={(e) => setFind(e.target.value)}
            className="rounded-lg border border-slate-300 bg-white px-3 py-2 text-base outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 dark:border-slate-700 dark:bg-slate-950"
          />
          {matches.length > 0 ? (
            <ul aria-label="Matching contacts" className="flex flex-col gap-1">
              {matches.map((c) => (
                <li key={c.address}>
                  <button
                    type="button"
                    aria-pressed={to === c.address}
                    onClick={() => setTo(c.address)}
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
      ) : null}
      <div className="flex flex-col gap-1">
        <label htmlFor={ids.to} className="text-sm font-medium">
          To
        </label>
        <input
          id={ids.to}
          type="text"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          data-autofocus
          placeholder="whatsapp:+15551234567"
          value={to}
          onChange={(e) => setTo(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${ids.hint}${error ? ` ${ids.error}` : ""}`}
          className="rounded-lg border border-slate-300 bg-white px-3 py-2 text-base outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 aria-[invalid]:border-red-500 dark:border-slate-700 dark:bg-slate-950"
        />
        <p id={ids.hint} className="text-xs text-slate-600 dark:text-slate-400">
          Any brand, as brand:handle — whatsapp:+15551234567, instagram:@alice or messenger:alice.smith.
        </p>
      </div>
      {error ? (
        <p id={ids.error} role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
          {error}
        </p>
      ) : null}
      <button
        type="submit"
        disabled={busy}
        aria-busy={busy || undefined}
        className="rounded-xl bg-sky-700 px-4 py-2.5 font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60"
      >
        Start chat
      </button>
    </form>
  );
}
