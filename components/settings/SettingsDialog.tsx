"use client";
// Settings: my accounts' display names, read receipts, one row per person, theme, notifications, and logging out.
import { LogOut } from "lucide-react";
import { useId, useState, type FormEvent } from "react";
import { BRANDS } from "@/lib/brands";
import { describeError, setDisplayName, updateSettings } from "@/lib/hooks/actions";
import { useSettings } from "@/lib/hooks/data";
import { useNotificationPermission } from "@/lib/hooks/notifications";
import type { AccountRow, Settings } from "@/lib/hooks/types";
import { Dialog } from "../ui/Dialog";
import { StorageSection } from "./StorageSection";
import { LinkedDevicesDialog } from "../devices/LinkedDevicesDialog";
import { PrimarySilentWarning } from "../devices/PrimarySilentWarning";

interface Props {
  open: boolean;
  onClose: () => void;
  accounts: AccountRow[];
  onLogOut: () => void;
}

const THEMES: { id: Settings["theme"]; label: string }[] = [
  { id: "system", label: "System" },
  { id: "light", label: "Light" },
  { id: "dark", label: "Dark" },
];

export function SettingsDialog({ open, onClose, accounts, onLogOut }: Props) {
  const stored = useSettings();
  // what was just chosen shows at once; the stored settings catch up a moment later
  const [chosen, setChosen] = useState<Partial<Settings>>({});
  const settings = { ...stored, ...chosen };
  const [error, setError] = useState<string | null>(null);
  const receiptsId = useId();
  const themeName = useId();
  const [devicesOpen, setDevicesOpen] = useState(false);

  function change(patch: Partial<Settings>) {
    setError(null);
    setChosen((current) => ({ ...current, ...patch }));
    updateSettings(patch).catch((err: unknown) => {
      setChosen({});
      setError(describeError(err));
    });
  }

  return (
    <Dialog
      open={open}
      onClose={() => {
        setChosen({});
        onClose();
      }}
      title="Settings"
    >
      <div className="flex flex-col gap-6">
        <section aria-labelledby={`${receiptsId}-accounts`}>
          <h3 id={`${receiptsId}-accounts`} className="mb-2 font-semibold">
            Your accounts
          </h3>
          <ul className="flex flex-col gap-3">
            {accounts.map((account) => (
              <li key={account.address}>
                <DisplayNameForm account={account} />
              </li>
            ))}
          </ul>
        </section>

        <section aria-labelledby={`${receiptsId}-privacy`} className="flex flex-col gap-3">
          <h3 id={`${receiptsId}-privacy`} className="font-semibold">
            Privacy
          </h3>
          <SwitchRow
            id={receiptsId}
            label="Read receipts"
            description="When off, people do not see when you have read their messages, and you do not see when they read yours."
            on={settings.readReceipts}
            onToggle={() => change({ readReceipts: !settings.readReceipts })}
          />
        </section>

        <section aria-labelledby={`${receiptsId}-inbox`} className="flex flex-col gap-3">
          <h3 id={`${receiptsId}-inbox`} className="font-semibold">
            Inbox
          </h3>
          <SwitchRow
            id={`${receiptsId}-person`}
            label="One row per person"
            description="Someone whose addresses you joined shows once, with one timeline of all your conversations with them. Off, each conversation has its own row again; nothing is lost either way."
            on={settings.onePerPerson}
            onToggle={() => change({ onePerPerson: !settings.onePerPerson })}
          />
        </section>

        <fieldset>
          <legend className="mb-2 font-semibold">Theme</legend>
          <div className="flex gap-2">
            {THEMES.map((theme) => (
              <label
                key={theme.id}
                className="relative flex flex-1 cursor-pointer items-center justify-center gap-2 rounded-lg border border-slate-300 px-3 py-2 text-sm font-medium has-[:checked]:border-sky-700 has-[:checked]:bg-sky-50 has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-sky-600 dark:border-slate-700 dark:has-[:checked]:border-sky-300 dark:has-[:checked]:bg-sky-950"
              >
                <input type="radio" name={themeName} checked={settings.theme === theme.id} onChange={() => change({ theme: theme.id })} className="absolute inset-0 cursor-pointer appearance-none rounded-lg opacity-0" />
                {theme.label}
              </label>
            ))}
          </div>
        </fieldset>

        <section className="flex items-start justify-between gap-4">
          <div>
            <h3 className="font-semibold">Linked devices</h3>
            <p className="text-sm text-slate-700 dark:text-slate-300">Use your accounts on another browser or computer.</p>
          </div>
          <button type="button" onClick={() => setDevicesOpen(true)} className="shrink-0 rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium dark:border-slate-700">
            Linked devices
          </button>
        </section>
        <PrimarySilentWarning address={accounts[0]?.address} />
        {devicesOpen ? <LinkedDevicesDialog open onClose={() => setDevicesOpen(false)} accounts={accounts} /> : null}

        <Notifications />

        <StorageSection />

        {error ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-300">
            {error}
          </p>
        ) : null}

        <section className="border-t border-slate-200 pt-4 dark:border-slate-700">
          <button
            type="button"
            onClick={onLogOut}
            className="flex items-center gap-2 rounded-lg border border-red-700 px-3 py-2 text-sm font-semibold text-red-700 hover:bg-red-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:border-red-300 dark:text-red-300 dark:hover:bg-red-950"
          >
            <LogOut aria-hidden="true" className="h-4 w-4" />
            Log out
          </button>
          <p className="mt-1 text-xs text-slate-700 dark:text-slate-300">Removes every account, key and message from this device.</p>
        </section>
      </div>
    </Dialog>
  );
}

