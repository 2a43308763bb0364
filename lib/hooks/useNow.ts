"use client";
import { useEffect, useState } from "react";

/**
 * True while `until` (ms since the epoch) is in the future, and re-renders the moment it passes: a
 * "typing…" that ends without any new write to the database still goes away on time.
 */
export function useUntil(until: number | undefined): boolean {
  const [now, setNow] = useState(() => Date.now());
  const active = until !== undefined && until > now;
  useEffect(() => {
    if (until === undefined) return;
    const left = until - Date.now();
    if (left <= 0) {
      setNow(Date.now());
      return;
    }
    const timer = setTimeout(() => setNow(Date.now()), left + 20);
    return () => clearTimeout(timer);
  }, [until]);
  // a new `until` in the future must show at once, before the effect has run
  return active || (until !== undefined && until > Date.now());
}
