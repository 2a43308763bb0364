// What the primary tells a newly linked device about its history (docs/PROTOCOL.md, "History transfer"):
// where the encrypted archive is, or that none comes. It travels twice: sealed over the link's provisioning
// channel (at once, if the new device listens) and as a `history` sync item over the mailbox to that very
// device (kept by the relay while the new device is offline or reloading). The new device keeps it on disk
// (store/history.ts) until the history is imported or skipped. Runtime: the worker, Node in tests.
import { z } from "zod";

const b64 = z.string().regex(/^[A-Za-z0-9_-]*$/).max(100);
export const HistoryOffer = z.discriminatedUnion("t", [
  z.strictObject({
    t: z.literal("history"),
    blobId: b64,
    key: b64,
    digest: b64,
    commitment: b64,
    size: z.number().int().positive(),
    messages: z.number().int().nonnegative(),
  }),
  // `failed`: the primary could not build or upload it (the new device may ask again), not the person's choice
  z.strictObject({ t: z.literal("nohistory"), failed: z.literal(true).optional() }),
]);
export type HistoryOffer = z.infer<typeof HistoryOffer>;
