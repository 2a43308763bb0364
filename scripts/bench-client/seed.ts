// Fills the page's IndexedDB ("junction", tables of lib/store/db.ts) with a large account's history,
// through the raw IndexedDB API in large transactions: the stored shape is exactly what the app
// itself writes, without paying for the app's per-message work just to set the stage.

export interface SeedPlan {
  ourAddress: string;
  ourBrand: string;
  conversations: number;
  messages: number;
  /** Messages of the one large conversation (it is the newest, so it is the inbox's first row). */
  bigMessages: number;
  bigPeerName: string;
  now: number;
}

export interface SeedResult {
  conversations: number;
  messages: number;
  bigConversationId: string;
  /** Text of the large conversation's newest message, unique in the database. */
  bigNewestText: string;
  ms: number;
  /** Storage the seeded rows took (navigator.storage.estimate before and after). */
  bytes: number;
}

/** Serialised into the page by page.evaluate; keep it free of imports and outer references. */
export async function seedInPage(plan: SeedPlan): Promise<SeedResult> {
  const started = performance.now();
  const usageBefore = (await navigator.storage.estimate()).usage ?? 0;
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open("junction");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const done = (tx: IDBTransaction) =>
    new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("seed transaction aborted"));
    });

  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const randomId = () => {
    const bytes = crypto.getRandomValues(new Uint8Array(22));
    let id = "";
    for (const b of bytes) id += alphabet[b & 63];
    return id;
  };
  const words = ["ok", "see you", "tomorrow", "at the station", "did you get the photos", "haha", "sounds good",
    "running late", "can you call me", "the meeting moved to 3", "thanks!", "where are you", "on my way",
    "let me check and get back to you", "happy birthday", "lunch?", "I'll bring the keys", "love it"];
  let wordIndex = 0;
  const sentence = () => {
    const n = 1 + (wordIndex % 4);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(words[(wordIndex++ * 7) % words.length] ?? "ok");
    return parts.join(", ");
  };

  const brands = ["whatsapp", "instagram", "messenger"];
  const peer = (i: number) => {
    const brand = brands[i % 3] ?? "whatsapp";
    const handle = brand === "whatsapp" ? `+1555${String(1_000_000 + i).slice(-7)}` : brand === "instagram" ? `@friend_${i}` : `friend.${i}`;
    return { brand, address: `${brand}:${handle}` };
  };

  // message counts: the big conversation, then the rest spread evenly
  const others = plan.conversations - 1;
  const rest = plan.messages - plan.bigMessages;
  const countOf = (c: number) => (c === 0 ? plan.bigMessages : Math.floor(rest / others) + (c - 1 < rest % others ? 1 : 0));

  const conversations: Record<string, unknown>[] = [];
  const contacts: Record<string, unknown>[] = [];
  const MINUTE = 60_000;
  let bigConversationId = "";
  let bigNewestText = "";
  let pending: Record<string, unknown>[] = [];
  let written = 0;

  const flush = async () => {
    if (pending.length === 0) return;
    const tx = db.transaction("messages", "readwrite");
    const store = tx.objectStore("messages");
    for (const row of pending) store.put(row);
    pending = [];
    await done(tx);
  };

  for (let c = 0; c < plan.conversations; c++) {
    const { brand, address } = peer(c);
    const id = `${plan.ourAddress}|${address}`;
    const lastActivity = plan.now - c * 7 * MINUTE;
    const count = countOf(c);
    let last: { id: string; text: string; direction: string; state: string } | null = null;
    for (let i = 0; i < count; i++) {
      const direction = (i + c) % 3 === 0 ? "out" : "in";
      // spaced back from lastActivity so the newest message is the conversation's last activity
      const sentAt = lastActivity - (count - 1 - i) * 3 * MINUTE;
      const text = c === 0 && i === count - 1 ? `newest of ${count} in the big conversation` : sentence();
      const row = {
        id: randomId(),
        conversationId: id,
        direction,
        text,
        sentAt,
        receivedAt: sentAt + 500,
        state: "read",
        sentToRelayAt: direction === "out" ? sentAt + 200 : null,
        deliveredAt: direction === "out" ? sentAt + 900 : null,
      };
      pending.push(row);
      last = row;
      if (pending.length >= 20_000) {
        written += pending.length;
        await flush();
      }
    }
    const unread = c % 9 === 4 ? 1 + (c % 5) : 0;
    const name = c === 0 ? plan.bigPeerName : `Friend ${c}`;
    if (c === 0) {
      bigConversationId = id;
      bigNewestText = last?.text ?? "";
    }
    conversations.push({
      id,
      ourAddress: plan.ourAddress,
      theirAddress: address,
      ourBrand: plan.ourBrand,
      theirBrand: brand,
      lastActivity,
      lastMessageId: last?.id ?? null,
      lastPreview: last?.text ?? "",
      lastDirection: last?.direction ?? null,
      lastState: last?.direction === "out" ? "read" : null,
      unread,
      hasUnread: unread > 0 ? 1 : 0,
      createdAt: lastActivity - count * 3 * MINUTE,
    });
    contacts.push({ address, displayName: name, updatedAt: plan.now });
  }
  written += pending.length;
  await flush();

  const tx = db.transaction(["conversations", "contacts"], "readwrite");
  for (const row of conversations) tx.objectStore("conversations").put(row);
  for (const row of contacts) tx.objectStore("contacts").put(row);
  await done(tx);
  db.close();
  const ms = performance.now() - started;
  const bytes = Math.max(0, ((await navigator.storage.estimate()).usage ?? 0) - usageBefore);
  return { conversations: conversations.length, messages: written, bigConversationId, bigNewestText, ms, bytes };
}
