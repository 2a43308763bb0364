// Contacts and people as the UI shows them, as plain functions over a database (tested in Node).
// The contacts list and a person's card are read on opening a dialog, not for the inbox's first rows,
// so the list may read its tables whole (one request each).
import { brandOf, type Address, type BrandId } from "../brands";
import type { AddressBookRow, ContactRow, ConversationRow, IdentityRow, JunctionDB } from "../store/db";
import { suggestMatches, type Suggestion } from "../store/people";

export type { Suggestion };

/** One of my accounts that talks to an address. */
export interface Route {
  conversationId: string;
  ourAddress: Address;
  ourBrand: BrandId;
  theirAddress: Address;
  theirBrand: BrandId;
  lastActivity: number;
  unread: number;
}

export interface ContactEntry {
  address: Address;
  brand: BrandId;
  /** The name they gave themselves. */
  displayName: string | null;
  /** The name I gave them. */
  nickname: string | null;
  /** What to call them: my name for them, else theirs, else the address. */
  name: string;
  personId: string | null;
  /** My conversations with this address. */
  routes: Route[];
}

export interface ContactsView {
  contacts: ContactEntry[];
  /** Possible matches (same name on two brands), never applied without me. */
  suggestions: Suggestion[];
}

function routeOf(conv: ConversationRow): Route {
  return {
    conversationId: conv.id,
    ourAddress: conv.ourAddress,
    ourBrand: conv.ourBrand,
    theirAddress: conv.theirAddress,
    theirBrand: conv.theirBrand,
    lastActivity: conv.lastActivity,
    unread: conv.unread,
  };
}

function entryOf(address: Address, contact: ContactRow | undefined, book: AddressBookRow | undefined, routes: Route[]): ContactEntry | null {
  const brand = brandOf(address);
  if (!brand) return null;
  const displayName = contact?.displayName ?? null;
  const nickname = book?.nickname ?? null;
  return { address, brand, displayName, nickname, name: nickname ?? displayName ?? address, personId: book?.personId ?? null, routes };
}

/** Everyone I have talked to, everyone I added, and everyone who named themselves to me; sorted by name. */
export async function queryContacts(db: JunctionDB): Promise<ContactsView> {
  const [accounts, contacts, book, conversations] = await Promise.all([db.accounts.toArray(), db.contacts.toArray(), db.addressBook.toArray(), db.conversations.toArray()]);
  const mine = new Set<string>(accounts.map((a) => a.address));
  const contactBy = new Map(contacts.map((c) => [c.address, c]));
  const bookBy = new Map(book.map((b) => [b.address, b]));
  const routes = new Map<string, Route[]>();
  for (const conv of conversations) routes.set(conv.theirAddress, [...(routes.get(conv.theirAddress) ?? []), routeOf(conv)]);
  const addresses = new Set<Address>([...conversations.map((c) => c.theirAddress), ...contacts.map((c) => c.address), ...book.map((b) => b.address)]);
  const out: ContactEntry[] = [];
  for (const address of addresses) {
    if (mine.has(address)) continue;
    const entry = entryOf(address, contactBy.get(address), bookBy.get(address), (routes.get(address) ?? []).sort((a, b) => b.lastActivity - a.lastActivity));
    if (entry) out.push(entry);
  }
  out.sort((a, b) => a.name.localeCompare(b.name) || a.address.localeCompare(b.address));
  return { contacts: out, suggestions: suggestMatches(contacts, bookBy, mine) };
}

/** Contacts whose name (theirs or mine) or address contains every word typed, case and accents aside. */
export function filterContacts(contacts: readonly ContactEntry[], query: string): ContactEntry[] {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...contacts];
  return contacts.filter((c) => {
    const hay = fold([c.nickname, c.displayName, c.address].filter(Boolean).join(" "));
    return words.every((w) => hay.includes(w));
  });
}

function fold(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLocaleLowerCase("en");
}

