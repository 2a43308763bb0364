"use client";
// What the engine has been through, for a person reporting a problem: its counters (dropped
// envelopes, failed sends, recoveries) and its newest log lines. Both carry counts and codes only,
// never message text or keys, so they are safe to copy into a bug report.
import { useCallback, useEffect, useId, useState } from "react";
import { describeError, diagnostics } from "@/lib/hooks/actions";
import type { Diagnostics } from "@/lib/hooks/types";
import { Dialog } from "../ui/Dialog";

/** Log lines shown, newest first; the worker keeps more. */
const SHOWN_LINES = 100;

type Loaded = { data: Diagnostics; at: number } | { error: string } | null;

function clock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function detailText(detail: Record<string, string | number | boolean> | undefined): string {
  if (!detail) return "";
  return Object.entries(detail)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(" ");
}

export function DiagnosticsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [loaded, setLoaded] = useState<Loaded>(null);
  const [busy, setBusy] = useState(false);
  const countersId = useId();
  const logId = useId();

  const load = useCallback(async () => {
    setBusy(true);
    try {
      setLoaded({ data: await diagnostics(), at: Date.now() });
    } catch (err) {
      setLoaded({ error: describeError(err) });
    } finally {
      setBusy(false);
    }
  }, []);

  useEffect(() => {
    if (!open) return;
    setLoaded(null);
    void load();
  }, [open, load]);

  const data = loaded && "data" in loaded ? loaded.data : null;
  const counters = data ? Object.entries(data.counters).sort(([a], [b]) => a.localeCompare(b)) : [];
  const lines = data ? data.log.slice(-SHOWN_LINES).reverse() : [];

  return (
    <Dialog open={open} onClose={onClose} title="Diagnostics" description="What this device's engine counted and logged. No message text or keys are kept here.">
      <div className="flex flex-col gap-4" aria-busy={busy}>
        {loaded === null ? <p className="text-sm text-slate-600 dark:text-slate-400">Loading…</p> : null}
        {loaded && "error" in loaded ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-300">
            {loaded.error}
          </p>
        ) : null}
        {data ? (
          <>
            <section aria-labelledby={countersId}>
              <h3 id={countersId} className="mb-1 text-sm font-semibold">
                Counters
              </h3>
              {counters.length === 0 ? (
                <p className="text-sm text-slate-600 dark:text-slate-400">Nothing counted yet.</p>
              ) : (
                <table className="w-full text-sm">
                  <thead className="sr-only">
                    <tr>
                      <th scope="col">Counter</th>
                      <th scope="col">Value</th>
                    </tr>
                  </thead>
                  <tbody>
                    {counters.map(([name, value]) => (
                      <tr key={name} className="border-b border-slate-100 last:border-0 dark:border-slate-800">
                        <th scope="row" className="py-0.5 pr-4 text-left font-mono font-normal">
                          {name}
                        </th>
                        <td className="py-0.5 text-right font-mono tabular-nums">{value}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section aria-labelledby={logId}>
              <h3 id={logId} className="mb-1 text-sm font-semibold">
                Recent log, newest first
              </h3>
              {lines.length === 0 ? (
                <p className="text-sm text-slate-600 dark:text-slate-400">No log lines yet.</p>
              ) : (
                <ol
                  aria-labelledby={logId}
                  tabIndex={0}
                  className="max-h-64 overflow-y-auto rounded-lg bg-slate-50 p-2 font-mono text-xs outline-none focus-visible:ring-2 focus-visible:ring-sky-500 dark:bg-slate-950"
                >
                  {lines.map((line, i) => (
                    <li key={`${line.at}-${i}`} className="flex gap-2 py-0.5">
                      <time dateTime={new Date(line.at).toISOString()} className="shrink-0 text-slate-600 dark:text-slate-400">
                        {clock(line.at)}
                      </time>
                      <span className={`shrink-0 ${line.level === "warn" ? "font-semibold text-amber-700 dark:text-amber-300" : "text-slate-600 dark:text-slate-400"}`}>
                        {line.level}
                      </span>
                      <span className="break-anywhere">
                        {line.event}
                        {line.detail ? <span className="text-slate-600 dark:text-slate-400"> {detailText(line.detail)}</span> : null}
                      </span>
                    </li>
                  ))}
                </ol>
              )}
            </section>
          </>
        ) : null}
        <div className="flex justify-end">
          <button
            type="button"
            onClick={() => void load()}
            disabled={busy}
            className="rounded-xl border border-slate-300 px-3 py-1.5 text-sm font-semibold hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            Refresh
          </button>
        </div>
      </div>
    </Dialog>
  );
}
