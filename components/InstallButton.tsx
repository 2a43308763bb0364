"use client";
import { useInstallPrompt } from "@/lib/hooks/pwa";

/** Shown only while the browser offers installation (it fired beforeinstallprompt). */
export function InstallButton({ className = "" }: { className?: string }) {
  const install = useInstallPrompt();
  if (!install) return null;
  return (
    <button
      type="button"
      onClick={() => void install()}
      className={`rounded-lg border border-slate-300 px-2.5 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 dark:border-slate-700 ${className}`}
    >
      Install
    </button>
  );
}
