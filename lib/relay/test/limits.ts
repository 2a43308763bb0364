// Limits for test relays: the test suites sign up hundreds of accounts from one address (loopback)
// within minutes, which the production registration limit rightly refuses. Everything else keeps its
// real value, so the suites run against the limits people get; the hostile-traffic suite uses the
// defaults throughout.
import type { RelayLimitName } from "../../protocol";

export const TEST_RELAY_LIMITS: Partial<Record<RelayLimitName, { burst: number; perSecond: number }>> = {
  registerPerIp: { burst: 100_000, perSecond: 1000 },
  loginPerIp: { burst: 100_000, perSecond: 1000 },
};

/** As the RELAY_LIMITS environment variable wants it. */
export const TEST_RELAY_LIMITS_ENV = JSON.stringify(TEST_RELAY_LIMITS);
