"use client";
// One person's merged timeline ("One row per person"): every conversation I have with any of their
// addresses, from any of my accounts, as one log; each message says its route. The composer sends via
// the route chosen in "Send via" (my account → their address), which starts as the route of the last
// message. Replying to or editing a message switches to that message's route, where it must go.
import { Contact } from "lucide-react";
import { useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import dynamic from "next/dynamic";
import { BRANDS, brandOf, handleOf, type Address } from "@/lib/brands";
import { describeError, startChat } from "@/lib/hooks/actions";
import { useAccounts } from "@/lib/hooks/data";
import { usePersonRoutes, useTimeline, type Route } from "@/lib/hooks/people";
import type { MessageRow } from "@/lib/hooks/types";
import { ConversationHeader, HeaderButton } from "../conversation/Header";
import { BrandBadge } from "../ui/BrandBadge";
import { useOpenedOnce } from "../useOpenedOnce";
import { Composer } from "../conversation/Composer";
import { ConversationContext, type ConversationActions } from "../conversation/context";
import { DeleteMessageDialog, MessageInfoDialog } from "../conversation/MessageDialogs";
import { MessageLog } from "../conversation/MessageLog";

const PersonCardDialog = dynamic(() => import("./PersonCardDialog").then((m) => m.PersonCardDialog), { ssr: false });

const PAGE = 200;

interface Props {
  personId: string;
  onBack: () => void;
  /** Shows one conversation instead (when the person is split while open: the route in use). */
  onOpenConversation: (conversationId: string) => void;
}

/** A route to offer: an existing conversation, or a pair of my account and their address not used yet. */
interface Via {
  key: string;
  ourAddress: Address;
  theirAddress: Address;
  conversationId: string | null;
}

function viaKey(ourAddress: string, theirAddress: string): string {
  return `${ourAddress} ${theirAddress}`;
}

export function PersonView({ personId, onBack, onOpenConversation }: Props) {
  const person = usePersonRoutes(personId);
  const accounts = useAccounts();
  const routes = useMemo(() => person?.routes ?? [], [person]);
  const ids = useMemo(() => routes.map((r) => r.conversationId), [routes]);
  const [limit, setLimit] = useState(PAGE);
  const slice = useTimeline(ids, limit);
  const [chosen, setChosen] = useState<string | null>(null);
  const [cardOpen, setCardOpen] = useState(false);
  const cardUsed = useOpenedOnce(cardOpen);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const [replyTo, setReplyTo] = useState<string | null>(null);
  const [editing, setEditing] = useState<MessageRow | null>(null);
  const [deleting, setDeleting] = useState<MessageRow | null>(null);
  const [info, setInfo] = useState<MessageRow | null>(null);
  const [jumpTarget, setJumpTarget] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const viaId = useId();
  const unreadAtOpen = useRef<number | null>(null);
  if (unreadAtOpen.current === null && person) unreadAtOpen.current = person.routes.reduce((n, r) => n + r.unread, 0);

  const byConversation = useMemo(() => new Map(routes.map((r) => [r.conversationId, r])), [routes]);
  const vias = useMemo<Via[]>(() => {
    const out: Via[] = routes.map((r) => ({ key: viaKey(r.ourAddress, r.theirAddress), ourAddress: r.ourAddress, theirAddress: r.theirAddress, conversationId: r.conversationId }));
    for (const account of accounts ?? []) {
      for (const their of person?.addresses ?? []) {
        if (account.address === their || out.some((v) => v.key === viaKey(account.address, their))) continue;
        out.push({ key: viaKey(account.address, their), ourAddress: account.address, theirAddress: their, conversationId: null });
      }
    }
    return out;
  }, [routes, accounts, person]);
  const last = slice?.messages[slice.messages.length - 1];
  const defaultConversation = (last && byConversation.has(last.conversationId) ? last.conversationId : routes[0]?.conversationId) ?? null;
  const current = chosen && byConversation.has(chosen) ? chosen : defaultConversation;

  // split while open (here or in another tab): carry on in the conversation that was in use
  const lastUsed = useRef<string | null>(null);
  if (current) lastUsed.current = current;
  const gone = person === null;
  useEffect(() => {
    if (gone && lastUsed.current) onOpenConversation(lastUsed.current);
  }, [gone, onOpenConversation]);

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), 3_000);
    return () => clearTimeout(timer);
  }, [notice]);

  const latest = useRef({ byConversation, name: person?.name ?? "" });
  latest.current = { byConversation, name: person?.name ?? "" };
  const actions = useMemo<ConversationActions>(
    () => ({
      conversationId: `person:${personId}`,
      get ourAddress() {
        return "";
      },
      nameOf: (_address, mine) => (mine ? "You" : latest.current.name),
      reply: (message) => {
        setEditing(null);
        setChosen(message.conversationId);
        setReplyTo(message.id);
        composerRef.current?.focus();
      },
      edit: (message) => {
        setReplyTo(null);
        setChosen(message.conversationId);
        setEditing(message);
        composerRef.current?.focus();
      },
      askDelete: setDeleting,
      showInfo: setInfo,
      jumpTo: (id) => setJumpTarget(id),
      announce: setNotice,
      routeOf: (conversationId) => latest.current.byConversation.get(conversationId),
    }),
    [personId],
  );
  const nameOfMessage = useCallback((m: MessageRow) => (m.direction === "out" ? "You" : latest.current.name), []);
  const onJumped = useCallback(() => setJumpTarget(null), []);
  const onEditDone = useCallback(() => setEditing(null), []);

  async function choose(key: string) {
    setError(null);
    const via = vias.find((v) => v.key === key);
    if (!via) return;
    if (via.conversationId) {
      setChosen(via.conversationId);
      setReplyTo(null);
      return;
    }
    try {
      // a route not used yet: the directory must know their address, as for a new message
      const id = await startChat(via.ourAddress, via.theirAddress);
      setChosen(id);
      setReplyTo(null);
    } catch (err) {
      setError(describeError(err));
    }
  }

  if (person === undefined) return <div className="flex-1" aria-busy="true" />;
  if (person === null) {
    return (
      <div className="flex flex-1 flex-col items-center justify-center gap-2 p-6 text-center">
        <p className="font-medium">These addresses are no longer joined into one person.</p>
        <button type="button" onClick={onBack} className="text-sm text-sky-700 underline dark:text-sky-300">
          Back to the inbox
        </button>
      </div>
    );
  }
  const unreadNow = routes.reduce((n, r) => n + r.unread, 0);
  const currentRoute: Route | undefined = current ? byConversation.get(current) : undefined;

  return (
    <section aria-label={`Conversation with ${person.name}`} className="relative flex min-h-0 flex-1 flex-col">
      <ConversationHeader
        name={person.name}
        brand={currentRoute?.theirBrand ?? routes[0]?.theirBrand ?? "whatsapp"}
        onBack={onBack}
        actions={<HeaderButton label="Contact info" icon={Contact} onClick={() => setCardOpen(true)} />}
      >
          <h2 className="truncate font-semibold leading-tight">{person.name}</h2>
          <ul aria-label="Routes" className="flex flex-wrap items-center gap-1 text-xs text-slate-700 dark:text-slate-300">
            {routes.map((r) => (
              <li key={r.conversationId} className="flex items-center gap-0.5">
                <BrandBadge brand={r.theirBrand} />
                <span aria-hidden="true">→</span>
                <BrandBadge brand={r.ourBrand} label={`you on ${BRANDS[r.ourBrand].name}`} />
              </li>
            ))}
          </ul>
      </ConversationHeader>

      <ConversationContext.Provider value={actions}>
        {slice ? (
          <MessageLog
            conversationId={`person:${personId}`}
            messages={slice.messages}
            hasOlder={slice.hasOlder}
            onLoadOlder={() => {
              if (slice.messages.length >= limit) setLimit(limit + PAGE);
            }}
            peerName={person.name}
            ourBrand={currentRoute?.ourBrand ?? routes[0]?.ourBrand ?? "whatsapp"}
            unreadAtOpen={unreadAtOpen.current ?? 0}
            unreadNow={unreadNow}
            jumpTarget={jumpTarget}
            onJumped={onJumped}
          />
        ) : (
          <div className="min-h-0 flex-1 bg-slate-100 dark:bg-slate-950" aria-busy="true" />
        )}
      </ConversationContext.Provider>
      <p aria-live="polite" className="pointer-events-none absolute inset-x-0 bottom-28 flex justify-center empty:hidden">
        {notice ? <span className="rounded-full bg-slate-900 px-3 py-1 text-sm text-white shadow-lg dark:bg-slate-100 dark:text-slate-900">{notice}</span> : null}
      </p>
      <div className="flex flex-wrap items-center gap-2 border-t border-slate-200 bg-white px-3 pt-2 text-sm dark:border-slate-800 dark:bg-slate-900">
        <label htmlFor={viaId} className="font-medium">
          Send via
        </label>
        <select
          id={viaId}
          value={currentRoute ? viaKey(currentRoute.ourAddress, currentRoute.theirAddress) : ""}
          onChange={(e) => void choose(e.target.value)}
          className="min-w-0 flex-1 rounded-lg border border-slate-300 bg-white px-2 py-1 dark:border-slate-700 dark:bg-slate-950"
        >
          {currentRoute ? null : <option value="">Choose a route</option>}
          {vias.map((v) => (
            <option key={v.key} value={v.key}>
              {routeLabel(v.ourAddress, v.theirAddress)}
              {v.conversationId ? "" : " (new)"}
            </option>
          ))}
        </select>
        {error ? (
          <p role="alert" className="basis-full text-red-700 dark:text-red-300">
            {error}
          </p>
        ) : null}
      </div>
      {current ? (
        <Composer
          key={personId}
          ref={composerRef}
          conversationId={current}
          replyTo={replyTo}
          onReplyChange={setReplyTo}
          editing={editing}
          onEditDone={onEditDone}
          nameOf={nameOfMessage}
        />
      ) : null}
      <DeleteMessageDialog message={deleting} onClose={() => setDeleting(null)} />
      <MessageInfoDialog message={info} onClose={() => setInfo(null)} />
      {cardUsed && person.addresses[0] ? (
        <PersonCardDialog open={cardOpen} onClose={() => setCardOpen(false)} address={currentRoute?.theirAddress ?? person.addresses[0]} fallbackName={person.name} />
      ) : null}
    </section>
  );
}

/** "Messenger alice.smith → Instagram @carol": my account, then their address. */
function routeLabel(ourAddress: Address, theirAddress: Address): string {
  const ours = brandOf(ourAddress);
  const theirs = brandOf(theirAddress);
  return `${ours ? BRANDS[ours].name : ""} ${handleOf(ourAddress)} → ${theirs ? BRANDS[theirs].name : ""} ${handleOf(theirAddress)}`;
}
