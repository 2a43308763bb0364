"use client";
import { Contact, Info, ShieldCheck, Timer } from "lucide-react";
import { memo, useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import dynamic from "next/dynamic";
import { BRANDS, handleOf } from "@/lib/brands";
import { acceptIdentity, describeError } from "@/lib/hooks/actions";
import { findMessage, messagesAfter, useAccounts, useContactName, useConversation, useGroup, useIdentity, useMessages } from "@/lib/hooks/data";
import { useUntil } from "@/lib/hooks/useNow";
import type { MessageRow } from "@/lib/hooks/types";
import { ConversationHeader, HeaderButton } from "./Header";
import { BrandBadge } from "../ui/BrandBadge";
import { useOpenedOnce } from "../useOpenedOnce";
import { Composer } from "./Composer";
import { ConversationContext, type ConversationActions } from "./context";
import { DisappearingDialog } from "./DisappearingDialog";
import { DeleteMessageDialog, MessageInfoDialog } from "./MessageDialogs";
import { MessageLog, UNREAD_WINDOW_CAP } from "./MessageLog";
import { timerLabel } from "./MessageBubble";
import { WIDE_MEDIA } from "@/lib/hooks/firstScreenScript";
import { OPENING_WINDOW } from "@/lib/hooks/opening";

// loaded (with the QR code library) and mounted the first time it opens
const SafetyNumberDialog = dynamic(() => import("./SafetyNumberDialog").then((m) => m.SafetyNumberDialog), { ssr: false });
const GroupInfoDialog = dynamic(() => import("../groups/GroupInfoDialog").then((m) => m.GroupInfoDialog), { ssr: false });
const PersonCardDialog = dynamic(() => import("../people/PersonCardDialog").then((m) => m.PersonCardDialog), { ssr: false });

/** Messages held in the window at first; scrolling up grows it by the same amount. */
const PAGE = OPENING_WINDOW;

interface Props {
  conversationId: string;
  onBack: () => void;
  /** A message to open at (a search result): a new object each time it is chosen. */
  openAt?: { messageId: string } | null;
}

/** Memoised: the inbox around it re-renders on its own changes (rows, search), which are not the conversation's. */
export const ConversationView = memo(function ConversationView({ conversationId, onBack, openAt = null }: Props) {
  const conversation = useConversation(conversationId);
  const contactName = useContactName(conversation?.theirAddress ?? null);
  const identity = useIdentity(conversationId);
  const accounts = useAccounts();
  // the window holds at least every unread message, so the view can open at the first of them
  const [limit, setLimit] = useState<number | null>(null);
  const unreadAtOpen = useRef<number | null>(null);
  if (unreadAtOpen.current === null && conversation) unreadAtOpen.current = conversation.unread;
  const windowSize = limit ?? Math.max(PAGE, Math.min((unreadAtOpen.current ?? 0) + 20, UNREAD_WINDOW_CAP));
  const slice = useMessages(conversationId, windowSize);
  const [safetyOpen, setSafetyOpen] = useState(false);
  const safetyUsed = useOpenedOnce(safetyOpen);
  const [timerOpen, setTimerOpen] = useState(false);
  const [cardOpen, setCardOpen] = useState(false);
  const cardUsed = useOpenedOnce(cardOpen);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const [replyTo, setReplyTo] = useState<string | null>(null);
  const [editing, setEditing] = useState<MessageRow | null>(null);
  const [deleting, setDeleting] = useState<MessageRow | null>(null);
  const [info, setInfo] = useState<MessageRow | null>(null);
  const [jumpTarget, setJumpTarget] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const typing = useUntil(conversation?.typingUntil);
  const group = useGroup(conversation);
  const [groupOpen, setGroupOpen] = useState(false);
  const groupUsed = useOpenedOnce(groupOpen);

  // a newly opened conversation starts with the cursor in the composer
  useEffect(() => {
    composerRef.current?.focus({ preventScroll: true });
  }, [conversationId, conversation === undefined]);

  // Escape closes the conversation on wide screens (on a phone, Back does), unless something inside
  // it (a dialog, a menu, a reply being written) takes the Escape first
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape" || event.defaultPrevented) return;
      if (document.querySelector("dialog[open], [role=menu], [role=dialog]")) return;
      if (!window.matchMedia(WIDE_MEDIA).matches) return;
      onBack();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [onBack]);

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), 3_000);
    return () => clearTimeout(timer);
  }, [notice]);

  const peerName = conversation?.groupName ?? contactName ?? conversation?.theirAddress ?? "";
  const ourAddress = conversation?.ourAddress ?? "";
  const myName = accounts?.find((a) => a.address === ourAddress)?.displayName;

  // stable for the bubbles' sake: they read the latest values through this ref
  // in a group, who wrote what: the names the members gave themselves in their messages
  const memberNames = useMemo(() => {
    const names = new Map<string, string>();
    for (const m of slice?.messages ?? []) if (m.author && m.authorName) names.set(m.author, m.authorName);
    return names;
  }, [slice]);
  const isGroup = conversation?.groupId !== undefined;
  const latest = useRef({ peerName, ourAddress, myName, slice, windowSize, isGroup, memberNames });
  latest.current = { peerName, ourAddress, myName, slice, windowSize, isGroup, memberNames };
  const nameOfAddress = (address: string | undefined): string => {
    const l = latest.current;
    if (!l.isGroup) return l.peerName || (address ?? "");
    return (address && l.memberNames.get(address)) ?? (address ? handleOf(address) : "");
  };

  // in a group, the other members by name: whom I can mention, and whose receipts a message's info lists
  const otherMembers = useMemo(
    () => group?.members.filter((m) => m.address !== ourAddress).map((m) => ({ address: m.address, name: memberNames.get(m.address) ?? handleOf(m.address) })),
    [group, ourAddress, memberNames],
  );

  const jumpTo = useCallback(
    (id: string) => {
      const { slice: current, windowSize: size } = latest.current;
      if (current?.messages.some((m) => m.id === id)) {
        setJumpTarget(id);
        return;
      }
      void (async () => {
        const original = await findMessage(id);
        if (!original || original.conversationId !== conversationId) {
          setNotice("The original message is no longer here.");
          return;
        }
        const needed = (await messagesAfter(conversationId, original.sentAt)) + 20;
        if (needed > size) setLimit(needed);
        setJumpTarget(id);
      })();
    },
    [conversationId],
  );

  const actions = useMemo<ConversationActions>(
    () => ({
      conversationId,
      get ourAddress() {
        return latest.current.ourAddress;
      },
      nameOf: (address, mine) => (mine || address === latest.current.ourAddress ? "You" : nameOfAddress(address)),
      reply: (message) => {
        setEditing(null);
        setReplyTo(message.id);
        composerRef.current?.focus();
      },
      edit: (message) => {
        setReplyTo(null);
        setEditing(message);
        composerRef.current?.focus();
      },
      askDelete: setDeleting,
      showInfo: setInfo,
      jumpTo,
      announce: setNotice,
    }),
    [conversationId, jumpTo],
  );
  // opened from a search result: go to that message (loading older pages as needed) and highlight it
  useEffect(() => {
    if (openAt && conversation) jumpTo(openAt.messageId);
    // only a new choice jumps (or the conversation's first load); the row changing (a new message) does not
  }, [openAt, !conversation, jumpTo]);
  const nameOfMessage = useCallback((m: MessageRow) => (m.direction === "out" ? "You" : (m.authorName ?? nameOfAddress(m.author))), []);
  const onJumped = useCallback(() => setJumpTarget(null), []);
  const onEditDone = useCallback(() => setEditing(null), []);

  if (conversation === undefined) return <div className="flex-1" aria-busy="true" />;
  if (conversation === null) {
    return (
      <div className="flex flex-1 flex-col items-center justify-center gap-2 p-6 text-center">
        <p className="font-medium">This conversation is not on this device.</p>
        <button type="button" onClick={onBack} className="text-sm text-sky-700 underline dark:text-sky-300">
          Back to the inbox
        </button>
      </div>
    );
  }

  const verified = identity?.verified ?? false;
  const keyChanged = identity?.changedAt != null;
  const awaitingAcceptance = identity?.awaitingAcceptance === true;
  const timer = conversation.expiresInMs ?? 0;

  return (
    <section aria-label={isGroup ? `Group ${peerName}` : `Conversation with ${peerName}`} className="relative flex min-h-0 flex-1 flex-col">
      <ConversationHeader
        name={peerName}
        brand={conversation.theirBrand}
        onBack={onBack}
        actions={
          <>
            <HeaderButton
              label="Disappearing messages"
              icon={Timer}
              onClick={() => setTimerOpen(true)}
              title={timer ? `Disappearing messages: ${timerLabel(timer)}` : "Disappearing messages: off"}
              className={timer ? "gap-1 text-sky-800 dark:text-sky-200" : undefined}
            >
              {timer ? <span className="text-xs font-semibold">{timerLabel(timer)}</span> : null}
            </HeaderButton>
            {isGroup ? (
              <HeaderButton label="Group info" icon={Info} onClick={() => setGroupOpen(true)} />
            ) : (
              <>
                <HeaderButton label="Contact info" icon={Contact} onClick={() => setCardOpen(true)} />
                <HeaderButton
                  label="Safety number"
                  icon={ShieldCheck}
                  onClick={() => setSafetyOpen(true)}
                  iconClassName="h-5 w-5 lg:h-4 lg:w-4"
                  className="gap-1.5 font-medium text-slate-700 lg:rounded-lg lg:border lg:border-slate-300 lg:px-2.5 lg:py-1 dark:text-slate-200 lg:dark:border-slate-700"
                >
                  <span aria-hidden="true" className="hidden lg:inline">
                    Safety number
                  </span>
                </HeaderButton>
              </>
            )}
          </>
        }
      >
          <h2 className="truncate font-semibold leading-tight">
            {peerName}
            {verified ? (
              <span className="ml-1.5 text-xs font-medium text-emerald-700 dark:text-emerald-300" title="Safety number verified">
                ✓ Verified
              </span>
            ) : null}
          </h2>
          <p role="status" className="truncate text-xs font-medium text-emerald-700 dark:text-emerald-300">
            {typing ? (isGroup && conversation.typingBy ? `${nameOfAddress(conversation.typingBy)} is typing…` : "typing…") : ""}
          </p>
          {typing ? null : isGroup ? (
            <p className="flex items-center gap-1 overflow-hidden text-xs whitespace-nowrap text-slate-700 dark:text-slate-300">
              {(conversation.groupBrands ?? []).map((b) => (
                <BrandBadge key={b} brand={b} />
              ))}
              <span aria-hidden="true">·</span>
              <span>{group ? `${group.members.length} members` : ""}</span>
              <span aria-hidden="true">·</span>
              <span>you as</span>
              <BrandBadge brand={conversation.ourBrand} label={`${BRANDS[conversation.ourBrand].name} ${handleOf(conversation.ourAddress)}`} />
            </p>
          ) : (
            <p className="flex items-center gap-1 overflow-hidden text-xs whitespace-nowrap text-slate-700 dark:text-slate-300">
              <BrandBadge brand={conversation.theirBrand} />
              <span className="hidden truncate sm:inline">{conversation.theirAddress !== peerName ? conversation.theirAddress : null}</span>
              <span aria-hidden="true">·</span>
              <span>you as</span>
              <BrandBadge brand={conversation.ourBrand} label={`${BRANDS[conversation.ourBrand].name} ${handleOf(conversation.ourAddress)}`} />
            </p>
          )}
      </ConversationHeader>
      {awaitingAcceptance ? (
        <SafetyNumberChanged conversationId={conversationId} peerName={peerName} onView={() => setSafetyOpen(true)} />
      ) : keyChanged ? (
        <div className="flex items-center gap-3 border-b border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
          <p className="flex-1">
            <strong>Your safety number with {peerName} has changed.</strong> They may have reinstalled, or someone may be in between. Compare the
            new number before you trust it.
          </p>
          <button type="button" onClick={() => setSafetyOpen(true)} className="shrink-0 font-semibold underline">
            Compare
          </button>
        </div>
      ) : null}

      <ConversationContext.Provider value={actions}>
        {slice ? (
          <MessageLog
            conversationId={conversationId}
            messages={slice.messages}
            hasOlder={slice.hasOlder}
            onLoadOlder={() => {
              if (slice.messages.length >= windowSize) setLimit(windowSize + PAGE);
            }}
            peerName={peerName}
            ourBrand={conversation.ourBrand}
            unreadAtOpen={unreadAtOpen.current ?? 0}
            unreadNow={conversation.unread}
            jumpTarget={jumpTarget}
            onJumped={onJumped}
          />
        ) : (
          <div className="min-h-0 flex-1 bg-slate-100 dark:bg-slate-950" aria-busy="true" />
        )}
      </ConversationContext.Provider>
      <p aria-live="polite" className="pointer-events-none absolute inset-x-0 bottom-20 flex justify-center empty:hidden">
        {notice ? <span className="rounded-full bg-slate-900 px-3 py-1 text-sm text-white shadow-lg dark:bg-slate-100 dark:text-slate-900">{notice}</span> : null}
      </p>
      {conversation.groupLeft ? (
        <p role="status" className="border-t border-slate-200 bg-white px-4 py-3 text-center text-sm text-slate-700 dark:border-slate-800 dark:bg-slate-900 dark:text-slate-300">
          You are no longer in this group.
        </p>
      ) : (
      <Composer
        key={conversationId}
        ref={composerRef}
        conversationId={conversationId}
        replyTo={replyTo}
        onReplyChange={setReplyTo}
        editing={editing}
        onEditDone={onEditDone}
        nameOf={nameOfMessage}
        members={otherMembers}
      />
      )}
      {groupUsed && group ? (
        <GroupInfoDialog open={groupOpen} onClose={() => setGroupOpen(false)} conversationId={conversationId} group={group} names={memberNames} />
      ) : null}
      <DeleteMessageDialog message={deleting} onClose={() => setDeleting(null)} />
      <MessageInfoDialog message={info ? (slice?.messages.find((m) => m.id === info.id) ?? info) : null} onClose={() => setInfo(null)} members={otherMembers} />
      <DisappearingDialog open={timerOpen} onClose={() => setTimerOpen(false)} conversationId={conversationId} current={timer} group={isGroup} />
      {cardUsed && <PersonCardDialog open={cardOpen} onClose={() => setCardOpen(false)} address={conversation.theirAddress} fallbackName={peerName} />}
      {safetyUsed && (
        <SafetyNumberDialog
          open={safetyOpen}
          onClose={() => setSafetyOpen(false)}
          conversationId={conversationId}
          peerName={peerName}
          verified={verified}
        />
      )}
    </section>
  );
});

