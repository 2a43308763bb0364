"use client";
// The whole app on one page: the first-run form until an account exists, then the inbox
// beside the open conversation (one pane at a time on narrow screens).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import dynamic from "next/dynamic";
import type { Address } from "@/lib/brands";
import { useEngineBoot, useConnectionStatus } from "@/lib/hooks/engine";
import { useAccounts, useInbox, useSettings, useUnreadTotal } from "@/lib/hooks/data";
import { useIncomingNotifications } from "@/lib/hooks/notifications";
import { useIsClient, usePersistentStorage, useServiceWorker, useUnreadTitle } from "@/lib/hooks/pwa";
import { unreadTotal } from "@/lib/hooks/queries";
import { FIRST_SCREENFUL } from "@/lib/hooks/startup";
import { WIDE_MEDIA, useDismissFirstScreen, useFirstScreenCopy } from "@/lib/hooks/firstScreen";
import { logOut, startAgain, useSessionState } from "@/lib/hooks/session";
import { useTheme } from "@/lib/hooks/theme";
import { useSelectedConversation } from "@/lib/hooks/useSelectedConversation";
import { useMediaQuery } from "@/lib/hooks/useMediaQuery";
import { selectedPerson } from "@/lib/hooks/people";
import { searchAhead, useSearch } from "@/lib/hooks/search";
import type { InboxFilter } from "@/lib/hooks/types";
import { AccountForm } from "./AccountForm";
import { LinkThisDevice } from "./devices/LinkThisDevice";
import { ConversationList } from "./inbox/ConversationList";
import { ConversationView } from "./conversation/ConversationView";
import { Dialog } from "./ui/Dialog";
import { FilterBar } from "./inbox/FilterBar";
import { SearchBox, SearchResultsList } from "./inbox/Search";
import { formatterWarmups } from "./format";
import { warmLinkify } from "./conversation/text";
import { InstallButton } from "./InstallButton";
import { TopBar } from "./TopBar";
import { useOpenedOnce } from "./useOpenedOnce";
import { warmIntlOffThread } from "./warmIntl";
import { HistoryTransfer } from "./devices/HistoryTransfer";

// Dialogs load (and mount) on first use: their code is not part of the first chunk the page evaluates,
// and nothing of them renders while a backlog arrives.
const NewGroupDialog = dynamic(() => import("./groups/NewGroupDialog").then((m) => m.NewGroupDialog), { ssr: false });
const NewMessageDialog = dynamic(() => import("./inbox/NewMessageDialog").then((m) => m.NewMessageDialog), { ssr: false });
const DiagnosticsDialog = dynamic(() => import("./settings/DiagnosticsDialog").then((m) => m.DiagnosticsDialog), { ssr: false });
const ContactsDialog = dynamic(() => import("./people/ContactsDialog").then((m) => m.ContactsDialog), { ssr: false });
const PersonView = dynamic(() => import("./people/PersonView").then((m) => m.PersonView), { ssr: false });
const SettingsDialog = dynamic(() => import("./settings/SettingsDialog").then((m) => m.SettingsDialog), { ssr: false });
const LogOutDialog = dynamic(() => import("./settings/SettingsDialog").then((m) => m.LogOutDialog), { ssr: false });

export function JunctionApp() {
  // IndexedDB and the worker exist only in the browser; the server sends the bare shell
  const client = useIsClient();
  if (!client) return <Splash />;
  return <ClientApp />;
}

function Splash({ text = "Opening Junction…" }: { text?: string }) {
  return (
    <div className="flex h-dvh items-center justify-center" aria-busy="true">
      <p className="text-sm text-slate-600 dark:text-slate-400">{text}</p>
    </div>
  );
}

function ClientApp() {
  // while logging out and after, nothing that reads the database stays mounted
  const session = useSessionState();
  if (session === "loggingOut") return <Splash text="Logging out…" />;
  if (session === "loggedOut" || session === "failed") return <LoggedOut failed={session === "failed"} />;
  return <RunningApp />;
}

function LoggedOut({ failed }: { failed: boolean }) {
  useDismissFirstScreen(true);
  return (
    <main className="mx-auto flex min-h-dvh max-w-md flex-col justify-center gap-4 px-5 py-10">
      <h1 className="text-3xl font-bold tracking-tight">Junction</h1>
      {failed ? (
        <p role="alert" className="text-red-700 dark:text-red-300">
          Logging out did not finish. Reload the page and try again; your data may still be on this device.
        </p>
      ) : (
        <p role="status" aria-label="Logged out">
          You are logged out. No account, key or message is left on this device.
        </p>
      )}
      <button
        type="button"
        onClick={startAgain}
        className="self-start rounded-xl bg-slate-900 px-4 py-2.5 font-semibold text-white hover:bg-slate-700 dark:bg-slate-100 dark:text-slate-900"
      >
        Start again
      </button>
    </main>
  );
}

