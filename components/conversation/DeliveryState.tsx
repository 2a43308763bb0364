import { Check, CheckCheck, CircleAlert, Clock3 } from "lucide-react";
import type { MessageState } from "@/lib/hooks/types";

const WORDS: Record<MessageState, string> = {
  queued: "Queued",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
};

interface Props {
  state: MessageState;
  className?: string;
  /** Why a message was not sent, when known: shown on hover and read as the word's description. */
  reason?: string;
  /** Drawn on a coloured bubble: "Not sent" keeps the bubble's text colour instead of red. */
  onColour?: boolean;
}

/** Ticks for the eye, a word for everyone: the word is what screen readers and tests read. */
export function DeliveryState({ state, className = "", reason, onColour = false }: Props) {
  const Icon = { queued: Clock3, sent: Check, delivered: CheckCheck, read: CheckCheck, failed: CircleAlert }[state];
  const tone =
    state === "read"
      ? "text-sky-700 dark:text-sky-300"
      : state === "failed"
        ? onColour
          ? "font-semibold"
          : "text-red-700 dark:text-red-300"
        : "";
  const title = state === "failed" && reason ? `${WORDS[state]}: ${reason}` : WORDS[state];
  return (
    <span className={`inline-flex items-center gap-1 ${tone} ${className}`} title={title} data-state={state}>
      <Icon aria-hidden="true" className="h-3.5 w-3.5" strokeWidth={2.25} />
      <span className={state === "queued" || state === "failed" ? "" : "sr-only"}>{WORDS[state]}</span>
    </span>
  );
}

export function deliveryWord(state: MessageState): string {
  return WORDS[state];
}
