// The row types components may see, re-exported so components never import lib/store or lib/worker.
import type { BrandId } from "../brands";

export type {
  AccountRow,
  ContactRow,
  ConversationRow,
  Direction,
  IdentityRow,
  MessageKind,
  MessageRow,
  MessageState,
} from "../store/db";
export type { ConnectionStatus, Diagnostics, DiagnosticsLogEntry, EngineErrorCode } from "../worker/rpc";

/** The inbox filter chips: every conversation, one brand of mine, or only unread ones. */
export type InboxFilter = "all" | "unread" | BrandId;
