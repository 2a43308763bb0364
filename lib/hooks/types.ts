// The row types components may see, re-exported so components never import lib/store or lib/worker.
import type { BrandId } from "../brands";

export type {
  AccountRow,
  ContactRow,
  DraftRow,
  ConversationRow,
  Direction,
  IdentityRow,
  MessageKind,
  MessageRow,
  MessageState,
  QuoteRef,
  ReactionEntry,
  Settings,
  AttachmentInfo,
  TransferRow,
  MediaRow,
  GroupRow,
  GroupMemberRow,
  DeviceListRow,
} from "../store/db";
export { DEFAULT_SETTINGS, DELETE_FOR_EVERYONE_WINDOW_MS, DISAPPEARING_TIMERS_MS, EDIT_WINDOW_MS, TYPING_TTL_MS } from "../store/db";
export type { GroupAction, ConnectionStatus, Diagnostics, DiagnosticsLogEntry, EngineErrorCode, SearchConversation, SearchHit, SearchResults } from "../worker/rpc";

/** The inbox filter chips: every conversation not archived, one brand of mine, only unread ones, or the archived ones. */
export type InboxFilter = "all" | "unread" | "archived" | "groups" | BrandId;
export type { HistoryProgress, LinkState, LinkFailure } from "../store/history";
export { mediaByDefault } from "../store/history";
