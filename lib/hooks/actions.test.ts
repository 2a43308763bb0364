// The words a person reads when the engine refuses: a refusal says why in the refuser's own words, every
// other failure in one fixed sentence per code, and nothing internal ever leaks through a code it lacks.
import { describe, expect, it } from "vitest";
import { EngineError } from "../worker/rpc";
import { describeError, describeGroupError } from "./actions";

describe("describeError", () => {
  it("gives a refusal in the refuser's own words, as a sentence", () => {
    expect(describeError(new EngineError("bad_request", "at most 10 files at once"))).toBe("At most 10 files at once.");
    expect(describeError(new EngineError("bad_request", "Give the group a name."))).toBe("Give the group a name.");
    // not blamed on the relay: a local check refused it
    expect(describeError(new EngineError("bad_request", ""))).toBe("That was refused.");
  });

  it("gives other codes their fixed sentence, whatever the error's own message says", () => {
    expect(describeError(new EngineError("offline", "socket closed at 10.0.0.1"))).toBe("You are offline. Try again once the connection is back.");
    expect(describeError(new EngineError("internal", "TypeError: x is undefined"))).toBe("Something went wrong. Try again.");
    expect(describeError(new Error("anything at all"))).toBe("Something went wrong. Try again.");
  });

  it("names a missing group member in the engine's words, other codes as usual", () => {
    expect(describeGroupError(new EngineError("not_found", "No such group."))).toBe("No such group.");
    expect(describeGroupError(new EngineError("offline", "x"))).toBe("You are offline. Try again once the connection is back.");
  });
});
