// Housekeeping after login: placeholders nothing replaced within a day say so, the sent log is pruned,
// changes that waited a week for their message (and group messages a day for their sender key) go, and content stored as "needs a newer version" is read
// again in case this build now understands it (a text in place; a change applied, its row gone). Sync items
// held for a message or conversation that has not come expire after 30 days; those whose message or
// conversation came by another way (a history import) are applied.
import { attachmentInfo, attachmentKeyRow, blobBytes } from "./attachments/content";
import { incomingTransfer, mediaTables } from "../store/media";
import { PENDING_CHANGE_TTL_MS, SYNC_PENDING_TTL_MS, type MessageRow } from "../store/db";
import { messagePreview, refreshLast } from "../store/conversations";
import { inTransaction } from "../store/transactions";
import type { EngineContext } from "./context";
import { parseContent } from "./content/envelope";
import { applyChange } from "./content/registry";
import type { ChangeScope } from "./content/change";
import { SENT_LOG_MAX, SENT_LOG_TTL_MS, WAITING_TTL_MS } from "./recovery";
import { applyAllHeld } from "./sync/apply";

/** Errors of the storage layer that say "not now" rather than "never": the work is retried, not dropped. */
const TRANSIENT_STORAGE = new Set([
  "QuotaExceededError",
  "AbortError",
  "DatabaseClosedError",
  "OpenFailedError",
  "TransactionInactiveError",
  "InvalidStateError",
  "UnknownError",
  "TimeoutError",
  "VersionError",
  "PrematureCommitError",
]);

export function isTransientStorageError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 4; depth++) {
    const name = (e as { name?: unknown }).name;
    if (typeof name === "string" && TRANSIENT_STORAGE.has(name)) return true;
    e = (e as { inner?: unknown; cause?: unknown }).inner ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

export async function runMaintenance(ctx: EngineContext): Promise<{ gaveUp: number; pruned: number; rerendered: number }> {
  const now = ctx.now();
  const pruned =
    (await pruneSentLog(ctx, now)) +
    (await ctx.db.pendingChanges.where("receivedAt").below(now - PENDING_CHANGE_TTL_MS).delete()) +
    (await expireHeldGroup(ctx, now)) +
    (await ctx.db.syncPending.where("receivedAt").below(now - SYNC_PENDING_TTL_MS).delete());
  const released = await applyAllHeld(ctx.db);
  if (released > 0) ctx.counters.bump("sync_released", released);
  return { gaveUp: await expireWaiting(ctx, now), pruned, rerendered: await rereadUnsupported(ctx) };
}

/**
 * Group messages whose sender key (or group) never came within WAITING_TTL_MS go, counted; a known group's
 * placeholders say so (expireWaiting), an unknown group's never showed.
 */
async function expireHeldGroup(ctx: EngineContext, now: number): Promise<number> {
  const gone = await ctx.db.heldGroup.where("receivedAt").below(now - WAITING_TTL_MS).delete();
  if (gone > 0) {
    ctx.counters.bump("group_held_expired", gone);
    ctx.log.warn("held group messages never opened", { count: gone });
  }
  return gone;
}

/** Placeholders older than WAITING_TTL_MS become "couldn't be decrypted". */
export async function expireWaiting(ctx: EngineContext, now: number): Promise<number> {
  const { db } = ctx;
  const old = await db.waiting.where("createdAt").below(now - WAITING_TTL_MS).toArray();
  if (old.length === 0) return 0;
  await inTransaction(db, [db.waiting, db.messages], async (db) => {
    for (const w of old) {
      const m = await db.messages.get(w.messageId);
      if (m?.kind === "waiting") await db.messages.put({ ...m, kind: "undecryptable" });
    }
    await db.waiting.bulkDelete(old.map((w) => w.envelopeId));
  });
  ctx.counters.bump("waiting_gave_up", old.length);
  ctx.log.warn("waiting messages never came", { count: old.length });
  return old.length;
}

async function pruneSentLog(ctx: EngineContext, now: number): Promise<number> {
  const { db } = ctx;
  let pruned = await db.sentLog.where("sentAt").below(now - SENT_LOG_TTL_MS).delete();
  const excess = (await db.sentLog.count()) - SENT_LOG_MAX;
  if (excess > 0) {
    const oldest = await db.sentLog.orderBy("sentAt").limit(excess).primaryKeys();
    await db.sentLog.bulkDelete(oldest);
    pruned += oldest.length;
  }
  return pruned;
}

/**
 * Unsupported content this build now understands: text becomes a text message in place; a change (a
 * reaction, edit, delete or timer of a newer format) is applied as if it had just come, and its row goes.
 */
async function rereadUnsupported(ctx: EngineContext): Promise<number> {
  const { db } = ctx;
  const rows = await db.messages.where("kind").equals("unsupported").toArray();
  let n = 0;
  for (const m of rows) {
    const content = parseContent(m.content ?? "");
    if (content.type === "reaction" || content.type === "edit" || content.type === "delete" || content.type === "timer") {
      if (await applyStoredChange(ctx, m, content)) n += 1;
      continue;
    }
    if (content.type === "attachment") {
      // an attachment an older build kept: it shows now, and is fetched on request
      const { content: _content, ...rest } = m;
      const next: MessageRow = { ...rest, kind: "attachment", text: content.caption ?? "", attachment: attachmentInfo(content) };
      await inTransaction(db, [db.messages, db.conversations, db.transfers, db.attachmentKeys], async (db) => {
        await db.messages.put(next);
        await db.attachmentKeys.put(attachmentKeyRow(content));
        await db.transfers.put({ ...incomingTransfer(m.id, m.conversationId, next.attachment!, blobBytes(content.size)), state: "remote" });
        const conv = await db.conversations.get(m.conversationId);
        if (conv?.lastMessageId === m.id) await db.conversations.put({ ...conv, lastPreview: messagePreview(next) });
      });
      n += 1;
      continue;
    }
    if (content.type !== "text") continue;
    const { kind: _kind, content: _content, ...rest } = m;
    const next: MessageRow = { ...rest, text: content.text };
    await inTransaction(db, [db.messages, db.conversations], async (db) => {
      await db.messages.put(next);
      const conv = await db.conversations.get(m.conversationId);
      if (conv?.lastMessageId === m.id) await db.conversations.put({ ...conv, lastPreview: content.text.slice(0, 140) });
    });
    n += 1;
  }
  if (n > 0) ctx.log.info("stored content understood now", { count: n });
  return n;
}


/** A change kept as unsupported, applied now; the row that stood for it goes. */
async function applyStoredChange(ctx: EngineContext, m: MessageRow, content: Parameters<typeof applyChange>[1]["content"]): Promise<boolean> {
  const { db } = ctx;
  const conv = await db.conversations.get(m.conversationId);
  if (!conv) return false;
  const scope: ChangeScope = {
    db,
    now: ctx.now(),
    refuse(kind, reason) {
      ctx.counters.bump("change_refused");
      ctx.log.warn("change refused", { kind, reason });
      return "refused";
    },
  };
  await inTransaction(db, [db.messages, db.conversations, ...mediaTables(db)], async (db) => {
    await db.messages.delete(m.id);
    await refreshLast(db, conv.id, m.direction === "in" && m.state !== "read" ? 1 : 0);
    await applyChange(scope, { our: conv.ourAddress, their: conv.theirAddress, direction: m.direction, content });
  });
  return true;
}
