"use client";
// The person's card: every address I joined into this person, its brand, which of my accounts talks to
// it, and for each of those the safety number and whether I verified it. "Link another address" joins
// one more; "Unlink" takes one out. All of it stays on this device.
import { useEffect, useId, useMemo, useState, type FormEvent } from "react";
import { BRANDS, handleOf, isAddressError, parseAddress, type Address } from "@/lib/brands";
import { describeError, linkAddresses, safetyNumber, unlinkAddress } from "@/lib/hooks/actions";
import { filterContacts, useContacts, usePersonCard, type CardAddress, type Route } from "@/lib/hooks/people";
import { BrandBadge } from "../ui/BrandBadge";
import { Dialog } from "../ui/Dialog";
import { groupSafetyNumber } from "../format";
import { describePeopleError } from "./peopleError";

interface Props {
  open: boolean;
  onClose: () => void;
  /** An address of the person (the conversation's peer). */
  address: Address;
  /** What to call them until the card has loaded. */
  fallbackName: string;
}

const small =
  "rounded-lg border border-slate-300 px-2 py-1 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:border-slate-700 dark:hover:bg-slate-800";
const field =
  "rounded-lg border border-slate-300 bg-white px-3 py-2 text-base outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 dark:border-slate-700 dark:bg-slate-950";

export function PersonCardDialog({ open, onClose, address, fallbackName }: Props) {
  const card = usePersonCard(open ? address : null);
  return (
    <Dialog open={open} onClose={onClose} title={card?.name ?? fallbackName} description="Addresses you joined into one person. Only this device knows.">
      {open ? <CardBody address={address} /> : null}
    </Dialog>
  );
}

function CardBody({ address }: { address: Address }) {
  const card = usePersonCard(address);
  const [linking, setLinking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!card) return <p aria-busy="true" className="text-sm text-slate-600 dark:text-slate-400">Loading…</p>;
  const joined = card.addresses.length > 1;

  async function unlink(a: Address) {
    setError(null);
    try {
      await unlinkAddress(a);
    } catch (err) {
      setError(describePeopleError(err));
    }
  }

  return (
    <div className="flex flex-col gap-4">
      <ul aria-label="Addresses" className="flex flex-col gap-3">
        {card.addresses.map((entry) => (
          <li key={entry.address} className="rounded-xl border border-slate-200 p-3 dark:border-slate-700">
            <AddressCard entry={entry} canUnlink={joined} onUnlink={() => void unlink(entry.address)} />
          </li>
        ))}
      </ul>
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
      {card.suggestions.length > 0 ? (
        <p className="rounded-lg bg-amber-50 px-3 py-2 text-sm text-amber-950 dark:bg-amber-950 dark:text-amber-100">
          Possibly the same person (same name): {card.suggestions.join(", ")}. Link them only if you know it is so.
        </p>
      ) : null}
      {linking ? (
        <LinkForm address={address} exclude={card.addresses.map((a) => a.address)} suggestions={card.suggestions} onDone={() => setLinking(false)} />
      ) : (
        <button type="button" onClick={() => setLinking(true)} className={`${small} self-start`}>
          Link another address
        </button>
      )}
    </div>
  );
}

