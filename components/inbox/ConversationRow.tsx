"use client";
import { memo, useId } from "react";
import { BRANDS, handleOf } from "@/lib/brands";
import { conversationHref } from "@/lib/hooks/useSelectedConversation";
import type { ConversationRow as Row } from "@/lib/hooks/types";
import { Avatar } from "../Avatar";
import { BrandBadge } from "../BrandBadge";
import { DeliveryState, deliveryWord } from "../conversation/DeliveryState";
import { formatRowTime } from "../format";

interface Props {
  row: Row;
  name: string;
  selected: boolean;
}

/**
 * One inbox row. The link is named by the peer alone (that is what a person looks for);
 * brands, last message, time, unread count and delivery state are its description.
 */
export const ConversationRow = memo(function ConversationRow({ row, name, selected }: Props) {
  const nameId = useId();
  const descId = useId();
  const time = row.lastActivity ? formatRowTime(row.lastActivity) : "";
  const mine = row.lastDirection === "out";
  const description = [
    `On ${BRANDS[row.theirBrand].name}, with your ${BRANDS[row.ourBrand].name} account ${handleOf(row.ourAddress)}.`,
    row.lastPreview ? `${mine ? "You: " : ""}${row.lastPreview}.` : "No messages yet.",
    time,
    row.unread > 0 ? `${row.unread} unread.` : "",
    mine && row.lastState ? `${deliveryWord(row.lastState)}.` : "",
  ]
    .filter(Boolean)
    .join(" ");

  return (
    <a
      href={conversationHref(row.id)}
      aria-labelledby={nameId}
      aria-describedby={descId}
      aria-current={selected ? "page" : undefined}
      className={`flex h-full items-center gap-3 px-3 outline-none focus-visible:bg-sky-50 focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-sky-500 dark:focus-visible:bg-sky-950 ${
        selected ? "bg-slate-200/70 dark:bg-slate-800" : "hover:bg-slate-100 dark:hover:bg-slate-900"
      }`}
    >
      <Avatar name={name} brand={row.theirBrand} />
      <span className="flex min-w-0 flex-1 flex-col gap-0.5">
        <span className="flex items-baseline gap-2">
          <span id={nameId} className={`truncate ${row.unread > 0 ? "font-semibold" : "font-medium"}`}>
            {name}
          </span>
          <span className={`ml-auto shrink-0 text-xs ${row.unread > 0 ? "font-semibold text-emerald-600 dark:text-emerald-400" : "text-slate-500"}`}>
            {time}
          </span>
        </span>
        <span className="flex items-center gap-1 text-xs text-slate-500" aria-hidden="true">
          <BrandBadge brand={row.theirBrand} />
          <span>→</span>
          <BrandBadge brand={row.ourBrand} label={`you on ${BRANDS[row.ourBrand].name}`} />
        </span>
        <span className="flex items-center gap-1 text-sm text-slate-600 dark:text-slate-400">
          {mine && row.lastState ? <DeliveryState state={row.lastState} className="shrink-0 text-xs" /> : null}
          <span className="truncate">{row.lastPreview || "No messages yet"}</span>
          {row.unread > 0 ? (
            <span className="ml-auto shrink-0 rounded-full bg-emerald-600 px-1.5 text-xs font-semibold text-white">{row.unread}</span>
          ) : null}
        </span>
      </span>
      <span id={descId} className="sr-only">
        {description}
      </span>
    </a>
  );
});
