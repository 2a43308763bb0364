// Relay nodes for cross-node tests (tests only): `count` relay processes on one Postgres
// schema and one Redis prefix of their own, started together (the migrations must run once, under their
// lock) before the file's tests and stopped, with the schema dropped, after them. On a machine without
// Postgres the tests are skipped (the file says why); under CI Postgres is required.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe } from "vitest";
import { type RelayProcess, startRelay } from "./relayProcess";
import { dropSchemas, postgresUnavailable, TEST_DATABASE_URL, TEST_REDIS_URL } from "./services";

export interface TestNodes {
  /** `describe`, or `describe.skip` without Postgres. */
  maybe: typeof describe | typeof describe.skip;
  /** The environment every node of the set runs with (a replacement node takes it too). */
  env: Record<string, string>;
  /** The running nodes; a test may replace one (a node restarted on its port). */
  nodes: RelayProcess[];
  /** Why the tests are skipped (no Postgres), or null. */
  unavailable: string | null;
}

export async function relayNodes(name: string, count = 2): Promise<TestNodes> {
  const schema = `junction_${name}_${randomBytes(5).toString("hex")}`;
  const unavailable = await postgresUnavailable();
  const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: `${schema}:` };
  const set: TestNodes = { maybe: unavailable === null ? describe : describe.skip, env, nodes: [], unavailable };
  beforeAll(async () => {
    if (unavailable !== null) return;
    set.nodes = await Promise.all(Array.from({ length: count }, () => startRelay({ env })));
  });
  afterAll(async () => {
    for (const n of set.nodes) await n.stop().catch(() => undefined);
    if (unavailable === null) await dropSchemas([schema]);
  });
  return set;
}
