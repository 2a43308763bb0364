import { memo } from "react";
import type { MessageRow } from "@/lib/hooks/types";
import { DeliveryState } from "./DeliveryState";
import { formatTime } from "./format";

/**
 * One message. The text is a React text node: whatever the sender wrote, markup included,
 * is shown as characters and never parsed as HTML.
 */
export const MessageBubble = memo(function MessageBubble({ message, peerName }: { message: MessageRow; peerName: string }) {
  const mine = message.direction === "out";
  return (
    <article className={`flex px-4 py-0.5 ${mine ? "justify-end" : "justify-start"}`}>
      <div
        className={`max-w-[min(80%,36rem)] rounded-2xl px-3 py-1.5 shadow-sm ${
          mine
            ? "rounded-br-md bg-sky-600 text-white dark:bg-sky-700"
            : "rounded-bl-md bg-white text-slate-900 dark:bg-slate-800 dark:text-slate-100"
        }`}
      >
        <span className="sr-only">{mine ? "You:" : `${peerName}:`} </span>
        <p className="break-anywhere whitespace-pre-wrap">{message.text}</p>
        <p className={`mt-0.5 flex items-center justify-end gap-1.5 text-[11px] ${mine ? "text-sky-100" : "text-slate-500 dark:text-slate-400"}`}>
          <time dateTime={new Date(message.sentAt).toISOString()}>{formatTime(message.sentAt)}</time>
          {mine ? <DeliveryState state={message.state} /> : null}
        </p>
      </div>
    </article>
  );
});
