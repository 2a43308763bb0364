"use client";
// Enter sends, Shift+Enter starts a new line. Sending never waits for the network: the engine
// queues the message and the log shows it as queued until the relay has it.
import { forwardRef, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { describeError, sendMessage } from "@/lib/hooks/actions";

/** Well under the relay's envelope cap once encrypted and wrapped. */
const MAX_TEXT = 16_000;

export const Composer = forwardRef<HTMLTextAreaElement, { conversationId: string }>(function Composer({ conversationId }, ref) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  // sends are chained, so a fast typist's messages are queued in the order they were written
  const chain = useRef<Promise<void>>(Promise.resolve());
  const empty = text.trim().length === 0;

  function send() {
    if (empty) return;
    if (text.length > MAX_TEXT) {
      setError(`Messages can be at most ${MAX_TEXT.toLocaleString()} characters.`);
      return;
    }
    setError(null);
    const draft = text;
    // cleared at once so the next message can be typed; the draft comes back if the engine refuses it
    setText("");
    chain.current = chain.current.then(async () => {
      try {
        await sendMessage(conversationId, draft);
      } catch (err) {
        setText((current) => (current ? current : draft));
        setError(describeError(err));
      }
    });
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    send();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  return (
    <form onSubmit={onSubmit} className="border-t border-slate-200 bg-white px-3 py-2 dark:border-slate-800 dark:bg-slate-900">
      {error ? (
        <p role="alert" className="mb-2 text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
      <div className="flex items-end gap-2">
        <textarea
          ref={ref}
          aria-label="Message"
          placeholder="Message"
          rows={1}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          className="max-h-40 min-h-10 flex-1 resize-none rounded-2xl border border-slate-300 bg-slate-50 px-3 py-2 outline-none [field-sizing:content] focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 dark:border-slate-700 dark:bg-slate-950"
        />
        <button
          type="submit"
          disabled={empty}
          className="h-10 rounded-full bg-sky-600 px-4 font-semibold text-white hover:bg-sky-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-50"
        >
          Send
        </button>
      </div>
    </form>
  );
});
