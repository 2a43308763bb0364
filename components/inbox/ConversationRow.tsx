"use client";
import { Archive, ArchiveRestore, BellOff, BellRing, Pin, PinOff } from "lucide-react";
import { memo, useId, useState } from "react";
import { BRANDS, handleOf } from "@/lib/brands";
import { describeError, updateConversation } from "@/lib/hooks/actions";
import { useUntil } from "@/lib/hooks/useNow";
import { conversationHref } from "@/lib/hooks/useSelectedConversation";
import { personSelection, type PersonGroup } from "@/lib/hooks/people";
import type { ConversationRow as Row } from "@/lib/hooks/types";
import { Avatar } from "../ui/Avatar";
import { BrandBadge } from "../ui/BrandBadge";
import { DeliveryState, deliveryWord } from "../conversation/DeliveryState";
import { formatRowTime } from "../format";
import { MenuButton, type MenuItem } from "../ui/Menu";

interface Props {
  row: Row;
  name: string;
  selected: boolean;
  /** The row stands for this person's conversations ("One row per person"). */
  person?: PersonGroup;
}

/**
 * One inbox row. The link is named by the peer alone (that is what a person looks for);
 * brands, last message, time, unread count and delivery state are its description. Beside it,
 * "Conversation actions" pins, archives or mutes it.
 */
export const ConversationRow = memo(function ConversationRow({ row, name, selected, person }: Props) {
  const nameId = useId();
  const descId = useId();
  const typingUntil = person ? Math.max(...person.conversations.map((c) => c.typingUntil ?? 0)) : row.typingUntil;
  const typing = useUntil(typingUntil || undefined);
  const time = row.lastActivity ? formatRowTime(row.lastActivity) : "";
  const mine = row.lastDirection === "out";
  const pinned = row.pinnedAt != null;
  const archived = row.archived === 1;
  const muted = row.muted === true;
  const unread = person ? person.unread : row.unread;
  const pairs = person ? person.conversations : [row];
  const group = row.groupId !== undefined;
  const description = [
    group
      ? `Group with members on ${(row.groupBrands ?? []).map((b) => BRANDS[b].name).join(", ")}, as your ${BRANDS[row.ourBrand].name} account ${handleOf(row.ourAddress)}.`
      : person
      ? `On ${pairs.map((c) => `${BRANDS[c.theirBrand].name} with your ${BRANDS[c.ourBrand].name} account ${handleOf(c.ourAddress)}`).join("; ")}.`
      : `On ${BRANDS[row.theirBrand].name}, with your ${BRANDS[row.ourBrand].name} account ${handleOf(row.ourAddress)}.`,
    typing ? "typing…" : row.lastPreview ? `${mine && !group ? "You: " : ""}${row.lastPreview}.` : "No messages yet.",
    time,
    unread > 0 ? `${unread} unread.` : "",
    mine && row.lastState ? `${deliveryWord(row.lastState)}.` : "",
    pinned ? "Pinned." : "",
    muted ? "Muted." : "",
  ]
    .filter(Boolean)
    .join(" ");

  return (
    <div className="group relative h-full">
      <a
        href={conversationHref(person ? personSelection(person.personId) : row.id)}
        aria-labelledby={nameId}
        aria-describedby={descId}
        aria-current={selected ? "page" : undefined}
        className={`flex h-full items-center gap-3 py-0 pr-10 pl-3 outline-none focus-visible:bg-sky-50 focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-sky-600 dark:focus-visible:bg-sky-950 ${
          selected ? "bg-slate-200/70 dark:bg-slate-800" : "hover:bg-slate-100 dark:hover:bg-slate-800/60"
        }`}
      >
        <Avatar name={name} brand={row.theirBrand} />
        <span className="flex min-w-0 flex-1 flex-col gap-0.5">
          <span className="flex items-baseline gap-2">
            <span id={nameId} className={`truncate ${unread > 0 ? "font-semibold" : "font-medium"}`}>
              {name}
            </span>
            <span aria-hidden="true" className="flex shrink-0 items-center gap-1 self-center text-slate-600 dark:text-slate-400">
              {pinned ? <Pin className="h-3.5 w-3.5" /> : null}
              {muted ? <BellOff className="h-3.5 w-3.5" /> : null}
            </span>
            <span
              className={`ml-auto shrink-0 text-xs ${unread > 0 && !muted ? "font-semibold text-emerald-700 dark:text-emerald-300" : "text-slate-600 dark:text-slate-400"}`}
            >
              {time}
            </span>
          </span>
          <span className="flex items-center gap-1 overflow-hidden text-xs whitespace-nowrap text-slate-600 dark:text-slate-400" aria-hidden="true">
            {group ? (
              <span className="flex items-center gap-1">
                {(row.groupBrands ?? []).map((b) => (
                  <BrandBadge key={b} brand={b} />
                ))}
                <span>→</span>
                <BrandBadge brand={row.ourBrand} label={`you on ${BRANDS[row.ourBrand].name}`} />
              </span>
            ) : null}
            {(group ? [] : pairs).map((c, i) => (
              <span key={c.id} className="flex items-center gap-1">
                {i > 0 ? <span>·</span> : null}
                <BrandBadge brand={c.theirBrand} />
                <span>→</span>
                <BrandBadge brand={c.ourBrand} label={person ? BRANDS[c.ourBrand].name : `you on ${BRANDS[c.ourBrand].name}`} />
              </span>
            ))}
          </span>
          <span className="flex items-center gap-1 text-sm text-slate-700 dark:text-slate-300">
            {typing ? (
              <span className="truncate font-medium text-emerald-700 dark:text-emerald-300">typing…</span>
            ) : (
              <>
                {mine && row.lastState ? <DeliveryState state={row.lastState} className="shrink-0 text-xs" /> : null}
                <span dir="auto" className="truncate">
                  {row.lastPreview || "No messages yet"}
                </span>
              </>
            )}
            {unread > 0 ? (
              <span
                className={`ml-auto shrink-0 rounded-full px-1.5 text-xs font-semibold ${
                  muted ? "bg-slate-300 text-slate-900 dark:bg-slate-600 dark:text-white" : "bg-emerald-700 text-white"
                }`}
              >
                {unread}
              </span>
            ) : null}
          </span>
        </span>
        <span id={descId} className="sr-only">
          {description}
        </span>
      </a>
      <RowActions conversationIds={pairs.map((c) => c.id)} pinned={pinned} archived={archived} muted={muted} />
    </div>
  );
});

