"use client";
// Enter sends, Shift+Enter starts a new line. Sending never waits for the network: the engine
// queues the message and the log shows it as queued until the relay has it. What I am writing
// (and what I reply to) is kept as the conversation's draft; typing tells the peer I am typing.
// In a group, `@` lists the members to mention (arrows and Enter pick one).
import { FileText, Paperclip, Pencil, Reply, SendHorizontal, X } from "lucide-react";
import { forwardRef, useEffect, useId, useRef, useState, type ClipboardEvent, type DragEvent, type FormEvent, type KeyboardEvent } from "react";
import { describeError, editMessage, saveDraft, sendAttachments, sendMessage, setTyping } from "@/lib/hooks/actions";
import { formatBytes } from "../format";
import { VoiceRecorder } from "./VoiceRecorder";
import { useDraft, useMessage } from "@/lib/hooks/data";
import type { MessageRow } from "@/lib/hooks/types";

/** Well under the relay's envelope cap once encrypted and wrapped. */
const MAX_TEXT = 16_000;
/** A draft is saved this long after the last keystroke. */
const DRAFT_DELAY_MS = 400;
/** Files one send may carry (the worker refuses more). */
const MAX_FILES = 10;
/** Largest file (the worker refuses larger). */
const MAX_FILE_BYTES = 100 * 1024 * 1024;
/** "I am typing" goes out at most this often while I keep typing (the peer shows it for 5 s). */
const TYPING_EVERY_MS = 3_000;

interface Props {
  conversationId: string;
  /** The message I am replying to, if any. */
  replyTo: string | null;
  onReplyChange: (id: string | null) => void;
  /** My message I am editing, if any. */
  editing: MessageRow | null;
  onEditDone: () => void;
  /** Names the author of a quoted message. */
  nameOf: (message: MessageRow) => string;
  /** In a group: the other members, whom `@name` mentions. */
  members?: readonly { address: string; name: string }[];
}

/** The `@name` being typed just before the caret, if any. */
function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const match = /(^|\s)@([^\s@]{0,30})$/.exec(text.slice(0, caret));
  return match ? { start: caret - match[2].length - 1, query: match[2] } : null;
}

