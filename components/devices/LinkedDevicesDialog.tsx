"use client";
// Settings → Linked devices: the devices of my accounts as their signed list names them (each with its
// name, which any of my devices may change, its link date and when it was last active), a warning on a
// linked device whose primary has gone quiet, and linking a new one by the code it shows (pasted as text,
// or read from its QR code with the camera).
import { useState, type FormEvent } from "react";
import { confirmLink, linkDevice, describeError, removeDevice } from "@/lib/hooks/actions";
import { useMyDevices } from "@/lib/hooks/data";
import { deviceViews } from "@/lib/hooks/devices";
import { mediaByDefault, type AccountRow } from "@/lib/hooks/types";
import { Dialog } from "../ui/Dialog";
import { DeviceItem } from "./DeviceItem";
import { HistoryTransfer } from "./HistoryTransfer";
import { PrimarySilentWarning } from "./PrimarySilentWarning";
import { ScanCode } from "./ScanCode";
import { formatBytes } from "../format";

/**
 * "Include photos and files" starts checked up to this much (the files' own bytes) and this many files:
 * what a phone on mobile data sends in a few minutes, well inside the relay's room and upload limits per
 * device. Above it, the person sees the size and opts in.
 */

export function LinkedDevicesDialog({ open, onClose, accounts }: { open: boolean; onClose: () => void; accounts: AccountRow[] }) {
  const list = useMyDevices(accounts[0]?.address);
  const [linking, setLinking] = useState(false);
  const [code, setCode] = useState("");
  const [state, setState] = useState<"idle" | "busy" | { done: string } | { error: string }>("idle");
  const [asking, setAsking] = useState<{ name: string; linkId: string; media: { count: number; bytes: number } } | null>(null);
  const [sendHistory, setSendHistory] = useState(true);
  const [sendMedia, setSendMedia] = useState(false);
  const [now] = useState(() => Date.now());
  const views = list ? deviceViews(list, now) : [];
  // only the primary removes devices (a list without thisDevice is from before it was recorded: as before)
  const canRemove = !list?.thisDevice || views.some((v) => v.thisDevice && v.primary);

  async function remove(deviceId: string, name: string) {
    setState("busy");
    try {
      await removeDevice(deviceId);
      setState({ done: `Removed ${name}. It no longer gets your messages.` });
    } catch (error) {
      setState({ error: describeError(error) });
    }
  }

  async function link(event: FormEvent) {
    event.preventDefault();
    await linkCode(code);
  }

  /** The pasted code, or the one the camera read (then also shown in the field), as "Link device" takes it. */
  async function linkCode(text: string) {
    if (!text.trim()) {
      setState({ error: "Paste the code the new device shows." });
      return;
    }
    setState("busy");
    try {
      const asked = await linkDevice(text.trim());
      setAsking(asked);
      setSendHistory(true);
      setSendMedia(mediaByDefault(asked.media));
      setState("idle");
    } catch (error) {
      setState({ error: describeError(error) });
    }
  }

  async function answer(confirm: boolean) {
    if (!asking) return;
    const { name, linkId } = asking;
    setAsking(null);
    setState("busy");
    try {
      const { linked } = await confirmLink(linkId, confirm, sendHistory, sendHistory && sendMedia && asking.media.count > 0);
      setState({ done: linked ? `Linked ${name}.` : "Not linked." });
      setCode("");
      setLinking(false);
    } catch (error) {
      setState({ error: describeError(error) });
    }
  }

  return (
    <Dialog open={open} onClose={onClose} title="Linked devices">
      <div className="flex flex-col gap-4">
        {list === undefined ? (
          <p className="text-sm text-slate-700 dark:text-slate-300">Loading…</p>
        ) : list === null ? (
          <p className="text-sm text-slate-700 dark:text-slate-300">Your device list is published once this device is online.</p>
        ) : (
          <ul aria-label="Devices" className="flex flex-col divide-y divide-slate-200 dark:divide-slate-700">
            {views.map((v) => (
              <DeviceItem key={v.deviceId} device={v} onRemove={canRemove && !v.primary ? () => void remove(v.deviceId, v.name) : undefined} />
            ))}
          </ul>
        )}
        <PrimarySilentWarning address={accounts[0]?.address} />
        {asking ? (
          <div role="group" aria-label="Confirm the new device" className="flex flex-col gap-2 rounded-lg border border-slate-300 p-3 dark:border-slate-700">
            <p className="text-sm">
              Link <strong>{asking.name}</strong> to your accounts? It will get your messages from now on.
            </p>
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={sendHistory} onChange={(e) => setSendHistory(e.target.checked)} />
              Send my message history
            </label>
            {asking.media.count > 0 ? (
              <label className="ml-6 flex items-center gap-2 text-sm">
                <input type="checkbox" checked={sendHistory && sendMedia} disabled={!sendHistory} onChange={(e) => setSendMedia(e.target.checked)} />
                Include photos and files ({formatBytes(asking.media.bytes)})
              </label>
            ) : (
              <p className="ml-6 text-sm text-slate-600 dark:text-slate-400">No photos or files</p>
            )}
            <div className="flex gap-2">
              <button type="button" onClick={() => void answer(true)} className="rounded-lg bg-slate-900 px-3 py-1.5 text-sm font-semibold text-white dark:bg-slate-100 dark:text-slate-900">
                Confirm
              </button>
              <button type="button" onClick={() => void answer(false)} className="rounded-lg px-3 py-1.5 text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-800">
                Cancel
              </button>
            </div>
          </div>
        ) : linking ? (
          <form onSubmit={link} className="flex flex-col gap-2">
            <label className="text-sm font-medium" htmlFor="link-code">
              Code shown on the new device
            </label>
            <input
              id="link-code"
              data-autofocus
              value={code}
              aria-label="Link code"
              onChange={(e) => setCode(e.target.value)}
              autoComplete="off"
              className="rounded-lg border border-slate-300 bg-white px-3 py-1.5 font-mono text-sm dark:border-slate-700 dark:bg-slate-950"
            />
            <ScanCode
              onCode={(scanned) => {
                setCode(scanned);
                void linkCode(scanned);
              }}
              onError={(error) => setState({ error })}
            />
            <div className="flex gap-2">
              <button type="submit" disabled={state === "busy"} className="rounded-lg bg-slate-900 px-3 py-1.5 text-sm font-semibold text-white disabled:opacity-50 dark:bg-slate-100 dark:text-slate-900">
                Link device
              </button>
              <button type="button" onClick={() => setLinking(false)} className="rounded-lg px-3 py-1.5 text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-800">
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <button
            type="button"
            onClick={() => {
              setLinking(true);
              setState("idle");
            }}
            className="self-start rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-semibold dark:border-slate-700"
          >
            Link a device
          </button>
        )}
        <HistoryTransfer direction="out" />
        <p role="status" aria-live="polite" className="text-sm text-slate-700 dark:text-slate-300">
          {state === "busy" ? "Working…" : typeof state === "object" && "done" in state ? state.done : ""}
        </p>
        {typeof state === "object" && "error" in state ? (
          <p role="alert" className="text-sm text-red-700 dark:text-red-300">
            {state.error}
          </p>
        ) : null}
      </div>
    </Dialog>
  );
}
