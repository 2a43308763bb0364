"use client";
// Contacts: everyone I have talked to, plus anyone I added by address, with the name they gave
// themselves and the name I give them. Find by name or address, add by address, rename, start a chat,
// and join the possible matches it suggests (only when I say so).
import { useId, useMemo, useState, type FormEvent } from "react";
import { BRANDS, isAddressError, parseAddress } from "@/lib/brands";
import { addContact, linkAddresses, setNickname, startChat } from "@/lib/hooks/actions";
import { filterContacts, useContacts, type ContactEntry } from "@/lib/hooks/people";
import type { AccountRow } from "@/lib/hooks/types";
import { BrandBadge } from "../ui/BrandBadge";
import { Dialog } from "../ui/Dialog";
import { describePeopleError } from "./peopleError";

interface Props {
  open: boolean;
  onClose: () => void;
  accounts: AccountRow[];
  /** A conversation to show (an existing one, or one just started). */
  onOpen: (conversationId: string) => void;
}

const field =
  "rounded-lg border border-slate-300 bg-white px-3 py-2 text-base outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 dark:border-slate-700 dark:bg-slate-950";
const small =
  "rounded-lg border border-slate-300 px-2 py-1 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-700 dark:hover:bg-slate-800";

export function ContactsDialog({ open, onClose, accounts, onOpen }: Props) {
  return (
    <Dialog open={open} onClose={onClose} title="Contacts" description="Names you give stay on this device; nobody else sees them.">
      {open ? <ContactsBody accounts={accounts} onOpen={onOpen} /> : null}
    </Dialog>
  );
}

