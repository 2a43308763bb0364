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
  const mark = { queued: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" }[state];
  const tone =
    state === "read" ? "text-sky-500" : state === "failed" ? (onColour ? "font-semibold" : "text-red-600 dark:text-red-400") : "";
  const title = state === "failed" && reason ? `${WORDS[state]}: ${reason}` : WORDS[state];
  return (
    <span className={`inline-flex items-center gap-1 ${tone} ${className}`} title={title}>
      <span aria-hidden="true" className="text-[11px] leading-none tracking-tighter">
        {mark}
      </span>
      <span className={state === "queued" || state === "failed" ? "" : "sr-only"}>{WORDS[state]}</span>
    </span>
  );
}

export function deliveryWord(state: MessageState): string {
  return WORDS[state];
}