function DisplayNameForm({ account }: { account: AccountRow }) {
  const id = useId();
  const [name, setName] = useState(account.displayName);
  const [state, setState] = useState<"idle" | "saving" | "saved" | { error: string }>("idle");
  const label = `Display name for ${BRANDS[account.brand].name} ${account.handle}`;

  async function save(event: FormEvent) {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setState({ error: "A display name cannot be empty." });
      return;
    }
    setState("saving");
    try {
      await setDisplayName(account.address, trimmed);
      setState("saved");
    } catch (err) {
      setState({ error: describeError(err) });
    }
  }

  return (
    <form onSubmit={save} className="flex flex-col gap-1">
      <label htmlFor={id} className="flex items-center gap-1.5 text-sm">
        <span aria-hidden="true" className="h-2 w-2 rounded-full" style={{ backgroundColor: BRANDS[account.brand].color }} />
        <span className="sr-only">Display name for </span>
        <span className="font-medium">{BRANDS[account.brand].name}</span>
        <span className="text-slate-700 dark:text-slate-300">{account.handle}</span>
      </label>
      <div className="flex gap-2">
        <input
          id={id}
          value={name}
          maxLength={64}
          onChange={(e) => {
            setName(e.target.value);
            setState("idle");
          }}
          aria-label={label}
          dir="auto"
          className="min-w-0 flex-1 rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-base dark:border-slate-700 dark:bg-slate-950"
        />
        <button
          type="submit"
          disabled={state === "saving" || name.trim() === account.displayName}
          className="rounded-lg bg-slate-900 px-3 py-1.5 text-sm font-semibold text-white disabled:opacity-50 dark:bg-slate-100 dark:text-slate-900"
        >
          Save
        </button>
      </div>
      <p aria-live="polite" className="text-xs text-slate-700 dark:text-slate-300">
        {state === "saved" ? "Saved. People you write to see it with your next message." : typeof state === "object" ? state.error : ""}
      </p>
    </form>
  );
}

function Notifications() {
  const [permission, ask] = useNotificationPermission();
  const text = {
    default: "Off. Turn them on to hear about new messages while Junction is in the background.",
    granted: "On. Muted conversations stay quiet.",
    denied: "Blocked in this browser's site settings.",
    unsupported: "This browser does not offer notifications.",
  }[permission];
  return (
    <section className="flex items-start justify-between gap-4">
      <div>
        <h3 className="font-semibold">Notifications</h3>
        <p className="text-sm text-slate-700 dark:text-slate-300">{text}</p>
      </div>
      {permission === "default" ? (
        <button type="button" onClick={() => void ask()} className="shrink-0 rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium dark:border-slate-700">
          Turn on
        </button>
      ) : null}
    </section>
  );
}

export function LogOutDialog({ open, onClose, onConfirm }: { open: boolean; onClose: () => void; onConfirm: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} title="Log out of this device?">
      <p className="text-sm">
        Logging out deletes <strong>all your message history and your keys</strong> on this device, for every account on it. Messages that arrive
        later cannot be read here. This cannot be undone.
      </p>
      <div className="mt-5 flex justify-end gap-2">
        <button type="button" onClick={onClose} className="rounded-lg px-3 py-2 text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-800">
          Cancel
        </button>
        <button type="button" onClick={onConfirm} className="rounded-lg bg-red-700 px-3 py-2 text-sm font-semibold text-white hover:bg-red-800">
          Log out
        </button>
      </div>
    </Dialog>
  );
}

/** A setting that is on or off: its name and what it does, and a switch named by them. */
function SwitchRow({ id, label, description, on, onToggle }: { id: string; label: string; description: string; on: boolean; onToggle: () => void }) {
  return (
    <div className="flex items-start justify-between gap-4">
      <div>
        <p id={id} className="font-medium">
          {label}
        </p>
        <p id={`${id}-desc`} className="text-sm text-slate-700 dark:text-slate-300">
          {description}
        </p>
      </div>
      <button
        type="button"
        role="switch"
        aria-checked={on}
        aria-labelledby={id}
        aria-describedby={`${id}-desc`}
        onClick={onToggle}
        className={`relative mt-1 h-6 w-11 shrink-0 rounded-full transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 ${
          on ? "bg-sky-700" : "bg-slate-400 dark:bg-slate-600"
        }`}
      >
        <span aria-hidden="true" className={`absolute top-0.5 left-0.5 h-5 w-5 rounded-full bg-white shadow transition-transform ${on ? "translate-x-5" : ""}`} />
      </button>
    </div>
  );
}
