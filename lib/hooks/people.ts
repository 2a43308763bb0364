"use client";
// Live reads of contacts and people, and how a person is selected (the URL hash holds "person:<id>"
// where a conversation id would be: conversation ids never start with it, as no brand is called "person").
import { useLiveQuery } from "dexie-react-hooks";
import type { Address } from "../brands";
import { getDb } from "../store/db";
import { queryContacts, queryPersonCard, queryPersonOf, queryPersonRoutes, type ContactsView, type PersonCard, type Route } from "./peopleQueries";
import { queryTimeline, type MessageWindow } from "./queries";

export type { CardAddress, ContactEntry, ContactsView, PersonCard, Route, Suggestion } from "./peopleQueries";
export { filterContacts } from "./peopleQueries";
export type { PersonGroup } from "./queries";

const PERSON = "person:";

/** The selection that opens a person's merged timeline. */
export function personSelection(personId: string): string {
  return `${PERSON}${personId}`;
}

/** The person a selection names, or null when it names a conversation. */
export function selectedPerson(selection: string | null): string | null {
  return selection?.startsWith(PERSON) ? selection.slice(PERSON.length) || null : null;
}

/** undefined while loading. */
export function useContacts(enabled = true): ContactsView | undefined {
  return useLiveQuery(() => (enabled ? queryContacts(getDb()) : undefined), [enabled]);
}

/** The card of the person `address` belongs to; undefined while loading. */
export function usePersonCard(address: Address | null): PersonCard | null | undefined {
  return useLiveQuery(async () => (address ? queryPersonCard(getDb(), address) : null), [address]);
}

/** The person an address is joined to: null when none, undefined while loading. */
export function usePersonOf(address: Address | null): string | null | undefined {
  return useLiveQuery(async () => (address ? queryPersonOf(getDb(), address) : null), [address]);
}

/** A person's conversations as routes and their name: null when the person is gone (split), undefined while loading. */
export function usePersonRoutes(personId: string): { name: string; routes: Route[]; addresses: Address[] } | null | undefined {
  return useLiveQuery(() => queryPersonRoutes(getDb(), personId), [personId]);
}

/** One timeline of several conversations: the newest `limit` messages, oldest first. */
export function useTimeline(conversationIds: readonly string[], limit: number): MessageWindow | undefined {
  const key = conversationIds.join("\n");
  return useLiveQuery(() => queryTimeline(getDb(), conversationIds, limit), [key, limit]);
}
