import type { MessageState } from "@/lib/hooks/types";

const WORDS: Record<MessageState, string> = {
  queued: "Queued",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
};

/** Ticks for the eye, a word for everyone: the word is what screen readers and tests read. */
export function DeliveryState({ state, className = "" }: { state: MessageState; className?: string }) {
  const mark = { queued: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" }[state];
  const tone =
    state === "read" ? "text-sky-500" : state === "failed" ? "text-red-600 dark:text-red-400" : "";
  return (
    <span className={`inline-flex items-center gap-1 ${tone} ${className}`} title={WORDS[state]}>
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
