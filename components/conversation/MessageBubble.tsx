"use client";
import { Copy, Info, MoreHorizontal, Pencil, Reply, SmilePlus, Trash2 } from "lucide-react";
import { memo, useId, useRef, useState, type MouseEvent, type PointerEvent } from "react";
import { BRANDS, handleOf, type BrandId } from "@/lib/brands";
import { describeError, retryMessage } from "@/lib/hooks/actions";
import { DELETE_FOR_EVERYONE_WINDOW_MS, EDIT_WINDOW_MS, type MessageKind, type MessageRow, type ReactionEntry } from "@/lib/hooks/types";
import { Menu, type MenuItem } from "../ui/Menu";
import { formatTime } from "../format";
import { useConversationActions } from "./context";
import { DeliveryState } from "./DeliveryState";
import { ReactionPicker } from "./ReactionPicker";
import { AttachmentView } from "./Attachment";
import { isEmojiOnly, linkParts } from "./text";

/** What a bubble says in place of text it has not got (or cannot show). */
const PLACEHOLDER: Record<Exclude<MessageKind, "text" | "timer" | "attachment" | "group">, string> = {
  waiting: "Waiting for this message…",
  undecryptable: "This message couldn't be decrypted.",
  unsupported: "This message needs a newer version of Junction.",
};

export const DELETED_TEXT = "This message was deleted";

/**
 * My outgoing bubbles take the colour of the brand I write from. Light: a pale tint under dark text;
 * dark: a deep shade under light text; both well above WCAG AA for the text and times on them.
 */
const OUTGOING: Record<BrandId, { bubble: string; meta: string }> = {
  whatsapp: { bubble: "bg-[#d9fdd3] text-slate-900 dark:bg-[#005c4b] dark:text-white", meta: "text-slate-600 dark:text-emerald-100" },
  instagram: { bubble: "bg-[#fde2f3] text-slate-900 dark:bg-[#86198f] dark:text-white", meta: "text-slate-600 dark:text-fuchsia-100" },
  messenger: { bubble: "bg-[#dbeafe] text-slate-900 dark:bg-[#1d4ed8] dark:text-white", meta: "text-slate-600 dark:text-blue-100" },
};

interface Props {
  message: MessageRow;
  peerName: string;
  /** The brand I write from in this conversation (tints my bubbles). */
  ourBrand: BrandId;
  /** First and last of a run of messages from one side: the run shows one time, at its end. */
  first: boolean;
  last: boolean;
  highlighted: boolean;
}

/** A text node for the text (markup is never parsed); http(s) links as real links. */
function MessageText({ text }: { text: string }) {
  const parts = linkParts(text);
  return (
    <>
      {parts.map((part, i) =>
        part.kind === "link" ? (
          <a key={i} href={part.href} target="_blank" rel="noopener noreferrer" className="underline decoration-1 underline-offset-2 hover:decoration-2">
            {part.text}
          </a>
        ) : (
          part.text
        ),
      )}
    </>
  );
}

/** Reactions grouped by emoji, in the order they first appeared. */
function groupReactions(reactions: readonly ReactionEntry[]): { emoji: string; by: ReactionEntry[] }[] {
  const groups = new Map<string, ReactionEntry[]>();
  for (const r of [...reactions].sort((a, b) => a.at - b.at)) groups.set(r.emoji, [...(groups.get(r.emoji) ?? []), r]);
  return [...groups].map(([emoji, by]) => ({ emoji, by }));
}

/**
 * One message. The text is a React text node: whatever the sender wrote, markup included,
 * is shown as characters and never parsed as HTML.
 */
