"use client";
// Write to anyone on any brand: pick which of my accounts speaks, then a contact (found by name or
// address) or any `brand:handle`.
// The address is checked locally (the brand's rule) and then with the relay's directory,
// so a person learns that an address does not exist before anything is sent.
import { useId, useState, type FormEvent } from "react";
import { BRANDS, brandOf, isAddressError, parseAddress, type Address } from "@/lib/brands";
import { addressExists, describeError, startChat } from "@/lib/hooks/actions";
import type { AccountRow } from "@/lib/hooks/types";
import { ContactPicker } from "../people/ContactPicker";
import { Dialog } from "../ui/Dialog";
import { FIELD, FormError, FromAccount, SubmitButton } from "../ui/FormParts";

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
  const ids = { from: useId(), to: useId(), hint: useId(), error: useId() };

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
      <FromAccount id={ids.from} value={from} accounts={accounts} onChange={setFrom} />
      <ContactPicker chosen={(address) => to === address} onPick={setTo} />
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
          className={FIELD}
        />
        <p id={ids.hint} className="text-xs text-slate-600 dark:text-slate-400">
          Any brand, as brand:handle — whatsapp:+15551234567, instagram:@alice or messenger:alice.smith.
        </p>
      </div>
      {error ? <FormError id={ids.error}>{error}</FormError> : null}
      <SubmitButton busy={busy}>Start chat</SubmitButton>
    </form>
  );
}
