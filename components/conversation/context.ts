"use client";
// What a bubble may ask of its conversation. One stable object per open conversation, so memoised
// bubbles do not re-render when the conversation's own state changes.
import { createContext, useContext } from "react";
import type { Route } from "@/lib/hooks/people";
import type { MessageRow } from "@/lib/hooks/types";

export interface ConversationActions {
  conversationId: string;
  /** My account in this conversation (my reactions carry it). */
  ourAddress: string;
  /** How to name an address (mine: "You"; the peer: their display name). */
  nameOf(address: string | undefined, mine: boolean): string;
  reply(message: MessageRow): void;
  edit(message: MessageRow): void;
  askDelete(message: MessageRow): void;
  showInfo(message: MessageRow): void;
  /** Scrolls to (loading older pages if needed) and highlights the message with this id. */
  jumpTo(id: string): void;
  /** Says something briefly in the conversation's status line ("Copied"). */
  announce(text: string): void;
  /**
   * In a person's merged timeline: the route of a message's conversation (their address, my account),
   * which each bubble shows and uses for my reactions. Absent in a single conversation.
   */
  routeOf?(conversationId: string): Route | undefined;
}

export const ConversationContext = createContext<ConversationActions | null>(null);

export function useConversationActions(): ConversationActions {
  const value = useContext(ConversationContext);
  if (!value) throw new Error("bubble outside a conversation");
  return value;
}