export const MessageBubble = memo(function MessageBubble({ message, peerName, ourBrand, first, last, highlighted }: Props) {
  const actions = useConversationActions();
  const mine = message.direction === "out";
  const kind = message.kind ?? "text";
  const deleted = message.deletedAt != null;
  const failed = mine && (kind === "text" || kind === "attachment") && message.state === "failed";
  const hintId = useId();
  const actionsButton = useRef<HTMLButtonElement>(null);
  const [menu, setMenu] = useState<{ at: { x: number; y: number } | null } | null>(null);
  const [picker, setPicker] = useState(false);
  const longPress = useRef<number | null>(null);
  const hint =
    kind === "waiting"
      ? `It will appear when ${mine ? "your other device" : `${peerName}'s device`} sends it again.`
      : kind === "unsupported"
        ? "Update Junction to see it."
        : null;

  if (kind === "timer") return <TimerLine message={message} peerName={peerName} />;
  if (kind === "group") return <GroupLine message={message} />;

  const text = !deleted && kind === "text" ? message.text : "";
  const big = text !== "" && isEmojiOnly(text);
  const reactions = deleted ? [] : groupReactions(message.reactions ?? []);
  const route = actions.routeOf?.(message.conversationId);
  const myAddress = route?.ourAddress ?? actions.ourAddress;
  // a group message that mentions me stands out (and says so to assistive technology)
  const mentionsMe = !mine && !deleted && ((message.mentions as readonly string[] | undefined)?.includes(myAddress) ?? false);
  const colours = mine
    ? OUTGOING[route?.ourBrand ?? ourBrand]
    : mentionsMe
      ? { bubble: "bg-amber-50 text-slate-900 ring-2 ring-amber-500 dark:bg-amber-950 dark:text-slate-100 dark:ring-amber-400", meta: "text-slate-700 dark:text-slate-300" }
      : { bubble: "bg-white text-slate-900 dark:bg-slate-800 dark:text-slate-100", meta: "text-slate-600 dark:text-slate-300" };

  function menuItems(): MenuItem[] {
    const now = Date.now();
    const items: MenuItem[] = [];
    const usable = !deleted && kind === "text";
    if (usable || (!deleted && kind === "attachment")) {
      items.push({ label: "Reply", icon: <Reply className="h-4 w-4" />, onSelect: () => actions.reply(message) });
      items.push({ label: "React", icon: <SmilePlus className="h-4 w-4" />, onSelect: () => setPicker(true) });
    }
    if (usable && mine && message.state !== "failed" && now - message.sentAt < EDIT_WINDOW_MS) {
      items.push({ label: "Edit", icon: <Pencil className="h-4 w-4" />, onSelect: () => actions.edit(message) });
    }
    if (usable) {
      items.push({
        label: "Copy",
        icon: <Copy className="h-4 w-4" />,
        onSelect: () => {
          void navigator.clipboard?.writeText(message.text).then(
            () => actions.announce("Copied"),
            () => actions.announce("Could not copy"),
          );
        },
      });
    }
    items.push({ label: "Info", icon: <Info className="h-4 w-4" />, onSelect: () => actions.showInfo(message) });
    items.push({ label: "Delete", icon: <Trash2 className="h-4 w-4" />, danger: true, onSelect: () => actions.askDelete(message) });
    return items;
  }

  function openAt(event: MouseEvent) {
    event.preventDefault();
    setMenu({ at: { x: event.clientX, y: event.clientY } });
  }

  function onPointerDown(event: PointerEvent) {
    if (event.pointerType !== "touch") return;
    const { clientX: x, clientY: y } = event;
    longPress.current = window.setTimeout(() => setMenu({ at: { x, y } }), 500);
  }

  function cancelLongPress() {
    if (longPress.current !== null) window.clearTimeout(longPress.current);
    longPress.current = null;
  }

  return (
    <article
      aria-describedby={hint ? hintId : undefined}
      data-message-id={message.id}
      data-highlighted={highlighted || undefined}
      onContextMenu={openAt}
      onPointerDown={onPointerDown}
      onPointerUp={cancelLongPress}
      onPointerMove={cancelLongPress}
      onPointerCancel={cancelLongPress}
      className={`group flex flex-col px-4 ${first ? "pt-1.5" : "pt-0.5"} ${mine ? "items-end" : "items-start"}`}
    >
      <div className={`flex max-w-[min(85%,38rem)] items-center gap-1 ${mine ? "flex-row-reverse" : ""}`}>
        <div
          className={`min-w-0 rounded-2xl px-3 py-1.5 shadow-sm transition-shadow ${colours.bubble} ${
            mine ? (last ? "rounded-br-md" : "") : last ? "rounded-bl-md" : ""
          } ${failed ? "ring-2 ring-red-600 dark:ring-red-400" : ""} ${highlighted ? "ring-4 ring-amber-400" : ""}`}
        >
          {!mine && message.conversationId.includes("|group:") ? (
            // in a group, each incoming message names who wrote it
            <p className="mb-0.5 text-xs font-semibold text-sky-800 dark:text-sky-300">
              {actions.nameOf(message.author, false)}
              {mentionsMe ? <span className="ml-2 rounded bg-amber-200 px-1 font-medium text-amber-950 dark:bg-amber-800 dark:text-amber-50">Mentions you</span> : null}
            </p>
          ) : (
            <span className="sr-only">{mine ? "You:" : `${peerName}:`} </span>
          )}
          {route ? (
            <p data-route className={`mb-0.5 text-[11px] font-medium ${colours.meta}`}>
              {mine ? "To" : "From"} {BRANDS[route.theirBrand].name} {handleOf(route.theirAddress)} · your {BRANDS[route.ourBrand].name}
            </p>
          ) : null}
          {message.replyTo && !deleted ? (
            <button
              type="button"
              onClick={() => actions.jumpTo(message.replyTo!.id)}
              className={`mb-1 block w-full rounded-lg border-l-4 px-2 py-1 text-left text-sm ${
                mine ? "border-slate-500 bg-black/5 dark:border-white/70 dark:bg-black/20" : "border-sky-700 bg-slate-100 dark:border-sky-300 dark:bg-slate-900/60"
              }`}
            >
              <span className="sr-only">Reply to </span>
              <span className="block text-xs font-semibold">{actions.nameOf(message.replyTo.author, message.replyTo.author === myAddress)}</span>
              <span dir="auto" className="line-clamp-2 break-anywhere">
                {message.replyTo.text || "A message"}
              </span>
            </button>
          ) : null}
          {deleted ? (
            <p className={`italic ${colours.meta}`}>{DELETED_TEXT}</p>
          ) : kind === "text" ? (
            <p dir="auto" className={`break-anywhere whitespace-pre-wrap ${big ? "text-4xl leading-tight" : ""}`}>
              <MessageText text={message.text} />
            </p>
          ) : kind === "attachment" ? (
            <>
              {message.attachment ? <AttachmentView message={message} metaClass={colours.meta} /> : null}
              {message.text ? (
                <p dir="auto" className="break-anywhere whitespace-pre-wrap">
                  <MessageText text={message.text} />
                </p>
              ) : null}
            </>
          ) : (
            <p title={hint ?? undefined} className={`italic ${colours.meta}`}>
              {PLACEHOLDER[kind]}
            </p>
          )}
          {hint ? (
            <span id={hintId} className="sr-only">
              {hint}
            </span>
          ) : null}
          <p className={`mt-0.5 flex items-center justify-end gap-1.5 text-[11px] ${colours.meta}`}>
            {message.editedAt && !deleted ? <span>Edited</span> : null}
            <time dateTime={new Date(message.sentAt).toISOString()} className={last ? "" : "sr-only"}>
              {formatTime(message.sentAt)}
            </time>
            {mine && (kind === "text" || kind === "attachment") && !deleted ? <DeliveryState state={message.state} reason={message.error} onColour /> : null}
          </p>
        </div>
        <button
          ref={actionsButton}
          type="button"
          aria-label="Message actions"
          aria-haspopup="menu"
          aria-expanded={menu !== null}
          onClick={() => setMenu(menu ? null : { at: null })}
          className="shrink-0 rounded-full p-1 text-slate-600 opacity-0 hover:bg-slate-200 focus:opacity-100 focus-visible:outline-2 focus-visible:outline-sky-600 group-hover:opacity-100 aria-expanded:opacity-100 dark:text-slate-300 dark:hover:bg-slate-700 [@media(hover:none)]:opacity-60"
        >
          <MoreHorizontal aria-hidden="true" className="h-4 w-4" />
        </button>
      </div>
      {reactions.length > 0 ? <Reactions groups={reactions} mine={mine} myAddress={myAddress} /> : null}
      {failed ? <RetryRow conversationId={message.conversationId} messageId={message.id} reason={message.error} /> : null}
      {menu ? <Menu anchor={actionsButton.current} at={menu.at} label="Message actions" items={menuItems()} onClose={() => setMenu(null)} /> : null}
      {picker ? (
        <ReactionPicker
          anchor={actionsButton.current}
          conversationId={message.conversationId}
          messageId={message.id}
          current={(message.reactions ?? []).find((r) => r.by === myAddress)?.emoji ?? null}
          onClose={() => setPicker(false)}
          onError={(err) => actions.announce(describeError(err))}
        />
      ) : null}
    </article>
  );
});

