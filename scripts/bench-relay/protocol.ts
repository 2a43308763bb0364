// The messages between the bench (scripts/bench-relay.ts) and its client processes (client.ts), over
// the child-process IPC channel, checked with zod on arrival (they cross a process boundary).
import { z } from "zod";

export const Pair = z.strictObject({ sender: z.string(), receiver: z.string() });

/** A device already in the relay's database: the client logs in as it. */
export const SeededDevice = z.strictObject({ deviceId: z.string(), authSecret: z.string(), authKey: z.string(), identityKey: z.string() });
export type SeededDevice = z.infer<typeof SeededDevice>;

export const Command = z.discriminatedUnion("cmd", [
  /** Sign up (relay) or connect (echo) each pair: sender on `senderUrl`, receiver on `receiverUrl`. */
  z.strictObject({
    cmd: z.literal("pairs"),
    mode: z.enum(["relay", "echo"]),
    senderUrl: z.string(),
    receiverUrl: z.string(),
    pairs: z.array(Pair),
    /** The first of this process's loopback source addresses (127.x.y.z), one per socket. */
    firstAddress: z.number().int().nonnegative(),
  }),
  /** Open-loop load: `rate` envelopes/s in sends of `batch`, for `seconds`, then a drain. */
  z.strictObject({ cmd: z.literal("step"), rate: z.number().positive(), batch: z.number().int().min(1), seconds: z.number().positive() }),
  /** Log in as each device and hold the sockets idle. */
  z.strictObject({ cmd: z.literal("idle"), url: z.string(), devices: z.array(SeededDevice), firstAddress: z.number().int().nonnegative() }),
  /** Open `count` sockets (no login: the echo server's) and hold them idle. */
  z.strictObject({ cmd: z.literal("sockets"), url: z.string(), count: z.number().int().nonnegative(), firstAddress: z.number().int().nonnegative() }),
  z.strictObject({ cmd: z.literal("close") }),
]);
export type Command = z.infer<typeof Command>;

export const StepResult = z.strictObject({
  sent: z.number(),
  /** Envelopes whose ack (delete) the relay confirmed within the step window. */
  acked: z.number(),
  /** Envelopes sent in the window that were delivered at all (until the end of the drain). */
  delivered: z.number(),
  refused: z.number(),
  /** Refusals by error code. */
  errors: z.record(z.string(), z.number()),
  /** Send → delivery, ms, of the envelopes sent in the window. */
  latencies: z.array(z.number()),
});
export type StepResult = z.infer<typeof StepResult>;

export const Reply = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("ready") }),
  z.strictObject({ type: z.literal("step"), result: StepResult }),
  z.strictObject({ type: z.literal("error"), message: z.string() }),
]);
export type Reply = z.infer<typeof Reply>;

/** The n-th loopback source address: 127.1.0.1 onwards, so no 64 sockets share one (the relay caps per address). */
export function loopbackAddress(n: number): string {
  return `127.${1 + Math.floor(n / 62_500)}.${Math.floor(n / 250) % 250}.${1 + (n % 250)}`;
}
