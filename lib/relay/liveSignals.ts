// Ephemeral signals (typing): pushed to the live connections of a device and never stored. On this node
// through the hub's connections, on the others (several relay processes) through the Redis adapter's
// server-side emit, the way new-mail signals travel; each node answers how many of its connections took
// the signal, so the sender learns which devices were reached (and stops typing to the others).
import { z } from "zod";
import { EVENTS } from "../protocol";
import type { TypingDeliver } from "../protocol/schemas";
import type { Logger } from "./log";
import type { Hub } from "./socket/hub";
import type { RelayServer } from "./socket/types";
import { TypingDeliver as TypingDeliverSchema } from "../protocol/schemas";

const NODE_EVENT = "relay:typing";

const Signals = z.array(TypingDeliverSchema).max(64);

export class LiveSignals {
  private io: RelayServer | null = null;

  constructor(
    private readonly hub: Hub,
    private readonly log: Logger,
  ) {}

  /** Several nodes: signals cross to the others, whose answers say what they reached. */
  connect(io: RelayServer): void {
    this.io = io;
    const serverSide = io as unknown as { on(event: string, listener: (...args: unknown[]) => void): void };
    serverSide.on(NODE_EVENT, (signals: unknown, answer: unknown) => {
      const parsed = Signals.safeParse(signals);
      const reached = parsed.success ? this.pushHere(parsed.data) : [];
      if (typeof answer === "function") (answer as (reached: string[]) => void)(reached);
    });
  }

  /** Pushes each signal to its device's live connections everywhere; returns the devices reached. */
  async push(signals: TypingDeliver[]): Promise<string[]> {
    const reached = new Set(this.pushHere(signals));
    const io = this.io;
    if (io) {
      // the adapter waits for every other node up to its requestsTimeout; one that does not answer reached nothing
      const others = await new Promise<unknown[]>((resolve) => {
        const serverSide = io as unknown as { serverSideEmit(event: string, ...args: unknown[]): boolean };
        try {
          serverSide.serverSideEmit(NODE_EVENT, signals, (err: unknown, answers: unknown) => {
            if (err) this.log.debug("typing: a node did not answer");
            resolve(Array.isArray(answers) ? answers : []);
          });
        } catch {
          resolve([]);
        }
      });
      for (const answer of others) if (Array.isArray(answer)) for (const d of answer) if (typeof d === "string") reached.add(d);
    }
    return [...reached];
  }

  /**
   * This node's share: every connection of the device that serves the named account. A device that is
   * not the account's is not pushed to (the sender named a device of someone else).
   */
  private pushHere(signals: TypingDeliver[]): string[] {
    const reached: string[] = [];
    for (const s of signals) {
      let any = false;
      for (const conn of this.hub.connectionsOf(s.toDevice)) {
        if (conn.deviceOf(s.to) !== s.toDevice) continue;
        conn.socket.emit(EVENTS.typingDeliver, s);
        any = true;
      }
      if (any) reached.push(s.toDevice);
    }
    return reached;
  }
}
