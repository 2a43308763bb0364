// Re-exports the few shared pieces the engine files use, so each file's imports stay short.
export { toB64, fromB64, EVENTS, ProtocolError, loginMessage, schemas } from "../protocol";
export type { Address, BrandId } from "../brands";
// for the files in the engine's subfolders, where "../relay" would read as the Node-only relay
export { OfflineError, request } from "./relay";