export const Composer = forwardRef<HTMLTextAreaElement, Props>(function Composer({ conversationId, replyTo, onReplyChange, editing, onEditDone, nameOf, members }, ref) {
  const draft = useDraft(conversationId);
  const quoted = useMessage(replyTo);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  // sends are chained, so a fast typist's messages are queued in the order they were written
  const chain = useRef<Promise<void>>(Promise.resolve());
  const loaded = useRef(false);
  const saveTimer = useRef<number | null>(null);
  const lastTyping = useRef(0);
  const beforeEdit = useRef<string | null>(null);
  const [files, setFiles] = useState<File[]>([]);
  const [dragging, setDragging] = useState(false);
  const [recording, setRecording] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const empty = text.trim().length === 0 && files.length === 0;
  // mentions: the members picked from the list while writing, and the list as it stands
  const mentioned = useRef<{ address: string; name: string }[]>([]);
  const [caret, setCaret] = useState(0);
  const [activeOption, setActiveOption] = useState(0);
  const [mentionClosed, setMentionClosed] = useState(false);
  const query = members?.length && !editing ? mentionQuery(text, caret) : null;
  const options = query && !mentionClosed ? (members ?? []).filter((m) => m.name.toLowerCase().startsWith(query.query.toLowerCase())).slice(0, 8) : [];
  const textarea = useRef<HTMLTextAreaElement | null>(null);
  const listId = useId();

  function pickMention(m: { address: string; name: string }) {
    if (!query) return;
    const inserted = `@${m.name} `;
    const next = text.slice(0, query.start) + inserted + text.slice(caret);
    if (!mentioned.current.some((x) => x.address === m.address)) mentioned.current.push(m);
    typed(next);
    const at = query.start + inserted.length;
    setCaret(at);
    setActiveOption(0);
    requestAnimationFrame(() => textarea.current?.setSelectionRange(at, at));
  }

  // the draft comes back once, when the conversation opens
  useEffect(() => {
    if (loaded.current || draft === undefined) return;
    loaded.current = true;
    if (draft) {
      setText(draft.text);
      if (draft.replyTo) onReplyChange(draft.replyTo);
    }
  }, [draft, onReplyChange]);

  // editing puts the message's text in the box; cancelling gives back what was there
  const editingId = editing?.id ?? null;
  useEffect(() => {
    if (!editing) return;
    beforeEdit.current = text;
    setText(editing.text);
    // deps on purpose: only when another message is picked for editing
  }, [editingId]);

  // saved a moment after the last change; never while editing (that text is the message's, not a draft)
  const pendingDraft = useRef<{ text: string; replyTo: string | null } | null>(null);
  useEffect(() => {
    if (!loaded.current || editing) return;
    pendingDraft.current = { text, replyTo };
    if (saveTimer.current !== null) window.clearTimeout(saveTimer.current);
    saveTimer.current = window.setTimeout(flushDraft, DRAFT_DELAY_MS);
    // deps on purpose: flushDraft reads refs only
  }, [text, replyTo, editing]);

  function flushDraft() {
    saveTimer.current = null;
    const next = pendingDraft.current;
    pendingDraft.current = null;
    if (!next) return;
    saveDraft(conversationId, next.text, next.replyTo ?? undefined).catch(() => {
      // a draft that could not be kept is only lost on reload; the text is still in the box
    });
  }

  // leaving the conversation: keep the draft now, and stop "typing…" on the other side
  useEffect(
    () => () => {
      if (saveTimer.current !== null) {
        window.clearTimeout(saveTimer.current);
        flushDraft();
      }
      if (lastTyping.current > 0) setTyping(conversationId, false);
    },
    // deps on purpose: on unmount only
    [],
  );

  function typed(next: string) {
    setText(next);
    if (editing) return;
    const now = Date.now();
    if (next.trim() === "") {
      if (lastTyping.current > 0) setTyping(conversationId, false);
      lastTyping.current = 0;
    } else if (now - lastTyping.current > TYPING_EVERY_MS) {
      lastTyping.current = now;
      setTyping(conversationId, true);
    }
  }

  function stopTyping() {
    if (lastTyping.current > 0) setTyping(conversationId, false);
    lastTyping.current = 0;
  }

  /** Files picked, pasted or dropped wait here (with the text as their caption) until Send. */
  function addFiles(list: FileList | File[] | null) {
    const picked = [...(list ?? [])];
    if (picked.length === 0 || editing) return;
    const tooBig = picked.find((f) => f.size > MAX_FILE_BYTES);
    if (tooBig) {
      setError(`${tooBig.name} is larger than 100 MB.`);
      return;
    }
    setError(null);
    setFiles((current) => {
      const next = [...current, ...picked];
      if (next.length > MAX_FILES) setError(`At most ${MAX_FILES} files at once.`);
      return next.slice(0, MAX_FILES);
    });
  }

  function sendFiles() {
    const picked = files;
    const caption = text.trim() ? text : undefined;
    setFiles([]);
    setText("");
    stopTyping();
    if (saveTimer.current !== null) window.clearTimeout(saveTimer.current);
    saveTimer.current = null;
    pendingDraft.current = null;
    chain.current = chain.current.then(async () => {
      try {
        await sendAttachments(conversationId, picked, caption);
        saveDraft(conversationId, "").catch(() => undefined);
      } catch (err) {
        setFiles((current) => (current.length ? current : picked));
        setText((current) => (current ? current : (caption ?? "")));
        setError(describeError(err));
      }
    });
  }

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    if (event.clipboardData.files.length === 0) return;
    event.preventDefault();
    addFiles(event.clipboardData.files);
  }

  function onDrop(event: DragEvent) {
    if (!event.dataTransfer.types.includes("Files")) return;
    event.preventDefault();
    setDragging(false);
    addFiles(event.dataTransfer.files);
  }

  function send() {
    if (empty) return;
    if (files.length > 0 && !editing) {
      if (text.length > MAX_TEXT) {
        setError(`Captions can be at most ${MAX_TEXT.toLocaleString()} characters.`);
        return;
      }
      setError(null);
      sendFiles();
      return;
    }
    if (text.length > MAX_TEXT) {
      setError(`Messages can be at most ${MAX_TEXT.toLocaleString()} characters.`);
      return;
    }
    setError(null);
    const body = text;
    if (editing) {
      const id = editing.id;
      const restore = beforeEdit.current ?? "";
      beforeEdit.current = null;
      setText(restore);
      onEditDone();
      chain.current = chain.current.then(async () => {
        try {
          await editMessage(conversationId, id, body);
        } catch (err) {
          setError(describeError(err));
        }
      });
      return;
    }
    const quote = replyTo;
    // a member mentioned is one still named in the text
    const mentions = mentioned.current.filter((m) => body.includes(`@${m.name}`)).map((m) => m.address);
    mentioned.current = [];
    // cleared at once so the next message can be typed; the text comes back if the engine refuses it
    setText("");
    onReplyChange(null);
    stopTyping();
    if (saveTimer.current !== null) window.clearTimeout(saveTimer.current);
    saveTimer.current = null;
    pendingDraft.current = null;
    chain.current = chain.current.then(async () => {
      try {
        await sendMessage(conversationId, body, quote ?? undefined, mentions);
        saveDraft(conversationId, "").catch(() => undefined);
      } catch (err) {
        setText((current) => (current ? current : body));
        if (quote) onReplyChange(quote);
        setError(describeError(err));
      }
    });
  }

  function cancel() {
    if (editing) {
      setText(beforeEdit.current ?? "");
      beforeEdit.current = null;
      onEditDone();
    } else onReplyChange(null);
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    send();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (options.length > 0) {
      // the mention list: arrows move, Enter or Tab picks, Escape closes it
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        setActiveOption((i) => (i + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length);
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && !event.nativeEvent.isComposing) {
        event.preventDefault();
        pickMention(options[Math.min(activeOption, options.length - 1)]);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        setMentionClosed(true);
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === "Escape" && (editing || replyTo)) {
      // Escape first drops the reply or the edit; only then does it close the conversation
      event.preventDefault();
      event.stopPropagation();
      cancel();
    }
  }

  const quoteText = quoted ? (quoted.deletedAt ? "This message was deleted" : quoted.text) : "";

  return (
    <form
      onSubmit={onSubmit}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes("Files")) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      className={`border-t border-slate-200 bg-white px-3 py-2 dark:border-slate-800 dark:bg-slate-900 ${dragging ? "outline-2 outline-dashed outline-sky-600" : ""}`}
    >
      {error ? (
        <p role="alert" className="mb-2 text-sm text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
      {editing || (replyTo && quoted !== undefined) ? (
        <div className="mb-2 flex items-start gap-2 rounded-lg border-l-4 border-sky-700 bg-slate-100 px-3 py-1.5 text-sm dark:border-sky-300 dark:bg-slate-800">
          {editing ? (
            <Pencil aria-hidden="true" className="mt-0.5 h-4 w-4 shrink-0 text-slate-600 dark:text-slate-300" />
          ) : (
            <Reply aria-hidden="true" className="mt-0.5 h-4 w-4 shrink-0 text-slate-600 dark:text-slate-300" />
          )}
          <p className="min-w-0 flex-1">
            {editing ? (
              <span className="font-semibold">Editing message</span>
            ) : (
              <>
                <span className="font-semibold">Replying to {quoted ? nameOf(quoted) : "a message"}</span>
                <span dir="auto" className="block truncate text-slate-700 dark:text-slate-300">
                  {quoteText || "A message that is no longer here"}
                </span>
              </>
            )}
          </p>
          <button
            type="button"
            onClick={cancel}
            aria-label={editing ? "Cancel edit" : "Cancel reply"}
            className="shrink-0 rounded-full p-1 text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-slate-200 dark:hover:bg-slate-700"
          >
            <X aria-hidden="true" className="h-4 w-4" />
          </button>
        </div>
      ) : null}
      {files.length > 0 ? (
        <ul aria-label="Files to send" className="mb-2 flex flex-wrap gap-2">
          {files.map((f, i) => (
            <li key={`${f.name}-${i}`} className="flex max-w-60 items-center gap-1.5 rounded-lg bg-slate-100 py-1 pl-2 pr-1 text-sm dark:bg-slate-800">
              <FileText aria-hidden="true" className="h-4 w-4 shrink-0" />
              <span dir="auto" className="truncate">
                {f.name}
              </span>
              <span className="shrink-0 text-xs text-slate-600 dark:text-slate-400">{formatBytes(f.size)}</span>
              <button
                type="button"
                aria-label={`Remove ${f.name}`}
                onClick={() => setFiles((current) => current.filter((_, j) => j !== i))}
                className="shrink-0 rounded-full p-0.5 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-700"
              >
                <X aria-hidden="true" className="h-3.5 w-3.5" />
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {options.length > 0 ? (
        <ul id={listId} role="listbox" aria-label="Mention a member" className="mb-2 max-h-48 overflow-y-auto rounded-lg border border-slate-200 bg-white py-1 text-sm shadow dark:border-slate-700 dark:bg-slate-900">
          {options.map((m, i) => (
            <li
              key={m.address}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === Math.min(activeOption, options.length - 1)}
              onMouseDown={(e) => {
                // keeps the focus (and the caret) in the textbox
                e.preventDefault();
                pickMention(m);
              }}
              className="cursor-pointer px-3 py-1.5 aria-selected:bg-sky-100 dark:aria-selected:bg-sky-900"
            >
              <span dir="auto" className="font-medium">
                {m.name}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      <div className="flex items-end gap-2">
        {/* hidden, not unmounted, while recording: the textbox keeps its ref and what was typed */}
        <div className={recording ? "hidden" : "contents"}>
        <input
          ref={fileInput}
          type="file"
          multiple
          aria-label="Attach files"
          tabIndex={-1}
          className="sr-only"
          onChange={(e) => {
            addFiles(e.target.files);
            e.target.value = "";
          }}
        />
        <button
          type="button"
          aria-label="Attach"
          disabled={editing !== null}
          onClick={() => fileInput.current?.click()}
          className="flex h-10 w-10 shrink-0 items-center justify-center rounded-full text-slate-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:opacity-50 dark:text-slate-200 dark:hover:bg-slate-800"
        >
          <Paperclip aria-hidden="true" className="h-5 w-5" />
        </button>
        <textarea
          ref={(node) => {
            textarea.current = node;
            if (typeof ref === "function") ref(node);
            else if (ref) ref.current = node;
          }}
          aria-label="Message"
          aria-autocomplete={members?.length ? "list" : undefined}
          aria-controls={options.length > 0 ? listId : undefined}
          aria-activedescendant={options.length > 0 ? `${listId}-${Math.min(activeOption, options.length - 1)}` : undefined}
          placeholder={files.length > 0 ? "Add a caption" : "Message"}
          dir="auto"
          rows={1}
          value={text}
          onChange={(e) => {
            typed(e.target.value);
            setCaret(e.target.selectionStart ?? e.target.value.length);
            setMentionClosed(false);
            setActiveOption(0);
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          onBlur={() => {
            if (text.trim() === "") stopTyping();
          }}
          className="max-h-40 min-h-10 flex-1 resize-none rounded-2xl border border-slate-300 bg-slate-50 px-3 py-2 outline-none [field-sizing:content] placeholder:text-slate-600 focus:border-sky-600 focus:ring-2 focus:ring-sky-600/30 dark:border-slate-700 dark:bg-slate-950 dark:placeholder:text-slate-400"
        />
        </div>
        {!editing && files.length === 0 && (text.trim() === "" || recording) ? (
          <VoiceRecorder conversationId={conversationId} onActive={setRecording} onError={setError} />
        ) : null}
        {recording ? null : (
        <button
          type="submit"
          disabled={empty}
          aria-label={editing ? "Save edit" : "Send"}
          className="flex h-10 items-center gap-1.5 rounded-full bg-sky-700 px-4 font-semibold text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-50"
        >
          <SendHorizontal aria-hidden="true" className="h-4 w-4" />
          <span className="hidden sm:inline">{editing ? "Save" : "Send"}</span>
        </button>
        )}
      </div>
    </form>
  );
});
