"use client";
import { useState } from "react";

/** True from the first time `open` is true on: a dialog loaded on demand mounts when first opened and stays mounted. */
export function useOpenedOnce(open: boolean): boolean {
  const [used, setUsed] = useState(open);
  if (open && !used) setUsed(true);
  return used || open;
}