function ContactsBody({ accounts, onOpen }: Omit<Props, "open" | "onClose">) {
  const view = useContacts();
  const [query, setQuery] = useState("");
  const [error, setError] = useState<string | null>(null);
  const searchId = useId();
  const shown = useMemo(() => (view ? filterContacts(view.contacts, query) : []), [view, query]);

  async function write(contact: ContactEntry) {
    setError(null);
    const route = contact.routes[0];
    if (route) {
      onOpen(route.conversationId);
      return;
    }
    const from = accounts[0];
    if (!from) return;
    try {
      onOpen(await startChat(from.address, contact.address));
    } catch (err) {
      setError(describePeopleError(err));
    }
  }

  async function join(addresses: string[]) {
    setError(null);
    try {
      const [first, ...rest] = addresses;
      for (const other of rest) if (first) await linkAddresses(first, other);
    } catch (err) {
      setError(describePeopleError(err));
    }
  }

  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-col gap-1">
        <label htmlFor={searchId} className="text-sm font-medium">
          Find a contact
        </label>
        <input id={searchId} type="search" data-autofocus autoComplete="off" spellCheck={false} value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Name or address" className={field} />
      </div>
      {view === undefined ? (
        <p aria-busy="true" className="text-sm text-slate-600 dark:text-slate-400">
          Loading contacts…
        </p>
      ) : shown.length === 0 ? (
        <p className="text-sm text-slate-700 dark:text-slate-300">{query ? "No contact matches." : "No contacts yet. Add one by address below."}</p>
      ) : (
        <ul aria-label="Your contacts" className="flex max-h-80 flex-col divide-y divide-slate-200 overflow-y-auto dark:divide-slate-800">
          {shown.map((contact) => (
            <li key={contact.address}>
              <ContactItem contact={contact} onWrite={() => void write(contact)} />
            </li>
          ))}
        </ul>
      )}
      {view && view.suggestions.length > 0 ? (
        <section aria-label="Possible matches" className="rounded-xl bg-amber-50 p-3 text-sm text-amber-950 dark:bg-amber-950 dark:text-amber-100">
          <h3 className="font-semibold">Possible matches</h3>
          <p className="mb-2">The same name on more than one brand. Join them only if they are the same person.</p>
          <ul className="flex flex-col gap-2">
            {view.suggestions.map((s) => (
              <li key={s.addresses.join(",")} className="flex flex-wrap items-center gap-2">
                <span className="font-medium">{s.name}</span>
                <span className="break-all text-xs">{s.addresses.join(", ")}</span>
                <button type="button" onClick={() => void join(s.addresses)} className={`${small} ml-auto border-amber-400 dark:border-amber-700`}>
                  Join as one person
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {error ? (
        <p role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
          {error}
        </p>
      ) : null}
      <AddContactForm />
    </div>
  );
}

function ContactItem({ contact, onWrite }: { contact: ContactEntry; onWrite: () => void }) {
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(contact.nickname ?? "");
  const [error, setError] = useState<string | null>(null);
  const inputId = useId();

  async function save(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await setNickname(contact.address, name.trim() || null);
      setRenaming(false);
    } catch (err) {
      setError(describePeopleError(err));
    }
  }

  return (
    <div className="flex flex-col gap-1 py-2">
      <div className="flex items-center gap-2">
        <div className="min-w-0 flex-1">
          <p className="truncate font-medium">{contact.name}</p>
          <p className="flex flex-wrap items-center gap-1 text-xs text-slate-700 dark:text-slate-300">
            <BrandBadge brand={contact.brand} />
            <span className="break-all">{contact.address}</span>
            {contact.nickname && contact.displayName ? <span>· calls themselves {contact.displayName}</span> : null}
          </p>
        </div>
        <button type="button" onClick={() => setRenaming(!renaming)} aria-label={`Rename ${contact.name}`} aria-expanded={renaming} className={small}>
          Rename
        </button>
        <button type="button" onClick={onWrite} aria-label={`Write to ${contact.name}`} className={small}>
          Write
        </button>
      </div>
      {renaming ? (
        <form onSubmit={save} className="flex items-end gap-2">
          <div className="flex flex-1 flex-col gap-1">
            <label htmlFor={inputId} className="text-xs font-medium">
              Your name for {contact.address}
            </label>
            <input id={inputId} autoFocus value={name} maxLength={100} onChange={(e) => setName(e.target.value)} placeholder={contact.displayName ?? ""} className={field} />
          </div>
          <button type="submit" className={small}>
            Save name
          </button>
        </form>
      ) : null}
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
    </div>
  );
}

function AddContactForm() {
  const [address, setAddress] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const ids = { address: useId(), name: useId() };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setAdded(null);
    const parsed = parseAddress(address);
    if (isAddressError(parsed)) {
      setError(`${parsed.message.charAt(0).toUpperCase()}${parsed.message.slice(1)}.`);
      return;
    }
    try {
      const canonical = await addContact(parsed.address, name.trim() || undefined);
      setAdded(`Added ${name.trim() || canonical} (${BRANDS[parsed.brand].name}).`);
      setAddress("");
      setName("");
    } catch (err) {
      setError(describePeopleError(err));
    }
  }

  return (
    <form onSubmit={submit} noValidate aria-label="Add a contact" className="flex flex-col gap-2 border-t border-slate-200 pt-4 dark:border-slate-700">
      <h3 className="font-semibold">Add a contact</h3>
      <div className="flex flex-col gap-1">
        <label htmlFor={ids.address} className="text-sm font-medium">
          Address
        </label>
        <input id={ids.address} value={address} onChange={(e) => setAddress(e.target.value)} autoComplete="off" autoCapitalize="none" spellCheck={false} placeholder="instagram:@alice" aria-invalid={error ? true : undefined} className={field} />
      </div>
      <div className="flex flex-col gap-1">
        <label htmlFor={ids.name} className="text-sm font-medium">
          Name (optional)
        </label>
        <input id={ids.name} value={name} maxLength={100} onChange={(e) => setName(e.target.value)} autoComplete="off" className={field} />
      </div>
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
      <p role="status" className="text-sm text-emerald-800 empty:hidden dark:text-emerald-200">
        {added ?? ""}
      </p>
      <button type="submit" className="self-start rounded-xl bg-sky-700 px-4 py-2 font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500">
        Add contact
      </button>
    </form>
  );
}
