"use client";
import { useNotificationPermission } from "@/lib/hooks/notifications";

/** Offered until the person decides; after that the browser's own settings are the place to change it. */
export function NotificationsButton() {
  const [permission, ask] = useNotificationPermission();
  if (permission !== "default") return null;
  return (
    <button
      type="button"
      onClick={() => void ask()}
      className="rounded-lg px-2.5 py-1.5 text-sm font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 dark:hover:bg-slate-800"
    >
      Turn on notifications
    </button>
  );
}
