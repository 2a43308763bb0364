// The socket.io event maps, declared once and given to both `Server<>` and `Socket<>`.
// Every client → relay event takes one payload and an ack callback, always last.
import type { Ack } from "./errors";
import type * as S from "./schemas";
import * as Z from "./schemas";

export const EVENTS = {
  register: "register",
  challenge: "auth:challenge",
  login: "auth:login",
  keysUpload: "keys:upload",
  keysStatus: "keys:status",
  lookup: "directory:lookup",
  bundles: "directory:bundles",
  send: "mailbox:send",
  ack: "mailbox:ack",
  fetch: "mailbox:fetch",
  deliver: "mailbox:deliver",
  blobUpload: "blobs:upload",
  typing: "typing:send",
  typingDeliver: "typing:deliver",
  devicesPublish: "devices:publish",
  provisionListen: "provision:listen",
  provisionSend: "provision:send",
  provisionDeliver: "provision:deliver",
  devicesRemoved: "devices:removed",
  blobDelete: "blobs:delete",
} as const;

type Handler<Req, Res> = (payload: Req, ack: (res: Ack<Res>) => void) => void;

export interface ClientToServerEvents {
  [EVENTS.register]: Handler<S.RegisterRequest, S.RegisterResponse>;
  [EVENTS.challenge]: Handler<S.ChallengeRequest, S.ChallengeResponse>;
  [EVENTS.login]: Handler<S.LoginRequest, S.LoginResponse>;
  [EVENTS.keysUpload]: Handler<S.KeysUploadRequest, S.KeysStatusResponse>;
  [EVENTS.keysStatus]: Handler<S.KeysStatusRequest, S.KeysStatusResponse>;
  [EVENTS.lookup]: Handler<S.LookupRequest, S.LookupResponse>;
  [EVENTS.bundles]: Handler<S.BundlesRequest, S.BundlesResponse>;
  [EVENTS.send]: Handler<S.SendRequest, S.SendResponse>;
  [EVENTS.ack]: Handler<S.AckRequest, S.AckResponse>;
  [EVENTS.fetch]: Handler<S.FetchRequest, S.FetchResponse>;
  [EVENTS.blobUpload]: Handler<S.BlobUploadRequest, S.BlobUploadResponse>;
  [EVENTS.typing]: Handler<S.TypingRequest, S.TypingResponse>;
  [EVENTS.devicesPublish]: Handler<S.DevicesPublishRequest, S.DevicesPublishResponse>;
  [EVENTS.provisionListen]: Handler<S.ProvisionListenRequest, S.ProvisionListenResponse>;
  [EVENTS.provisionSend]: Handler<S.ProvisionSendRequest, S.ProvisionSendResponse>;
  [EVENTS.blobDelete]: Handler<S.BlobDeleteRequest, S.BlobDeleteResponse>;
}

export interface ServerToClientEvents {
  /** Envelopes for this device; the device answers with `mailbox:ack` once it has stored them. */
  [EVENTS.deliver]: (payload: S.Deliver) => void;
  /** An encrypted typing signal, pushed only to live connections and never stored. */
  [EVENTS.typingDeliver]: (payload: S.TypingDeliver) => void;
  /** A message on a provisioning channel this connection listens on (linking a device); never stored. */
  [EVENTS.provisionDeliver]: (payload: S.ProvisionDeliver) => void;
  /** This device was removed from `address`: the account's new list, which does not name it (the device checks it). */
  [EVENTS.devicesRemoved]: (payload: S.DevicesRemoved) => void;
}

export type ClientEvent = keyof ClientToServerEvents;

/** Request and response schemas per client event, for the relay (requests) and clients (responses). */
export const SCHEMAS = {
  [EVENTS.register]: { request: Z.RegisterRequest, response: Z.RegisterResponse },
  [EVENTS.challenge]: { request: Z.ChallengeRequest, response: Z.ChallengeResponse },
  [EVENTS.login]: { request: Z.LoginRequest, response: Z.LoginResponse },
  [EVENTS.keysUpload]: { request: Z.KeysUploadRequest, response: Z.KeysStatusResponse },
  [EVENTS.keysStatus]: { request: Z.KeysStatusRequest, response: Z.KeysStatusResponse },
  [EVENTS.lookup]: { request: Z.LookupRequest, response: Z.LookupResponse },
  [EVENTS.bundles]: { request: Z.BundlesRequest, response: Z.BundlesResponse },
  [EVENTS.send]: { request: Z.SendRequest, response: Z.SendResponse },
  [EVENTS.ack]: { request: Z.AckRequest, response: Z.AckResponse },
  [EVENTS.fetch]: { request: Z.FetchRequest, response: Z.FetchResponse },
  [EVENTS.blobUpload]: { request: Z.BlobUploadRequest, response: Z.BlobUploadResponse },
  [EVENTS.typing]: { request: Z.TypingRequest, response: Z.TypingResponse },
  [EVENTS.devicesPublish]: { request: Z.DevicesPublishRequest, response: Z.DevicesPublishResponse },
  [EVENTS.provisionListen]: { request: Z.ProvisionListenRequest, response: Z.ProvisionListenResponse },
  [EVENTS.provisionSend]: { request: Z.ProvisionSendRequest, response: Z.ProvisionSendResponse },
  [EVENTS.blobDelete]: { request: Z.BlobDeleteRequest, response: Z.BlobDeleteResponse },
} as const satisfies Record<ClientEvent, unknown>;

/** Events served before login. */
export const PRE_LOGIN_EVENTS: readonly ClientEvent[] = [EVENTS.register, EVENTS.challenge, EVENTS.login, EVENTS.provisionListen, EVENTS.provisionSend];