/** One address on a person's card: which of my accounts talks to it, with the verified state of each. */
export interface CardAddress extends ContactEntry {
  identities: ReadonlyMap<string, IdentityRow>;
}

export interface PersonCard {
  /** The person's id, or null for an address on its own. */
  personId: string | null;
  name: string;
  addresses: CardAddress[];
  /** Same-name addresses on other brands not joined yet: offered, never applied. */
  suggestions: Address[];
}

/** The card of the person `address` belongs to (or of the address alone). */
export async function queryPersonCard(db: JunctionDB, address: Address): Promise<PersonCard> {
  const own = await db.addressBook.get(address);
  const members = own?.personId ? await db.addressBook.where("personId").equals(own.personId).toArray() : [own ?? { address, updatedAt: 0 }];
  const addresses = members.map((m) => m.address).sort((a, b) => (a === address ? -1 : b === address ? 1 : a.localeCompare(b)));
  const [contacts, conversations, identities] = await Promise.all([
    db.contacts.bulkGet(addresses),
    db.conversations.where("theirAddress").anyOf(addresses).toArray(),
    db.identities.where("theirAddress").anyOf(addresses).toArray(),
  ]);
  const bookBy = new Map(members.map((m) => [m.address, m]));
  const cards: CardAddress[] = [];
  addresses.forEach((a, i) => {
    const routes = conversations
      .filter((c) => c.theirAddress === a)
      .map(routeOf)
      .sort((x, y) => x.ourAddress.localeCompare(y.ourAddress));
    const entry = entryOf(a, contacts[i], bookBy.get(a), routes);
    if (!entry) return;
    cards.push({ ...entry, identities: new Map(identities.filter((r) => r.theirAddress === a).map((r) => [r.ourAddress, r])) });
  });
  const name = cards.find((c) => c.nickname)?.nickname ?? cards[0]?.displayName ?? cards.find((c) => c.displayName)?.displayName ?? address;
  // suggestions need every name: only for the card's own names, so read by those names' addresses
  const suggestions: Address[] = [];
  const names = new Set(cards.map((c) => c.displayName).filter((n): n is string => !!n));
  if (names.size > 0) {
    const { suggestions: all } = await queryContactsSuggestions(db);
    for (const s of all) if (s.addresses.some((a) => addresses.includes(a))) for (const a of s.addresses) if (!addresses.includes(a) && !suggestions.includes(a)) suggestions.push(a);
  }
  return { personId: own?.personId ?? null, name, addresses: cards, suggestions };
}

async function queryContactsSuggestions(db: JunctionDB): Promise<{ suggestions: Suggestion[] }> {
  const [accounts, contacts, book] = await Promise.all([db.accounts.toArray(), db.contacts.toArray(), db.addressBook.toArray()]);
  return { suggestions: suggestMatches(contacts, new Map(book.map((b) => [b.address, b])), new Set(accounts.map((a) => a.address))) };
}

/** The person an address belongs to (null: none), for choosing the merged view. */
export async function queryPersonOf(db: JunctionDB, address: Address): Promise<string | null> {
  return (await db.addressBook.get(address))?.personId ?? null;
}

/** A person's conversations as routes, newest activity first, with the name to show. */
export async function queryPersonRoutes(db: JunctionDB, personId: string): Promise<{ name: string; routes: Route[]; addresses: Address[] } | null> {
  const members = await db.addressBook.where("personId").equals(personId).toArray();
  if (members.length === 0) return null;
  const addresses = members.map((m) => m.address);
  const [conversations, contacts] = await Promise.all([db.conversations.where("theirAddress").anyOf(addresses).toArray(), db.contacts.bulkGet(addresses)]);
  const routes = conversations.map(routeOf).sort((a, b) => b.lastActivity - a.lastActivity);
  const newest = routes[0]?.theirAddress;
  const name =
    members.find((m) => m.nickname)?.nickname ??
    contacts.find((c) => c?.address === newest)?.displayName ??
    contacts.find((c) => c?.displayName)?.displayName ??
    addresses[0]!;
  return { name, routes, addresses };
}
