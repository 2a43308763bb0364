// The random network of the property tests: sends of 1..maxBurst messages, deliveries in any order,
// duplicates and drops, each picking among what is in flight.
import fc from "fast-check";

export type Side = 0 | 1;
export type Step =
  | { kind: "send"; from: Side; count: number }
  | { kind: "deliver"; pick: number }
  | { kind: "duplicate"; pick: number }
  | { kind: "drop"; pick: number };

export interface InFlight { from: Side; ciphertext: Uint8Array; text: string }

export function networkStep(maxBurst: number): fc.Arbitrary<Step> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("send" as const), from: fc.constantFrom<Side>(0, 1), count: fc.integer({ min: 1, max: maxBurst }) }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("deliver" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), pick: fc.nat() }) },
  );
}
