// Every client event and the function that serves it; the type makes a missing one a compile error.
import { EVENTS } from "../../protocol";
import { challenge, keysStatus, keysUpload, login, register } from "./accountHandlers";
import { blobDelete, blobUpload } from "./blobHandlers";
import { devicesPublish } from "./deviceHandlers";
import { bundles, lookup } from "./directoryHandlers";
import { ack, fetch, send } from "./mailboxHandlers";
import { provisionListen, provisionSend } from "./provisionHandlers";
import { typing } from "./typingHandlers";
import type { Handlers } from "./types";

export const HANDLERS: Handlers = {
  [EVENTS.register]: register,
  [EVENTS.challenge]: challenge,
  [EVENTS.login]: login,
  [EVENTS.keysUpload]: keysUpload,
  [EVENTS.keysStatus]: keysStatus,
  [EVENTS.lookup]: lookup,
  [EVENTS.bundles]: bundles,
  [EVENTS.send]: send,
  [EVENTS.ack]: ack,
  [EVENTS.fetch]: fetch,
  [EVENTS.blobUpload]: blobUpload,
  [EVENTS.typing]: typing,
  [EVENTS.devicesPublish]: devicesPublish,
  [EVENTS.provisionListen]: provisionListen,
  [EVENTS.provisionSend]: provisionSend,
  [EVENTS.blobDelete]: blobDelete,
};
