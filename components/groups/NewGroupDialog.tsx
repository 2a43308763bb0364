"use client";
// "New group": a name, which of my accounts holds it, and members of any brand, picked from my contacts or
// typed as brand:handle (each checked by its brand's rule here and by the directory when the group is made).
import { useId, useState, type FormEvent } from "react";
import { brandOf, isAddressError, parseAddress, type Address } from "@/lib/brands";
import { createGroup, describeGroupError } from "@/lib/hooks/actions";
import type { AccountRow } from "@/lib/hooks/types";
import { ContactPicker } from "../people/ContactPicker";
import { BrandBadge } from "../ui/BrandBadge";
import { Dialog } from "../ui/Dialog";
import { FIELD, FormError, FromAccount, SubmitButton } from "../ui/FormParts";

interface Props {
  open: boolean;
  onClose: () => void;
  accounts: AccountRow[];
  onCreated: (conversationId: string) => void;
}

export function NewGroupDialog({ open, onClose, accounts, onCreated }: Props) {
  return (
    <Dialog open={open} onClose={onClose} title="New group">
      {open ? <NewGroupForm accounts={accounts} onCreated={onCreated} /> : null}
    </Dialog>
  );
}

/** How a field for a brand:handle behaves (no autocorrection, no capitals). */
export const ADDRESS_INPUT = { type: "text", autoComplete: "off", autoCapitalize: "none", spellCheck: false, placeholder: "whatsapp:+15551234567" } as const;

/** A brand:handle typed into "Add member", or the reason it is not one. */
export function parseMember(input: string): { address: Address } | { error: string } {
  const parsed = parseAddress(input.trim());
  if (isAddressError(parsed)) return { error: parsed.message.charAt(0).toUpperCase() + parsed.message.slice(1) + "." };
  return { address: parsed.address };
}

function NewGroupForm({ accounts, onCreated }: Omit<Props, "open" | "onClose">) {
  const [from, setFrom] = useState<Address | "">(accounts[0]?.address ?? "");
  const [name, setName] = useState("");
  const [member, setMember] = useState("");
  const [members, setMembers] = useState<Address[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { from: useId(), name: useId(), member: useId(), hint: useId(), error: useId() };

  function add(): boolean {
    if (!member.trim()) return true;
    const parsed = parseMember(member);
    if ("error" in parsed) {
      setError(parsed.error);
      return false;
    }
    if (parsed.address === from) {
      setError("You are in the group already.");
      return false;
    }
    setMembers((list) => (list.includes(parsed.address) ? list : [...list, parsed.address]));
    setMember("");
    setError(null);
    return true;
  }

  /** A contact chosen in "Find a contact" joins the members, or leaves them when chosen again. */
  function toggle(address: Address) {
    setMembers((list) => (list.includes(address) ? list.filter((x) => x !== address) : [...list, address]));
    setError(null);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    // a member typed but not yet added with Enter counts too
    const typed = member.trim() ? parseMember(member) : null;
    if (!add()) return;
    const all = typed && "address" in typed && typed.address !== from ? [...new Set([...members, typed.address])] : members;
    if (!from) return setError("Choose which of your accounts holds the group.");
    if (!name.trim()) return setError("Give the group a name.");
    if (all.length === 0) return setError("Add at least one member.");
    setBusy(true);
    try {
      onCreated(await createGroup(from, name.trim(), all));
    } catch (err) {
      setError(describeGroupError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-4">
      <div className="flex flex-col gap-1">
        <label htmlFor={ids.name} className="text-sm font-medium">
          Group name
        </label>
        <input id={ids.name} data-autofocus type="text" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} className={FIELD} />
      </div>
      <FromAccount id={ids.from} value={from} accounts={accounts} onChange={setFrom} />
      <ContactPicker chosen={(address) => members.includes(address)} onPick={toggle} exclude={from || undefined} />
      <div className="flex flex-col gap-1">
        <label htmlFor={ids.member} className="text-sm font-medium">
          Add member
        </label>
        <div className="flex gap-2">
          <input
            id={ids.member}
            {...ADDRESS_INPUT}
            value={member}
            onChange={(e) => setMember(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && member.trim()) {
                e.preventDefault();
                add();
              }
            }}
            aria-invalid={error ? true : undefined}
            aria-describedby={`${ids.hint}${error ? ` ${ids.error}` : ""}`}
            className={`${FIELD} min-w-0 flex-1`}
          />
          <button
            type="button"
            onClick={add}
            className="rounded-lg border border-slate-300 px-3 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            Add
          </button>
        </div>
        <p id={ids.hint} className="text-xs text-slate-600 dark:text-slate-400">
          Any brand, as brand:handle; press Enter after each. Up to 1,024 members with you.
        </p>
        {members.length > 0 ? (
          <ul aria-label="New members" className="flex flex-wrap gap-1.5">
            {members.map((m) => (
              <li key={m} className="flex items-center gap-1 rounded-full bg-slate-100 py-0.5 pr-1 pl-2 text-sm dark:bg-slate-800">
                {brandOf(m) ? <BrandBadge brand={brandOf(m)!} /> : null}
                <span>{m.slice(m.indexOf(":") + 1)}</span>
                <button
                  type="button"
                  aria-label={`Remove ${m}`}
                  onClick={() => setMembers((list) => list.filter((x) => x !== m))}
                  className="rounded-full px-1 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-700"
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      {error ? <FormError id={ids.error}>{error}</FormError> : null}
      <SubmitButton busy={busy}>Create group</SubmitButton>
    </form>
  );
}
