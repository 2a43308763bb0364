// Maps whatever went wrong inside the engine to the small set of codes the UI understands.
import { EngineError } from "../worker/rpc";
import { ProtocolError } from "../protocol";
import { StoreError } from "../store/conversations";
import { OfflineError } from "./relay";

export function toEngineError(error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  if (error instanceof OfflineError) return new EngineError("offline", "offline: the relay is not reachable", { cause: error });
  if (error instanceof ProtocolError) {
    switch (error.code) {
      case "not_found":
      case "handle_taken":
      case "rate_limited":
      case "unauthorized":
      case "bad_request":
        return new EngineError(error.code, error.message, { cause: error });
      case "conflict":
        return new EngineError("bad_request", error.message, { cause: error });
      default:
        return new EngineError("internal", "the relay failed", { cause: error });
    }
  }
  if (error instanceof StoreError) return new EngineError("bad_request", error.message, { cause: error });
  return new EngineError("internal", "internal error", { cause: error });
}
