"use client";
// Compare these 60 digits (or scan the code) with the other person, in person or over a channel
// you trust. Matching numbers prove no one sits between you; that is what "verified" records.
import { useEffect, useState } from "react";
import { describeError, safetyNumber, setVerified } from "@/lib/hooks/actions";
import { Dialog } from "../ui/Dialog";
import { groupSafetyNumber } from "../format";
import { QrCode } from "./QrCode";

interface Props {
  open: boolean;
  onClose: () => void;
  conversationId: string;
  peerName: string;
  /** Live verified state from the identities table, so the dialog follows changes from other tabs. */
  verified: boolean;
}

type Loaded = { digits: string; qr: Uint8Array } | { error: string } | null;

export function SafetyNumberDialog({ open, onClose, conversationId, peerName, verified }: Props) {
  const [loaded, setLoaded] = useState<Loaded>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    let live = true;
    setLoaded(null);
    setActionError(null);
    safetyNumber(conversationId)
      .then((result) => {
        if (live) setLoaded({ digits: result.digits, qr: result.qr });
      })
      .catch((err: unknown) => {
        if (live) setLoaded({ error: describeError(err) });
      });
    return () => {
      live = false;
    };
  }, [open, conversationId]);

  async function toggle() {
    setBusy(true);
    setActionError(null);
    try {
      await setVerified(conversationId, !verified);
    } catch (err) {
      setActionError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog open={open} onClose={onClose} title="Safety number" description={`Compare with ${peerName}'s screen. If every digit matches, your messages reach only them.`}>
      {loaded === null ? <p className="text-sm text-slate-600 dark:text-slate-400">Computing…</p> : null}
      {loaded && "error" in loaded ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          {loaded.error}
        </p>
      ) : null}
      {loaded && "digits" in loaded ? (
        <div className="flex flex-col items-center gap-4">
          <QrCode data={loaded.qr} label={`QR code of the safety number with ${peerName}`} />
          <p className="sr-only">Safety number: {groupSafetyNumber(loaded.digits).join(" ")}</p>
          <div aria-hidden="true" className="grid grid-cols-4 gap-x-4 gap-y-1 font-mono text-lg tracking-wider tabular-nums">
            {groupSafetyNumber(loaded.digits).map((group, i) => (
              <span key={i}>{group}</span>
            ))}
          </div>
          <p className="text-sm font-medium">{verified ? `✓ You verified ${peerName}.` : `Not verified yet.`}</p>
          {actionError ? (
            <p role="alert" className="text-sm text-red-700 dark:text-red-300">
              {actionError}
            </p>
          ) : null}
          <button
            type="button"
            onClick={() => void toggle()}
            disabled={busy}
            className="rounded-xl bg-slate-900 px-4 py-2 font-semibold text-white hover:bg-slate-700 disabled:opacity-60 dark:bg-slate-100 dark:text-slate-900"
          >
            {verified ? "Clear verification" : "Mark as verified"}
          </button>
        </div>
      ) : null}
    </Dialog>
  );
}
