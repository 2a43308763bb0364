import { describeError, errorCode } from "@/lib/hooks/actions";

/** People's refusals are local and say what to change ("that is one of my accounts"); others read as usual. */
export function describePeopleError(error: unknown): string {
  const code = errorCode(error);
  if ((code === "bad_request" || code === "bad_handle") && error instanceof Error && error.message) {
    return `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`;
  }
  return describeError(error);
}
