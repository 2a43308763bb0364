"use client";
import { useId, useState } from "react";
import { changeGroup, describeError, describeGroupError, setDisappearing } from "@/lib/hooks/actions";
import { DISAPPEARING_TIMERS_MS } from "@/lib/hooks/types";
import { Dialog } from "../ui/Dialog";

const LABELS = ["Off", "24 hours", "7 days", "90 days"] as const;

/**
 * Picks the conversation's disappearing-message timer; both sides switch when the change arrives. In a group
 * it is a change of the group (admins only), and every member switches with it.
 */
export function DisappearingDialog({ open, onClose, conversationId, current, group = false }: { open: boolean; onClose: () => void; conversationId: string; current: number; group?: boolean }) {
  const name = useId();
  const [error, setError] = useState<string | null>(null);
  // the choice shows at once; the conversation row catches up when the engine has stored it
  const [chosen, setChosen] = useState<number | null>(null);
  const shown = chosen ?? current ?? 0;

  async function choose(ms: number) {
    setError(null);
    setChosen(ms);
    try {
      if (group) await changeGroup(conversationId, { type: "timer", expiresInMs: ms });
      else await setDisappearing(conversationId, ms);
    } catch (err) {
      setChosen(null);
      setError(group ? describeGroupError(err) : describeError(err));
    }
  }

  return (
    <Dialog
      open={open}
      onClose={() => {
        setChosen(null);
        onClose();
      }}
      title="Disappearing messages"
      description={group ? "New messages in this group disappear for everyone after the time you choose. Admins choose it." : "New messages in this chat disappear from both sides after the time you choose."}>
      <fieldset>
        <legend className="sr-only">Timer</legend>
        <div className="flex flex-col gap-1">
          {DISAPPEARING_TIMERS_MS.map((ms, i) => (
            <label key={ms} className="flex cursor-pointer items-center gap-3 rounded-lg px-2 py-2 hover:bg-slate-100 dark:hover:bg-slate-800">
              <input type="radio" name={name} checked={shown === ms} onChange={() => void choose(ms)} className="h-4 w-4 accent-sky-700" />
              {LABELS[i]}
            </label>
          ))}
          {current && !(DISAPPEARING_TIMERS_MS as readonly number[]).includes(current) ? (
            <p className="px-2 text-sm text-slate-700 dark:text-slate-300">Now: a custom timer of {Math.round(current / 1000)} seconds.</p>
          ) : null}
        </div>
      </fieldset>
      {error ? (
        <p role="alert" className="mt-3 text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
    </Dialog>
  );
}
