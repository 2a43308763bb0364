// What the group tests share: four people on three brands, and a look at (or a hand in) what a client
// sends to the relay.
import { account, handles, messagesOf, type Client, type makeBoot } from "../testClients";
import { EVENTS, type Address, type schemas } from "../deps";

/** Ana (Instagram), Ben (WhatsApp), Cy and Dee (Messenger), each on a fresh engine. */
export async function fourPeople(boot: ReturnType<typeof makeBoot>) {
  const h = handles();
  const [ana, ben, cy, dee] = [boot(), boot(), boot(), boot()];
  const anaA = (await account(ana, "instagram", `@ana${h.carol.slice(6)}`, "Ana")) as Address;
  const benA = (await account(ben, "whatsapp", h.bob, "Ben")) as Address;
  const cyA = (await account(cy, "messenger", `cy.${h.alice}`, "Cy")) as Address;
  const deeA = (await account(dee, "messenger", `dee.${h.alice}`, "Dee")) as Address;
  return { ana, ben, cy, dee, anaA, benA, cyA, deeA };
}

export const convOf = (our: Address, gid: string) => `${our}|group:${gid}`;

/** The texts of a conversation's text messages, oldest first. */
export const textsOf = async (c: Client, conv: string) => (await messagesOf(c.db, conv)).filter((m) => m.kind === undefined || m.kind === "text").map((m) => m.text);

/** Calls `see` with every send `c` is about to make, before it leaves (it may change or drop envelopes). */
export function onSends(c: Client, see: (payload: { from: Address; envelopes: schemas.OutgoingEnvelope[] }) => void): void {
  for (const s of c.sockets) {
    const emit = s.emit.bind(s) as (...args: unknown[]) => unknown;
    (s as unknown as { emit: (...args: unknown[]) => unknown }).emit = (event: unknown, payload: unknown, ...rest: unknown[]) => {
      if (event === EVENTS.send) see(payload as { from: Address; envelopes: schemas.OutgoingEnvelope[] });
      return emit(event, payload, ...rest);
    };
  }
}
