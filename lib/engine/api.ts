// The RPC handlers of a worker. The leader serves everything with its engine; a follower serves the
// local methods itself and forwards the ones that need the relay to the leader.
import type { JunctionDB } from "../store/db";
import { ensureConversation } from "../store/conversations";
import { observeIdentity } from "../store/identities";
import { EngineError, type ConnectionStatus, type DiagnosticsLogEntry, type RpcHandlers } from "../worker/rpc";
import type { Engine } from "./engine";
import { searchLocal } from "./search";
import { changeGroup, createGroup } from "./groups/service";
import { searchIndexCost } from "../store/search";
import { toEngineError } from "./errors";
import { sendAttachmentsLocal } from "./attachments/send";
import { deleteMedia } from "../store/media";
import { removeAllMediaFiles } from "../store/mediaFiles";
import { acceptIdentityLocal, canonicalAddress, markVerifiedLocal, retryMessageLocal, safetyNumberLocal, sendMessageLocal } from "./local";
import {
  deleteMessageLocal,
  editMessageLocal,
  markReadLocal,
  markListenedLocal,
  reactLocal,
  saveDraftLocal,
  setDisappearingLocal,
  setDisplayNameLocal,
  updateConversationLocal,
  updateSettingsLocal,
} from "./actions";
import { addContactLocal, linkAddressesLocal, setNicknameLocal, unlinkAddressLocal } from "./people";
import { renameDeviceLocal } from "./deviceNames";

/**
 * Methods that need the relay connection, and so the leader. Diagnostics is one too: the counters and
 * the interesting log lines live in the engine's worker, not in a follower's.
 */
export const LEADER_METHODS = ["createAccount", "startLink", "linkDevice", "confirmLink", "removeDevice", "lookup", "startChat", "diagnostics", "setTyping", "logOut", "downloadAttachment", "cancelTransfer", "createGroup", "changeGroup", "skipHistory", "askHistory"] as const;
export type LeaderMethod = (typeof LEADER_METHODS)[number];

export function isLeaderMethod(method: string): method is LeaderMethod {
  return (LEADER_METHODS as readonly string[]).includes(method);
}

export interface HandlerDeps {
  db: JunctionDB;
  now(): number;
  status(): ConnectionStatus;
  /** Asks the engine to drain the outbox (locally, or by poking the leader). */
  poke(): void;
  /** This worker's recent log lines, oldest first (none when it keeps no log). */
  recentLog?: () => DiagnosticsLogEntry[];
}

function wrap<T>(work: () => Promise<T>): Promise<T> {
  return work().catch((error: unknown) => {
    throw toEngineError(error);
  });
}

/** Handlers every worker can run without the engine. */
export function localHandlers(deps: HandlerDeps): Omit<RpcHandlers, LeaderMethod> {
  const { db } = deps;
  return {
    sendMessage: (p) =>
      wrap(async () => {
        const res = await sendMessageLocal(db, p, deps.now());
        deps.poke();
        return res;
      }),
    markRead: (p) =>
      wrap(async () => {
        const { queued } = await markReadLocal(db, p, deps.now());
        if (queued) deps.poke();
        return null;
      }),
    markListened: (p) =>
      wrap(async () => {
        const { receipts } = await markListenedLocal(db, p, deps.now());
        if (receipts) deps.poke();
        return null;
      }),
    react: (p) => queued(() => reactLocal(db, p, deps.now())),
    editMessage: (p) => queued(() => editMessageLocal(db, p, deps.now())),
    deleteMessage: (p) => queued(() => deleteMessageLocal(db, p, deps.now())),
    setDisappearing: (p) => queued(() => setDisappearingLocal(db, p, deps.now())),
    updateConversation: (p) => queued(() => updateConversationLocal(db, p, deps.now())),
    saveDraft: (p) => wrap(() => saveDraftLocal(db, p, deps.now())),
    updateSettings: (p) => queued(() => updateSettingsLocal(db, p, deps.now())),
    setDisplayName: (p) => wrap(() => setDisplayNameLocal(db, p)),
    safetyNumber: (p) => wrap(() => safetyNumberLocal(db, p)),
    markVerified: (p) =>
      wrap(async () => {
        await markVerifiedLocal(db, p);
        // verifying a changed key releases what was held for them, as accepting does
        if (p.verified) deps.poke();
        return null;
      }),
    retryMessage: (p) =>
      wrap(async () => {
        await retryMessageLocal(db, p, deps.now());
        deps.poke();
        return null;
      }),
    acceptIdentity: (p) =>
      wrap(async () => {
        await acceptIdentityLocal(db, p);
        // the engine held this conversation's outbox: let it go now
        deps.poke();
        return null;
      }),
    addContact: (p) => poked(() => addContactLocal(db, p, deps.now())),
    setNickname: (p) => poked(() => setNicknameLocal(db, p, deps.now())),
    linkAddresses: (p) => poked(() => linkAddressesLocal(db, p, deps.now())),
    unlinkAddress: (p) => poked(() => unlinkAddressLocal(db, p, deps.now())),
    sendAttachments: (p) =>
      wrap(async () => {
        const res = await sendAttachmentsLocal(db, p, deps.now());
        deps.poke();
        return res;
      }),
    deleteMedia: (p) => wrap(async () => ({ deleted: await deleteMedia(db, p.conversationId) })),
    status: async () => deps.status(),
    search: (p) => wrap(() => searchLocal(db, p.query, p.limit, deps.now())),
    renameDevice: (p) => queued(() => renameDeviceLocal(db, p, deps.now())),
  };

  /** A change that queued something for the peer: the outbox drains it. */
  function queued(work: () => Promise<null>): Promise<null> {
    return poked(work);
  }

  /** A change that may have queued something (for a peer, or a sync for my other devices): the outbox drains it. */
  function poked<T>(work: () => Promise<T>): Promise<T> {
    return wrap(async () => {
      const result = await work();
      deps.poke();
      return result;
    });
  }
}