function AddressCard({ entry, canUnlink, onUnlink }: { entry: CardAddress; canUnlink: boolean; onUnlink: () => void }) {
  return (
    <div className="flex flex-col gap-2">
      <div className="flex items-start gap-2">
        <div className="min-w-0 flex-1">
          <p className="flex flex-wrap items-center gap-1.5 font-medium">
            <BrandBadge brand={entry.brand} />
            <span className="break-all">{entry.address}</span>
          </p>
          {entry.displayName ? <p className="text-xs text-slate-700 dark:text-slate-300">Calls themselves {entry.displayName}</p> : null}
        </div>
        {canUnlink ? (
          <button type="button" onClick={onUnlink} className={small}>
            Unlink
          </button>
        ) : null}
      </div>
      {entry.routes.length === 0 ? (
        <p className="text-sm text-slate-700 dark:text-slate-300">None of your accounts has talked to this address yet.</p>
      ) : (
        <ul aria-label={`Your accounts talking to ${entry.address}`} className="flex flex-col gap-2">
          {entry.routes.map((route) => (
            <li key={route.conversationId}>
              <RouteSafety route={route} verified={entry.identities.get(route.ourAddress)?.verified ?? false} known={entry.identities.has(route.ourAddress)} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function RouteSafety({ route, verified, known }: { route: Route; verified: boolean; known: boolean }) {
  const [digits, setDigits] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!known) return;
    let live = true;
    safetyNumber(route.conversationId)
      .then((r) => live && setDigits(r.digits))
      .catch((err: unknown) => live && setError(describeError(err)));
    return () => {
      live = false;
    };
  }, [route.conversationId, known]);
  return (
    <div className="text-sm">
      <p>
        With your {BRANDS[route.ourBrand].name} account {handleOf(route.ourAddress)} ·{" "}
        <span className={verified ? "font-semibold text-emerald-800 dark:text-emerald-300" : "text-slate-700 dark:text-slate-300"}>{verified ? "Verified" : "Not verified"}</span>
      </p>
      {!known ? (
        <p className="text-xs text-slate-700 dark:text-slate-300">Their key is not known yet.</p>
      ) : digits ? (
        <p className="font-mono text-xs tracking-wider tabular-nums text-slate-800 dark:text-slate-200">
          <span className="sr-only">Safety number: </span>
          {groupSafetyNumber(digits).join(" ")}
        </p>
      ) : error ? (
        <p className="text-xs text-red-700 dark:text-red-300">{error}</p>
      ) : (
        <p className="text-xs text-slate-600 dark:text-slate-400">Computing…</p>
      )}
    </div>
  );
}

function LinkForm({ address, exclude, suggestions, onDone }: { address: Address; exclude: Address[]; suggestions: Address[]; onDone: () => void }) {
  const contacts = useContacts();
  const [to, setTo] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputId = useId();
  const options = useMemo(() => {
    const list = (contacts ? filterContacts(contacts.contacts, to) : []).filter((c) => !exclude.includes(c.address));
    // same-name suggestions first
    return list.sort((a, b) => Number(suggestions.includes(b.address)) - Number(suggestions.includes(a.address))).slice(0, 6);
  }, [contacts, to, exclude, suggestions]);

  async function link(target: string) {
    setError(null);
    const parsed = parseAddress(target);
    if (isAddressError(parsed)) {
      setError(`${parsed.message.charAt(0).toUpperCase()}${parsed.message.slice(1)}.`);
      return;
    }
    setBusy(true);
    try {
      await linkAddresses(address, parsed.address);
      onDone();
    } catch (err) {
      setError(describePeopleError(err));
    } finally {
      setBusy(false);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    void link(to);
  }

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-2 border-t border-slate-200 pt-3 dark:border-slate-700">
      <label htmlFor={inputId} className="text-sm font-medium">
        Address to link
      </label>
      <div className="flex gap-2">
        <input id={inputId} autoFocus value={to} onChange={(e) => setTo(e.target.value)} autoComplete="off" autoCapitalize="none" spellCheck={false} placeholder="A name, or brand:handle" className={`${field} min-w-0 flex-1`} />
        <button type="submit" disabled={busy} className={small}>
          Link
        </button>
        <button type="button" onClick={onDone} className={small}>
          Cancel
        </button>
      </div>
      {options.length > 0 ? (
        <ul aria-label="Contacts to link" className="flex flex-col gap-1">
          {options.map((c) => (
            <li key={c.address}>
              <button type="button" onClick={() => void link(c.address)} disabled={busy} className={`${small} flex w-full items-center gap-2 text-left`}>
                <BrandBadge brand={c.brand} />
                <span className="truncate">{c.name}</span>
                <span className="ml-auto truncate text-xs text-slate-600 dark:text-slate-400">{c.address}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
    </form>
  );
}
