// Next evaluates this module before its own client modules (React DOM, the router, hydration): the engine's
// worker is created here, so loading its scripts, opening the database and logging in to the relay start
// that much sooner and run beside the framework's start-up instead of after it (a queued backlog arrives
// sooner). Nothing else runs here: the page's first screen needs this task short.
import { getEngine } from "./lib/worker/client";

if (typeof window !== "undefined" && typeof Worker !== "undefined") getEngine();