function RunningApp() {
  useEngineBoot();
  useTheme(useSettings().theme);
  useServiceWorker();
  const accounts = useAccounts();
  const status = useConnectionStatus();
  usePersistentStorage((accounts?.length ?? 0) > 0);

  if (accounts === undefined) return <Splash />;
  if (accounts.length === 0) return <FirstRun />;
  return <Inbox accounts={accounts} status={status} />;
}

function FirstRun() {
  useDismissFirstScreen(true);
  return (
    <main className="mx-auto flex min-h-dvh max-w-md flex-col justify-center gap-6 px-5 py-10">
      <div>
        <div className="flex items-center justify-between gap-3">
          <h1 className="text-3xl font-bold tracking-tight">Junction</h1>
          <InstallButton />
        </div>
        <p className="mt-2 text-slate-600 dark:text-slate-300">
          One inbox for WhatsApp, Instagram and Messenger. Write to anyone on any brand; every message is end-to-end encrypted on this device.
        </p>
      </div>
      <section aria-labelledby="first-account" className="rounded-2xl bg-white p-5 shadow-sm dark:bg-slate-900">
        <h2 id="first-account" className="mb-4 text-lg font-semibold">
          Create your first account
        </h2>
        <AccountForm usedBrands={[]} />
      </section>
      <section aria-labelledby="link-existing" className="rounded-2xl bg-white p-5 shadow-sm dark:bg-slate-900">
        <h2 id="link-existing" className="mb-2 text-lg font-semibold">
          Already use Junction?
        </h2>
        <LinkThisDevice />
      </section>
    </main>
  );
}

/**
 * The inbox's row limit: the first screenful, then (two frames after that screenful is on screen) all.
 * Asking for all before the first answer came would replace that query, and the first row would wait
 * for every conversation to be read.
 */
function useFirstScreenfulThenAll(): [number, (shown: boolean) => void] {
  const [limit, setLimit] = useState(FIRST_SCREENFUL);
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!shown) return;
    let second = 0;
    const first = requestAnimationFrame(() => {
      second = requestAnimationFrame(() => setLimit(Number.POSITIVE_INFINITY));
    });
    return () => {
      cancelAnimationFrame(first);
      cancelAnimationFrame(second);
    };
  }, [shown]);
  return [limit, setShown];
}

/**
 * Builds the date formatters while the page is idle, before the first row needs them, once a worker has
 * loaded the locale's data (warmIntl.ts): each step is then about a millisecond. Last, linkify's state
 * machine, which the first message with a link would otherwise build while its conversation opens.
 */
function useWarmFormatters(): void {
  useEffect(() => {
    const steps = [...formatterWarmups(), warmLinkify];
    let cancel = () => {};
    let live = true;
    const next = () => {
      const step = steps.shift();
      if (!step) return;
      step();
      schedule();
    };
    const schedule = () => {
      if (typeof requestIdleCallback === "function") {
        const id = requestIdleCallback(next, { timeout: 3_000 });
        cancel = () => cancelIdleCallback(id);
      } else {
        const id = setTimeout(next, 100);
        cancel = () => clearTimeout(id);
      }
    };
    void warmIntlOffThread().then(() => {
      if (live) schedule();
    });
    return () => {
      live = false;
      cancel();
    };
  }, []);
}

/** The real inbox list has rows on screen (or has none to show). */
function inboxRowsShown(): boolean {
  return document.querySelector('[role="list"][aria-label="Conversations"] li') !== null;
}

/** Hidden, its rendering kept for when it shows again. */
const HIDDEN_KEPT: React.CSSProperties = { contentVisibility: "hidden" };

/**
 * The search box and, while it holds a query, its results in place of `children` (the filter chips and the
 * conversation list). The query and its results live here, so a keystroke or an answer renders this pane
 * and not the inbox around it (the top bar, the open conversation). The worker is asked from the input
 * event itself (searchAhead), so it searches while the keystroke renders.
 */
