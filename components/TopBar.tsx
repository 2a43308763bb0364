"use client";
import { BRANDS } from "@/lib/brands";
import type { AccountRow, ConnectionStatus } from "@/lib/hooks/types";
import { ConnectionBadge } from "./ConnectionBadge";
import { InstallButton } from "./InstallButton";
import { NotificationsButton } from "./NotificationsButton";

interface Props {
  accounts: AccountRow[];
  status: ConnectionStatus | null;
  onNewMessage: () => void;
  onAddAccount: () => void;
  onDiagnostics: () => void;
}

const buttonClass =
  "rounded-lg px-2.5 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500";

export function TopBar({ accounts, status, onNewMessage, onAddAccount, onDiagnostics }: Props) {
  return (
    <header className="flex flex-wrap items-center gap-x-3 gap-y-1 border-b border-slate-200 bg-white px-3 py-2 dark:border-slate-800 dark:bg-slate-900">
      <h1 className="text-lg font-bold tracking-tight">Junction</h1>
      <ConnectionBadge status={status} />
      <ul aria-label="Your accounts" className="hidden min-w-0 flex-1 items-center gap-2 overflow-hidden lg:flex">
        {accounts.map((account) => (
          <li key={account.address} className="flex items-center gap-1 truncate text-xs text-slate-600 dark:text-slate-400" title={account.address}>
            <span aria-hidden="true" className="h-2 w-2 shrink-0 rounded-full" style={{ backgroundColor: BRANDS[account.brand].color }} />
            <span className="sr-only">{BRANDS[account.brand].name}</span>
            {account.handle}
          </li>
        ))}
      </ul>
      <div className="ml-auto flex items-center gap-1.5">
        <NotificationsButton />
        <InstallButton />
        <button type="button" onClick={onDiagnostics} className={`${buttonClass} text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800`}>
          Diagnostics
        </button>
        <button type="button" onClick={onAddAccount} className={`${buttonClass} hover:bg-slate-100 dark:hover:bg-slate-800`}>
          Add account
        </button>
        <button type="button" onClick={onNewMessage} className={`${buttonClass} bg-sky-600 text-white hover:bg-sky-700`}>
          New message
        </button>
      </div>
    </header>
  );
}
