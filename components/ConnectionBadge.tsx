"use client";
import type { ConnectionStatus } from "@/lib/hooks/types";

/** The one live region that says whether messages can go out right now. */
export function ConnectionBadge({ status }: { status: ConnectionStatus | null }) {
  const state = status === null ? "connecting" : status.online ? "online" : "offline";
  const text = { connecting: "Connecting…", online: "Online", offline: "Offline" }[state];
  const dot = { connecting: "bg-amber-400", online: "bg-emerald-500", offline: "bg-slate-400" }[state];
  return (
    <p
      role="status"
      aria-label="Connection"
      className={`flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ${
        state === "offline" ? "bg-amber-100 text-amber-900 dark:bg-amber-900/40 dark:text-amber-100" : "text-slate-700 dark:text-slate-300"
      }`}
    >
      <span aria-hidden="true" className={`h-2 w-2 rounded-full ${dot}`} />
      {text}
    </p>
  );
}
