// Disappearing messages: rows whose `expiresAt` has passed are removed from IndexedDB with everything that
// keeps their text (the conversation's preview, quotes of them, drafts replying to them, outbox rows and
// the sent log's changes of them). Run by the engine at start (what expired while the app was closed goes
// first) and then on a timer to the next expiry.
import type { ConversationRow, MessageRow } from "../store/db";
import type { EngineContext } from "./context";
import { deleteForMe } from "./actions";
import { inTransaction } from "../store/transactions";
import { forgetMedia, mediaTables } from "../store/media";

/** Rows removed per transaction: a long-closed app's backlog goes in several short ones. */
const SWEEP_PAGE = 500;

/** Removes every message that expired by `now`; returns how many went and when the next one expires. */
export async function sweepExpired(ctx: EngineContext, now = ctx.now()): Promise<{ removed: number; next: number | null }> {
  const { db } = ctx;
  let removed = 0;
  for (;;) {
    const expired = await db.messages.where("expiresAt").belowOrEqual(now).limit(SWEEP_PAGE).toArray();
    if (expired.length === 0) break;
    const byConversation = new Map<string, MessageRow[]>();
    for (const m of expired) byConversation.set(m.conversationId, [...(byConversation.get(m.conversationId) ?? []), m]);
    await inTransaction(db, [db.messages, db.conversations, db.outbox, db.drafts, db.sentLog, ...mediaTables(db)], async (db) => {
      for (const [convId, rows] of byConversation) {
        const conv: ConversationRow | undefined = await db.conversations.get(convId);
        if (conv) await deleteForMe(db, conv, rows);
        else {
          await db.messages.bulkDelete(rows.map((m) => m.id));
          await forgetMedia(db, rows.map((m) => m.id));
        }
      }
    });
    removed += expired.length;
    if (expired.length < SWEEP_PAGE) break;
  }
  if (removed > 0) {
    ctx.counters.bump("expired_removed", removed);
    ctx.log.info("disappearing messages removed", { count: removed });
  }
  const next = await db.messages.orderBy("expiresAt").first();
  return { removed, next: next?.expiresAt ?? null };
}
