"use client";
// First run on a new device: "Link to an existing account" shows a link code (a QR code and the same as
// text) for the device that holds the accounts. The accounts appear here once that device has linked this
// one, and the app leaves first run by itself. A link that fails (the code expired, the other device
// cancelled, the relay failed) says so, with a button to start again for a new code.
import { useState } from "react";
import { describeError, startLink } from "@/lib/hooks/actions";
import { useLinkState } from "@/lib/hooks/data";
import type { LinkFailure } from "@/lib/hooks/types";
import { QrCode } from "../conversation/QrCode";

/** A name the other device shows for this one: the browser and the system, as far as the browser says. */
function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  const system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac OS X/.test(ua) ? "macOS" : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
  return system ? `${browser} on ${system}` : browser;
}

const FAILURES: Record<LinkFailure, string> = {
  expired: "The link code expired before your other device used it.",
  cancelled: "The link was cancelled on your other device.",
  refused: "Your other device's answer could not be checked, so nothing was linked.",
  failed: "The link failed: the connection to the relay was lost.",
};

export function LinkThisDevice() {
  const [state, setState] = useState<"idle" | "starting" | { code: string } | { error: string }>("idle");
  const [copied, setCopied] = useState(false);
  const link = useLinkState();

  async function start() {
    setState("starting");
    try {
      setState(await startLink(deviceName()));
    } catch (error) {
      setState({ error: describeError(error) });
    }
  }

  // the link this code started failed: its reason, and a new code on request
  const failed = typeof state === "object" && "code" in state && link?.state === "failed" ? FAILURES[link.reason ?? "failed"] : null;
  if (state === "idle" || state === "starting" || "error" in state || failed) {
    const error = failed ?? (typeof state === "object" && "error" in state ? state.error : null);
    return (
      <div className="flex flex-col gap-2">
        <button
          type="button"
          onClick={() => void start()}
          disabled={state === "starting"}
          className="self-start rounded-xl border border-slate-300 px-4 py-2.5 font-semibold hover:bg-slate-100 disabled:opacity-50 dark:border-slate-700 dark:hover:bg-slate-800"
        >
          {failed ? "Start again" : "Link to an existing account"}
        </button>
        {error ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-300">
            {error}
          </p>
        ) : null}
      </div>
    );
  }
  const text = new TextEncoder().encode(state.code);
  return (
    <div className="flex flex-col items-start gap-3">
      <p className="text-sm text-slate-700 dark:text-slate-300">
        On the device that has your accounts, open Settings → Linked devices → Link a device, and scan this code or paste the text below.
      </p>
      <QrCode data={text} label="Link code" />
      <div className="flex w-full gap-2">
        <input
          readOnly
          value={state.code}
          aria-label="Link code"
          onFocus={(e) => e.currentTarget.select()}
          className="min-w-0 flex-1 rounded-lg border border-slate-300 bg-white px-3 py-1.5 font-mono text-sm dark:border-slate-700 dark:bg-slate-950"
        />
        <button
          type="button"
          onClick={() => void navigator.clipboard?.writeText(state.code).then(() => setCopied(true))}
          className="rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium dark:border-slate-700"
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      {link?.state === "waiting" && link.mistyped ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          The code typed on your other device does not match this one. Check it and type it again: this code still works.
        </p>
      ) : null}
      <p role="status" className="text-sm text-slate-700 dark:text-slate-300">
        Waiting for your other device… The code works for 10 minutes.
      </p>
    </div>
  );
}