/** A person's row acts on every conversation it stands for. */
function RowActions({ conversationIds, pinned, archived, muted }: { conversationIds: string[]; pinned: boolean; archived: boolean; muted: boolean }) {
  const [error, setError] = useState<string | null>(null);
  const change = (patch: { pinned?: boolean; archived?: boolean; muted?: boolean }) => () => {
    setError(null);
    Promise.all(conversationIds.map((id) => updateConversation(id, patch))).catch((err: unknown) => setError(describeError(err)));
  };
  const items: MenuItem[] = [
    { label: pinned ? "Unpin" : "Pin", icon: pinned ? <PinOff className="h-4 w-4" /> : <Pin className="h-4 w-4" />, onSelect: change({ pinned: !pinned }) },
    {
      label: archived ? "Unarchive" : "Archive",
      icon: archived ? <ArchiveRestore className="h-4 w-4" /> : <Archive className="h-4 w-4" />,
      onSelect: change({ archived: !archived }),
    },
    { label: muted ? "Unmute" : "Mute", icon: muted ? <BellRing className="h-4 w-4" /> : <BellOff className="h-4 w-4" />, onSelect: change({ muted: !muted }) },
  ];
  return (
    <>
      <MenuButton
        label="Conversation actions"
        items={items}
        className="absolute top-1/2 right-1.5 -translate-y-1/2 rounded-full p-1.5 text-slate-700 opacity-0 hover:bg-slate-200 focus:opacity-100 focus-visible:outline-2 focus-visible:outline-sky-600 group-hover:opacity-100 aria-expanded:opacity-100 dark:text-slate-200 dark:hover:bg-slate-700 [@media(hover:none)]:opacity-70"
      />
      {error ? (
        <p role="alert" className="absolute right-10 bottom-1 rounded bg-red-50 px-1 text-xs text-red-800 dark:bg-red-950 dark:text-red-200">
          {error}
        </p>
      ) : null}
    </>
  );
}
