import { memo, useId, useState } from "react";
import { describeError, retryMessage } from "@/lib/hooks/actions";
import type { MessageKind, MessageRow } from "@/lib/hooks/types";
import { DeliveryState } from "./DeliveryState";
import { formatTime } from "../format";

/** What a bubble says in place of text it has not got (or cannot show). */
const PLACEHOLDER: Record<Exclude<MessageKind, "text">, string> = {
  waiting: "Waiting for this message…",
  undecryptable: "This message couldn't be decrypted.",
  unsupported: "This message needs a newer version of Junction.",
  timer: "Disappearing messages were changed.",
};

/**
 * One message. The text is a React text node: whatever the sender wrote, markup included,
 * is shown as characters and never parsed as HTML.
 */
export const MessageBubble = memo(function MessageBubble({ message, peerName }: { message: MessageRow; peerName: string }) {
  const mine = message.direction === "out";
  const kind = message.kind ?? "text";
  const failed = mine && kind === "text" && message.state === "failed";
  const hintId = useId();
  const hint =
    kind === "waiting"
      ? `It will appear when ${mine ? "your other device" : `${peerName}'s device`} sends it again.`
      : kind === "unsupported"
        ? "Update Junction to see it."
        : null;

  return (
    <article
      aria-describedby={hint ? hintId : undefined}
      className={`flex flex-col px-4 py-0.5 ${mine ? "items-end" : "items-start"}`}
    >
      <div
        className={`max-w-[min(80%,36rem)] rounded-2xl px-3 py-1.5 shadow-sm ${
          mine
            ? "rounded-br-md bg-sky-600 text-white dark:bg-sky-700"
            : "rounded-bl-md bg-white text-slate-900 dark:bg-slate-800 dark:text-slate-100"
        } ${failed ? "ring-2 ring-red-500 dark:ring-red-400" : ""}`}
      >
        <span className="sr-only">{mine ? "You:" : `${peerName}:`} </span>
        {kind === "text" ? (
          <p className="break-anywhere whitespace-pre-wrap">{message.text}</p>
        ) : (
          <p title={hint ?? undefined} className={`italic ${mine ? "text-sky-100" : "text-slate-500 dark:text-slate-400"}`}>
            {PLACEHOLDER[kind]}
          </p>
        )}
        {hint ? (
          <span id={hintId} className="sr-only">
            {hint}
          </span>
        ) : null}
        <p className={`mt-0.5 flex items-center justify-end gap-1.5 text-[11px] ${mine ? "text-sky-100" : "text-slate-500 dark:text-slate-400"}`}>
          <time dateTime={new Date(message.sentAt).toISOString()}>{formatTime(message.sentAt)}</time>
          {mine && kind === "text" ? (
            <DeliveryState state={message.state} reason={message.error} onColour />
          ) : null}
        </p>
      </div>
      {failed ? <RetryRow conversationId={message.conversationId} messageId={message.id} reason={message.error} /> : null}
    </article>
  );
});

/** Under a message that was not sent: why (when known) and a way to send it again. */
function RetryRow({ conversationId, messageId, reason }: { conversationId: string; messageId: string; reason?: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const reasonId = useId();

  async function retry() {
    setBusy(true);
    setError(null);
    try {
      await retryMessage(conversationId, messageId);
      // on success the row turns "queued" and this component goes away with it
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  return (
    <div className="mt-1 flex max-w-[min(80%,36rem)] flex-wrap items-center justify-end gap-x-2 gap-y-0.5 text-xs">
      {reason ? (
        <span id={reasonId} className="text-red-700 dark:text-red-300">
          {reason}
        </span>
      ) : null}
      {error ? (
        <span role="alert" className="text-red-700 dark:text-red-300">
          {error}
        </span>
      ) : null}
      <button
        type="button"
        onClick={() => void retry()}
        disabled={busy}
        aria-describedby={reason ? reasonId : undefined}
        className="rounded-full border border-red-600 px-2.5 py-0.5 font-semibold text-red-700 hover:bg-red-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60 dark:border-red-400 dark:text-red-300 dark:hover:bg-red-950"
      >
        Retry
      </button>
    </div>
  );
}