function SearchPane({
  onSearching,
  onOpen,
  onWriteTo,
  children,
}: {
  onSearching: (searching: boolean) => void;
  onOpen: (conversationId: string, messageId: string | null) => void;
  onWriteTo: (address: Address) => void;
  children: React.ReactNode;
}) {
  const [query, setQuery] = useState("");
  const { state: search, showMore } = useSearch(query);
  const input = useRef<HTMLInputElement>(null);
  const results = useRef<HTMLDivElement>(null);
  const searching = query.trim() !== "";
  // not a transition: until the inbox around knows, it may still take its first-screen copy (a timer after the
  // last change), and a copy taken then holds the results
  useEffect(() => onSearching(searching), [searching, onSearching]);
  const onChange = useCallback((next: string) => {
    searchAhead(next);
    setQuery(next);
  }, []);
  // The inbox stays mounted under the results, hidden, so its virtual list neither unmounts on the first
  // keystroke nor measures and mounts again when the query is cleared (the unmount was a third of the first
  // keystroke's render in a profile), and `children` is the same element on every keystroke, so it does not
  // render again. Hidden by `content-visibility: hidden`: its contents' style and layout are skipped and kept,
  // and they leave the accessibility tree and the tab order; `visibility: hidden` and `inert` are inherited, and
  // setting them restyled every row of the list (25 ms of style in a trace, again when shown).
  return (
    <>
      <SearchBox value={query} onChange={onChange} inputRef={input} resultsRef={results} />
      <div className="relative flex min-h-0 flex-1 flex-col">
        <div className="flex min-h-0 flex-1 flex-col" style={searching ? HIDDEN_KEPT : undefined}>
          {children}
        </div>
        {searching ? (
          <div className="absolute inset-0 flex flex-col">
            <SearchResultsList state={search} showMore={showMore} onOpen={onOpen} onWriteTo={onWriteTo} inputRef={input} resultsRef={results} />
          </div>
        ) : null}
      </div>
    </>
  );
}

