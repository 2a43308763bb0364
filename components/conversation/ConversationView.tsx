"use client";
import { useEffect, useId, useRef, useState } from "react";
import dynamic from "next/dynamic";
import { BRANDS, handleOf } from "@/lib/brands";
import { acceptIdentity, describeError, markRead } from "@/lib/hooks/actions";
import { useContactName, useConversation, useIdentity, useMessages } from "@/lib/hooks/data";
import { useDocumentVisible } from "@/lib/hooks/useDocumentVisible";
import { Avatar } from "../Avatar";
import { BrandBadge } from "../BrandBadge";
import { Composer } from "./Composer";
import { MessageLog } from "./MessageLog";
import { useOpenedOnce } from "../useOpenedOnce";

// loaded (with the QR code library) and mounted the first time it opens
const SafetyNumberDialog = dynamic(() => import("./SafetyNumberDialog").then((m) => m.SafetyNumberDialog), { ssr: false });

/** Messages held in the window at first; scrolling up grows it by the same amount. */
const PAGE = 200;

interface Props {
  conversationId: string;
  onBack: () => void;
}

export function ConversationView({ conversationId, onBack }: Props) {
  const conversation = useConversation(conversationId);
  const contactName = useContactName(conversation?.theirAddress ?? null);
  const identity = useIdentity(conversationId);
  const [limit, setLimit] = useState(PAGE);
  const slice = useMessages(conversationId, limit);
  const [safetyOpen, setSafetyOpen] = useState(false);
  const safetyUsed = useOpenedOnce(safetyOpen);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const visible = useDocumentVisible();

  // a newly opened conversation starts with a fresh window and the cursor in the composer
  useEffect(() => {
    setLimit(PAGE);
    setSafetyOpen(false);
    composerRef.current?.focus({ preventScroll: true });
  }, [conversationId]);

  // reading happens when the conversation is on screen: mark read then, and again as messages arrive
  const unread = conversation?.unread ?? 0;
  useEffect(() => {
    if (unread > 0 && visible) void markRead(conversationId).catch(() => undefined);
  }, [conversationId, unread, visible]);

  if (conversation === undefined) return <div className="flex-1" aria-busy="true" />;
  if (conversation === null) {
    return (
      <div className="flex flex-1 flex-col items-center justify-center gap-2 p-6 text-center">
        <p className="font-medium">This conversation is not on this device.</p>
        <button type="button" onClick={onBack} className="text-sm text-sky-700 underline dark:text-sky-400">
          Back to the inbox
        </button>
      </div>
    );
  }

  const peerName = contactName ?? conversation.theirAddress;
  const verified = identity?.verified ?? false;
  const keyChanged = identity?.changedAt != null;
  const awaitingAcceptance = identity?.awaitingAcceptance === true;

  return (
    <section aria-label={`Conversation with ${peerName}`} className="flex min-h-0 flex-1 flex-col">
      <header className="flex items-center gap-3 border-b border-slate-200 bg-white px-3 py-2 dark:border-slate-800 dark:bg-slate-900">
        <button
          type="button"
          onClick={onBack}
          aria-label="Back to the inbox"
          className="rounded-full p-1.5 text-xl leading-none hover:bg-slate-100 md:hidden dark:hover:bg-slate-800"
        >
          <span aria-hidden="true">←</span>
        </button>
        <Avatar name={peerName} brand={conversation.theirBrand} size="sm" />
        <div className="min-w-0 flex-1">
          <h2 className="truncate font-semibold">
            {peerName}
            {verified ? (
              <span className="ml-1.5 text-xs font-medium text-emerald-600 dark:text-emerald-400" title="Safety number verified">
                ✓ Verified
              </span>
            ) : null}
          </h2>
          <p className="flex flex-wrap items-center gap-1 text-xs text-slate-500">
            <BrandBadge brand={conversation.theirBrand} />
            <span className="truncate">{conversation.theirAddress !== peerName ? conversation.theirAddress : null}</span>
            <span aria-hidden="true">·</span>
            <span>you as</span>
            <BrandBadge brand={conversation.ourBrand} label={`${BRANDS[conversation.ourBrand].name} ${handleOf(conversation.ourAddress)}`} />
          </p>
        </div>
        <button
          type="button"
          onClick={() => setSafetyOpen(true)}
          className="rounded-lg border border-slate-300 px-2.5 py-1 text-sm font-medium hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
        >
          Safety number
        </button>
      </header>

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

      <MessageLog
        conversationId={conversationId}
        messages={slice?.messages ?? []}
        hasOlder={slice?.hasOlder ?? false}
        onLoadOlder={() => {
          if (slice && slice.messages.length >= limit) setLimit(limit + PAGE);
        }}
        peerName={peerName}
      />
      <Composer key={conversationId} ref={composerRef} conversationId={conversationId} />
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
}

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
