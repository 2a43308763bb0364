"use client";
import { useEffect, useState } from "react";

/** An object URL for a Blob (or bytes) while the component shows it; revoked when it goes. */
export function useObjectUrl(data: Blob | Uint8Array | null | undefined, type?: string): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!data) {
      setUrl(null);
      return;
    }
    const blob = data instanceof Blob ? data : new Blob([data as BlobPart], type ? { type } : {});
    const next = URL.createObjectURL(blob);
    setUrl(next);
    return () => URL.revokeObjectURL(next);
  }, [data, type]);
  return url;
}

/** Offers a Blob as a download under `name` (the browser's own save). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
