"use client";
// On a linked device: the primary holds the account keys, so a primary gone quiet for 14 days is worth
// saying (shown in Settings and in Linked devices). Nothing shows on the primary itself.
import { useState } from "react";
import { useMyDevices } from "@/lib/hooks/data";
import { deviceViews, primarySilence } from "@/lib/hooks/devices";
import type { Address } from "@/lib/brands";

export function PrimarySilentWarning({ address }: { address: Address | undefined }) {
  const list = useMyDevices(address);
  const [now] = useState(() => Date.now());
  const days = list ? primarySilence(deviceViews(list, now)) : null;
  if (days === null) return null;
  return (
    <p role="note" className="rounded-lg border border-amber-700 bg-amber-50 p-3 text-sm text-amber-950 dark:border-amber-300 dark:bg-amber-950 dark:text-amber-100">
      Your primary device has not been active for {days} days. Open Junction on it: it holds your account keys, and without it no device can be linked or removed.
    </p>
  );
}