/** The leader's handlers: the local ones plus those that talk to the relay. */
export function leaderHandlers(engine: Engine, deps: HandlerDeps): RpcHandlers {
  const { db } = deps;
  return {
    ...localHandlers(deps),
    createAccount: (p) => wrap(() => engine.createAccount(p)),
    createGroup: (p) =>
      wrap(async () => {
        const res = await createGroup(engine.context, (a) => engine.lookup(a), p);
        deps.poke();
        return res;
      }),
    changeGroup: (p) =>
      wrap(async () => {
        await changeGroup(engine.context, (a) => engine.lookup(a), p);
        deps.poke();
        return null;
      }),
    startLink: (p) => wrap(() => engine.startLink(p)),
    linkDevice: (p) => wrap(() => engine.linkDevice(p)),
    confirmLink: (p) => wrap(() => engine.confirmLink(p)),
    removeDevice: (p) => wrap(() => engine.removeDevice(p)),
    downloadAttachment: (p) =>
      wrap(async () => {
        await engine.transfers.request(p.conversationId, p.messageId);
        return null;
      }),
    cancelTransfer: (p) =>
      wrap(async () => {
        await engine.transfers.cancelOne(p.conversationId, p.messageId);
        return null;
      }),
    diagnostics: async () => ({
      // what indexing for search added to the commits of this worker (lib/store/search.ts)
      counters: { ...engine.counters.snapshot(), ...(searchIndexCost.rows > 0 ? { search_index_ms: Math.round(searchIndexCost.ms), search_indexed: searchIndexCost.rows } : {}) },
      log: deps.recentLog?.() ?? [],
    }),
    setTyping: (p) =>
      wrap(async () => {
        await engine.setTyping(p.conversationId, p.typing);
        return null;
      }),
    logOut: () =>
      wrap(async () => {
        // the socket closes and nothing more is written; then the whole database goes (other tabs'
        // connections close on the versionchange this raises, so the delete is not blocked by them)
        await engine.stop();
        // nothing in this worker may open (and so recreate) it again afterwards
        await db.delete({ disableAutoOpen: true });
        // and the downloads kept in files beside it
        await removeAllMediaFiles(db);
        return null;
      }),
    lookup: (p) =>
      wrap(async () => {
        const address = canonicalAddress(p.address);
        return { address, exists: (await engine.lookup(address)) !== null };
      }),
    startChat: (p) =>
      wrap(async () => {
        const from = canonicalAddress(p.from);
        const to = canonicalAddress(p.to);
        if (!(await db.accounts.get(from))) throw new EngineError("not_found", "not one of my accounts");
        const existing = await db.conversations.get(`${from}|${to}`);
        if (existing) return { conversationId: existing.id };
        const found = await engine.lookup(to);
        if (!found) throw new EngineError("not_found", `${to} does not exist`);
        const now = deps.now();
        const conv = await db.transaction("rw", [db.conversations, db.identities], async () => {
          if (from !== to) await observeIdentity(db, from, to, found.identityKey, now);
          return ensureConversation(db, from, to, now);
        });
        return { conversationId: conv.id };
      }),
    skipHistory: () => wrap(() => engine.skipHistory()),
    askHistory: () => wrap(() => engine.askHistory()),
  };
}