/** Reactions under a message: one button per emoji with its count; activating one lists who reacted. */
function Reactions({ groups, mine, myAddress }: { groups: { emoji: string; by: ReactionEntry[] }[]; mine: boolean; myAddress: string }) {
  const actions = useConversationActions();
  const [open, setOpen] = useState<string | null>(null);
  const listId = useId();
  return (
    <div className={`-mt-1 flex max-w-[min(85%,38rem)] flex-wrap gap-1 px-2 ${mine ? "justify-end" : ""}`}>
      <span className="sr-only">Reactions:</span>
      {groups.map(({ emoji, by }) => (
        <span key={emoji} className="relative">
          <button
            type="button"
            aria-expanded={open === emoji}
            aria-controls={open === emoji ? listId : undefined}
            onClick={() => setOpen(open === emoji ? null : emoji)}
            className="flex items-center gap-1 rounded-full border border-slate-300 bg-white px-1.5 py-px text-sm shadow-sm hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-600 dark:bg-slate-800 dark:hover:bg-slate-700"
          >
            <span>{emoji}</span>
            <span className="text-xs font-medium text-slate-700 dark:text-slate-200">{by.length}</span>
          </button>
          {open === emoji ? (
            <ul
              id={listId}
              aria-label={`Reacted with ${emoji}`}
              className="absolute z-10 mt-1 min-w-36 rounded-lg border border-slate-200 bg-white p-2 text-xs text-slate-900 shadow-lg dark:border-slate-700 dark:bg-slate-800 dark:text-slate-100"
            >
              {by.map((r) => (
                <li key={r.by}>{actions.nameOf(r.by, r.by === myAddress)}</li>
              ))}
            </ul>
          ) : null}
        </span>
      ))}
    </div>
  );
}

