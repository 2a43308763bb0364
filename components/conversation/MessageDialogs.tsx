"use client";
// The dialogs a message's actions open: delete (for me / for everyone) and info (sent, delivered, read).
import { useState } from "react";
import { deleteMessage, describeError } from "@/lib/hooks/actions";
import type { MessageRow } from "@/lib/hooks/types";
import { Dialog } from "../ui/Dialog";
import { canDeleteForEveryone } from "./MessageBubble";

export function DeleteMessageDialog({ message, onClose }: { message: MessageRow | null; onClose: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const forEveryone = message ? canDeleteForEveryone(message) : false;

  async function remove(everyone: boolean) {
    if (!message) return;
    setBusy(true);
    setError(null);
    try {
      await deleteMessage(message.conversationId, message.id, everyone);
      onClose();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog
      open={message !== null}
      onClose={() => {
        setError(null);
        onClose();
      }}
      title="Delete message?"
      description={
        forEveryone
          ? "Delete it from this device only, or for everyone in this conversation."
          : "It is deleted from this device only; the other side keeps their copy."
      }
    >
      {error ? (
        <p role="alert" className="mb-3 text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
      <div className="flex flex-wrap justify-end gap-2">
        <button type="button" onClick={onClose} className="rounded-lg px-3 py-2 text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-800">
          Cancel
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() => void remove(false)}
          className="rounded-lg border border-red-700 px-3 py-2 text-sm font-semibold text-red-700 hover:bg-red-50 disabled:opacity-60 dark:border-red-300 dark:text-red-300 dark:hover:bg-red-950"
        >
          Delete for me
        </button>
        {forEveryone ? (
          <button
            type="button"
            disabled={busy}
            onClick={() => void remove(true)}
            className="rounded-lg bg-red-700 px-3 py-2 text-sm font-semibold text-white hover:bg-red-800 disabled:opacity-60"
          >
            Delete for everyone
          </button>
        ) : null}
      </div>
    </Dialog>
  );
}

const when = (ms: number | null | undefined) =>
  ms ? new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" }).format(ms) : "Not yet";

/** Per member of a group, for my message: who read it, and who has it but has not read it (or said so). */
function MemberReceipts({ message, members }: { message: MessageRow; members: { address: string; name: string }[] }) {
  const got = message.memberReceipts ?? {};
  const read = members.filter((m) => got[m.address]?.readAt !== undefined);
  const delivered = members.filter((m) => got[m.address]?.deliveredAt !== undefined && got[m.address]?.readAt === undefined);
  const lists: [string, { address: string; name: string }[], (a: string) => number | undefined][] = [
    ["Read by", read, (a) => got[a]?.readAt],
    ["Delivered to", delivered, (a) => got[a]?.deliveredAt],
  ];
  return (
    <div className="mt-3 space-y-3 text-sm">
      {lists.map(([title, list, at]) => (
        <section key={title}>
          <h3 className="font-medium">{title}</h3>
          {list.length ? (
            <ul aria-label={title} className="mt-1 space-y-0.5">
              {list.map((m) => (
                <li key={m.address} className="flex justify-between gap-4">
                  <span dir="auto">{m.name}</span>
                  <span className="text-slate-700 dark:text-slate-300">{when(at(m.address))}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="mt-1 text-slate-700 dark:text-slate-300">No one yet</p>
          )}
        </section>
      ))}
    </div>
  );
}

export function MessageInfoDialog({ message, onClose, members }: { message: MessageRow | null; onClose: () => void; members?: { address: string; name: string }[] }) {
  const mine = message?.direction === "out";
  const perMember = mine && members !== undefined;
  const rows: [string, string][] = message
    ? perMember
      ? [
          ["Written", when(message.sentAt)],
          ["Sent", when(message.sentToRelayAt)],
        ]
      : mine
      ? [
          ["Written", when(message.sentAt)],
          ["Sent", when(message.sentToRelayAt)],
          ["Delivered", when(message.deliveredAt)],
          ["Read", when(message.readAt)],
        ]
      : [
          ["Sent", when(message.sentAt)],
          ["Received", when(message.receivedAt)],
          ["Read by you", when(message.readAt)],
        ]
    : [];
  if (message?.editedAt) rows.push(["Edited", when(message.editedAt)]);
  if (message?.expiresAt) rows.push(["Disappears", when(message.expiresAt)]);
  return (
    <Dialog open={message !== null} onClose={onClose} title="Message info">
      {message && (message.kind ?? "text") === "text" && !message.deletedAt ? (
        <p dir="auto" className="mb-3 line-clamp-3 rounded-lg bg-slate-100 px-3 py-2 text-sm dark:bg-slate-800">
          {message.text}
        </p>
      ) : null}
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
        {rows.map(([term, value]) => (
          <div key={term} className="contents">
            <dt className="font-medium">{term}</dt>
            <dd className="text-slate-700 dark:text-slate-300">{value}</dd>
          </div>
        ))}
      </dl>
      {perMember && message ? <MemberReceipts message={message} members={members} /> : null}
      {mine && !message?.readAt && (perMember || message?.state === "delivered") ? (
        <p className="mt-3 text-xs text-slate-700 dark:text-slate-300">
          {perMember ? "Read times show only for members who have read receipts on, while yours are on." : "Read times show only when both of you have read receipts on."}
        </p>
      ) : null}
    </Dialog>
  );
}