function Inbox({ accounts, status }: { accounts: NonNullable<ReturnType<typeof useAccounts>>; status: ReturnType<typeof useConnectionStatus> }) {
  const [filter, setFilter] = useState<InboxFilter>("all");
  const [selectedId, select] = useSelectedConversation();
  const [dialog, setDialog] = useState<"none" | "new" | "group" | "account" | "diagnostics" | "settings" | "logOut" | "contacts">("none");
  /** A contact chosen in search, filled into "New message". */
  const [writeTo, setWriteTo] = useState<Address | undefined>(undefined);
  const newUsed = useOpenedOnce(dialog === "new");
  const groupUsed = useOpenedOnce(dialog === "group");
  const contactsUsed = useOpenedOnce(dialog === "contacts");
  const personId = selectedPerson(selectedId);
  const diagnosticsUsed = useOpenedOnce(dialog === "diagnostics");
  const settingsUsed = useOpenedOnce(dialog === "settings" || dialog === "logOut");
  const myBrands = useMemo(() => [...new Set(accounts.map((a) => a.brand))], [accounts]);
  const [limit, firstShown] = useFirstScreenfulThenAll();
  const inbox = useInbox(filter, limit);
  const answered = inbox !== undefined;
  useEffect(() => firstShown(answered), [answered, firstShown]);
  // the full "all" list already holds every conversation: the title, badge and notifications read
  // it instead of running more live queries after every batch the worker stores
  // (with "One row per person" a row may stand for several conversations: the title counts them itself)
  const everything = filter === "all" && inbox && !inbox.truncated && !inbox.people ? inbox : undefined;
  const unreadFromInbox = useMemo(() => (everything ? unreadTotal(everything.rows) : undefined), [everything]);
  const unreadQueried = useUnreadTotal(inbox !== undefined && everything === undefined);
  useUnreadTitle(unreadFromInbox ?? unreadQueried);
  useIncomingNotifications(everything);
  useWarmFormatters();
  // whether the search box holds a query (the query itself and its results live in SearchPane)
  const [searching, setSearching] = useState(false);
  // a search result opens its conversation at its message (a new object each time: choosing it again jumps again)
  const [openAt, setOpenAt] = useState<{ conversationId: string; messageId: string } | null>(null);
  const openResult = useCallback(
    (conversationId: string, messageId: string | null) => {
      setOpenAt(messageId ? { conversationId, messageId } : null);
      select(conversationId);
    },
    [select],
  );
  const writeToFromSearch = useCallback((address: Address) => {
    setWriteTo(address);
    setDialog("new");
  }, []);
  const back = useCallback(() => select(null), [select]);
  // leaving that conversation forgets the message: opening it again later starts where it usually does
  useEffect(() => {
    if (openAt && openAt.conversationId !== selectedId) setOpenAt(null);
  }, [openAt, selectedId]);
  // the first screen of the next start: this inbox as shown, in its plain state (lib/hooks/firstScreen.ts)
  const root = useRef<HTMLDivElement>(null);
  const wide = useMediaQuery(WIDE_MEDIA);
  const plain =
    inbox === undefined
      ? null
      : filter === "all" &&
        !searching &&
        (selectedId === null || wide) &&
        !inbox.rows.slice(0, FIRST_SCREENFUL).some((r) => (r.expiresInMs ?? 0) > 0 || (inbox.people?.get(r.id)?.conversations.some((c) => (c.expiresInMs ?? 0) > 0) ?? false));
  useFirstScreenCopy(root, plain, inbox);
  useDismissFirstScreen(answered, inboxRowsShown);

  return (
    <div ref={root} className="flex h-dvh flex-col">
      <TopBar
        accounts={accounts}
        status={status}
        onNewMessage={() => setDialog("new")}
        onNewGroup={() => setDialog("group")}
        onAddAccount={() => setDialog("account")}
        onDiagnostics={() => setDialog("diagnostics")}
        onSettings={() => setDialog("settings")}
        onContacts={() => setDialog("contacts")}
        hiddenOnNarrow={selectedId !== null}
      />
      <div className="flex min-h-0 flex-1">
        <nav
          aria-label="Inbox"
          className={`${selectedId ? "hidden md:flex" : "flex"} w-full flex-col border-r border-slate-200 bg-white md:w-96 md:shrink-0 dark:border-slate-800 dark:bg-slate-900`}
        >
          <HistoryTransfer direction="in" />
          <SearchPane onSearching={setSearching} onOpen={openResult} onWriteTo={writeToFromSearch}>
            <FilterBar value={filter} onChange={setFilter} brands={myBrands} />
            <ConversationList rows={inbox?.rows} total={inbox?.total ?? 0} names={inbox?.names} people={inbox?.people} filter={filter} selectedId={selectedId} />
          </SearchPane>
        </nav>
        <main className={`${selectedId ? "flex" : "hidden md:flex"} min-w-0 flex-1 flex-col`}>
          {personId ? (
            <PersonView key={selectedId} personId={personId} onBack={back} onOpenConversation={select} />
          ) : selectedId ? (
            <ConversationView
              key={selectedId}
              conversationId={selectedId}
              onBack={back}
              openAt={openAt?.conversationId === selectedId ? openAt : null}
            />
          ) : (
            <div className="flex flex-1 flex-col items-center justify-center gap-2 p-6 text-center text-slate-700 dark:text-slate-300">
              <p className="font-medium">Choose a conversation</p>
              <p className="text-sm">or start one with “New message”.</p>
            </div>
          )}
        </main>
      </div>
      {newUsed && (
        <NewMessageDialog
          open={dialog === "new"}
          onClose={() => {
            setDialog("none");
            setWriteTo(undefined);
          }}
          accounts={accounts}
          initialTo={writeTo}
          onStarted={(id) => {
            setWriteTo(undefined);
            setDialog("none");
            select(id);
          }}
        />
      )}
      {groupUsed && (
        <NewGroupDialog
          open={dialog === "group"}
          onClose={() => setDialog("none")}
          accounts={accounts}
          onCreated={(id) => {
            setDialog("none");
            setFilter("all");
            select(id);
          }}
        />
      )}
      {contactsUsed && (
        <ContactsDialog
          open={dialog === "contacts"}
          onClose={() => setDialog("none")}
          accounts={accounts}
          onOpen={(id) => {
            setDialog("none");
            select(id);
          }}
        />
      )}
      <Dialog open={dialog === "account"} onClose={() => setDialog("none")} title="Add account" description="One account per brand on this device.">
        <AccountForm usedBrands={accounts.map((a) => a.brand)} onCreated={() => setDialog("none")} />
      </Dialog>
      {diagnosticsUsed && <DiagnosticsDialog open={dialog === "diagnostics"} onClose={() => setDialog("none")} />}
      {settingsUsed && (
        <>
          <SettingsDialog open={dialog === "settings"} onClose={() => setDialog((d) => (d === "settings" ? "none" : d))} accounts={accounts} onLogOut={() => setDialog("logOut")} />
          <LogOutDialog
            open={dialog === "logOut"}
            onClose={() => setDialog((d) => (d === "logOut" ? "none" : d))}
            onConfirm={() => {
              setDialog("none");
              void logOut();
            }}
          />
        </>
      )}
    </div>
  );
}