/**
 * A verified contact's key changed: the engine holds what I write to them until I accept the new
 * safety number. The composer stays usable; messages queue meanwhile.
 */
function SafetyNumberChanged({ conversationId, peerName, onView }: { conversationId: string; peerName: string; onView: () => void }) {
  const titleId = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function accept() {
    setBusy(true);
    setError(null);
    try {
      await acceptIdentity(conversationId);
      // the notice goes away when the identity row says so
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section
      aria-labelledby={titleId}
      className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
    >
      <div className="min-w-0 flex-1 basis-64">
        <h3 id={titleId} className="font-semibold">
          Safety number changed
        </h3>
        <p>
          You had verified {peerName}, and their safety number has changed. Messages you write to them are held until you accept the new number.
          Compare it with them first if you can.
        </p>
        {error ? (
          <p role="alert" className="mt-1 text-red-700 dark:text-red-300">
            {error}
          </p>
        ) : null}
      </div>
      <div className="flex shrink-0 items-center gap-2">
        <button
          type="button"
          onClick={onView}
          className="rounded-lg border border-amber-400 px-2.5 py-1 font-medium hover:bg-amber-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 dark:border-amber-700 dark:hover:bg-amber-900"
        >
          View safety number
        </button>
        <button
          type="button"
          onClick={() => void accept()}
          disabled={busy}
          className="rounded-lg bg-amber-800 px-2.5 py-1 font-semibold text-white hover:bg-amber-900 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60 dark:bg-amber-400 dark:text-amber-950 dark:hover:bg-amber-300"
        >
          Accept
        </button>
      </div>
    </section>
  );
}