/** "You set disappearing messages to 7 days" as a centred line, not a bubble. */
/** A group's membership change ("Ana added Ben (WhatsApp)"), as the change's line says it. */
function GroupLine({ message }: { message: MessageRow }) {
  return (
    <div role="note" data-message-id={message.id} className="flex justify-center px-4 py-1.5">
      <p className="rounded-lg bg-sky-50 px-3 py-1 text-center text-xs text-sky-950 shadow-sm dark:bg-slate-800 dark:text-sky-100">{message.text}</p>
    </div>
  );
}

function TimerLine({ message, peerName }: { message: MessageRow; peerName: string }) {
  const mine = message.direction === "out";
  const ms = message.timerMs ?? 0;
  const who = mine ? "You" : peerName;
  const text = ms > 0 ? `${who} set disappearing messages to ${timerLabel(ms)}` : `${who} turned off disappearing messages`;
  return (
    <div role="note" data-message-id={message.id} className="flex justify-center px-4 py-1.5">
      <p className="rounded-lg bg-amber-50 px-3 py-1 text-center text-xs text-amber-950 shadow-sm dark:bg-slate-800 dark:text-amber-100">{text}</p>
    </div>
  );
}

export function timerLabel(ms: number): string {
  if (ms <= 0) return "Off";
  const hours = ms / 3_600_000;
  if (hours < 1) return `${Math.round(ms / 1000)} seconds`;
  if (hours < 48) return `${Math.round(hours)} hours`;
  return `${Math.round(hours / 24)} days`;
}

/** Whether I may still delete my message for everyone. */
export function canDeleteForEveryone(message: MessageRow, now = Date.now()): boolean {
  return message.direction === "out" && message.deletedAt == null && ((message.kind ?? "text") === "text" || message.kind === "attachment") && now - message.sentAt < DELETE_FOR_EVERYONE_WINDOW_MS;
}

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
