"use client";
import { Activity, BookUser, PenSquare, Settings, UserPlus, Users, type LucideIcon } from "lucide-react";
import { BRANDS } from "@/lib/brands";
import type { AccountRow, ConnectionStatus } from "@/lib/hooks/types";
import { ConnectionBadge } from "./ConnectionBadge";
import { InstallButton } from "./InstallButton";
import { NotificationsButton } from "./NotificationsButton";

interface Props {
  accounts: AccountRow[];
  status: ConnectionStatus | null;
  onNewMessage: () => void;
  onNewGroup: () => void;
  onAddAccount: () => void;
  onDiagnostics: () => void;
  onSettings: () => void;
  onContacts: () => void;
  /** On a narrow screen with a conversation open, the conversation's own header takes the top. */
  hiddenOnNarrow: boolean;
}

const buttonClass =
  "flex items-center gap-1.5 rounded-lg px-2.5 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600";

/** A bar button: its icon, and its label as its name and (from `words`' breakpoint up) as visible text. */
function BarButton({ label, icon: Icon, onClick, words = "hidden sm:inline", className = "hover:bg-slate-100 dark:hover:bg-slate-800" }: { label: string; icon: LucideIcon; onClick: () => void; words?: string; className?: string }) {
  return (
    <button type="button" onClick={onClick} aria-label={label} className={`${buttonClass} ${className}`}>
      <Icon aria-hidden="true" className="h-4 w-4" />
      <span aria-hidden="true" className={words}>
        {label}
      </span>
    </button>
  );
}

/** Icon buttons on small screens keep their words as accessible names (and as visible text from sm up). */
export function TopBar({ accounts, status, onNewMessage, onNewGroup, onAddAccount, onDiagnostics, onSettings, onContacts, hiddenOnNarrow }: Props) {
  return (
    <header
      className={`${hiddenOnNarrow ? "hidden md:flex" : "flex"} flex-wrap items-center gap-x-3 gap-y-1 border-b border-slate-200 bg-white px-3 py-2 dark:border-slate-800 dark:bg-slate-900`}
    >
      <h1 className="text-lg font-bold tracking-tight">Junction</h1>
      <ConnectionBadge status={status} />
      <ul aria-label="Your accounts" className="hidden min-w-0 flex-1 items-center gap-2 overflow-hidden lg:flex">
        {accounts.map((account) => (
          <li key={account.address} className="flex items-center gap-1 truncate text-xs text-slate-700 dark:text-slate-300" title={account.address}>
            <span aria-hidden="true" className="h-2 w-2 shrink-0 rounded-full" style={{ backgroundColor: BRANDS[account.brand].color }} />
            <span className="sr-only">{BRANDS[account.brand].name}</span>
            {account.handle}
          </li>
        ))}
      </ul>
      <div className="ml-auto flex items-center gap-1">
        <NotificationsButton />
        <InstallButton />
        <BarButton label="Diagnostics" icon={Activity} onClick={onDiagnostics} words="hidden xl:inline" className="text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800" />
        <BarButton label="Add account" icon={UserPlus} onClick={onAddAccount} />
        <BarButton label="Contacts" icon={BookUser} onClick={onContacts} />
        <BarButton label="Settings" icon={Settings} onClick={onSettings} />
        <BarButton label="New group" icon={Users} onClick={onNewGroup} />
        <BarButton label="New message" icon={PenSquare} onClick={onNewMessage} words="" className="bg-sky-700 text-white hover:bg-sky-800" />
      </div>
    </header>
  );
}
