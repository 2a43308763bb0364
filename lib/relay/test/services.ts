// The local Postgres and Redis the scale-out tests run against: where they are, whether Postgres
// answers (on CI it must), and cleanup of what a test left in them.
import pg from "pg";
import type { Redis } from "ioredis";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * null when Postgres answers, else why not. Under CI a missing Postgres is an error, not a skip: the CI
 * machine has one, and skipping there would hide the scale-out tests.
 */
export async function postgresUnavailable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
  let reason: string | null = null;
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (err) {
    reason = err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => {});
  }
  if (reason !== null && process.env.CI) throw new Error(`Postgres is required on CI (${TEST_DATABASE_URL}): ${reason}`);
  return reason;
}

/** Drops the schemas (tests make one each, named by themselves, never from input). */
export async function dropSchemas(schemas: string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Every Redis key under `prefix` (SCAN, not KEYS: the Redis may be shared, and KEYS blocks it). */
export async function redisKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== "0");
  return keys;
}

export async function deleteRedisKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redisKeys(redis, prefix);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
}
