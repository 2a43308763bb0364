// Test 6: runs after every other spec and reads everything the relay wrote: its SQLite database
// (with WAL and shared memory), its log and any blob. None of the texts people typed may be there,
// in plain UTF-8, UTF-16 or base64.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { RELAY_DATA_DIR } from "./env";
import { allPlaintexts } from "./plaintexts";

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))));
  return nested.flat();
}

function encodings(text: string): Buffer[] {
  const utf8 = Buffer.from(text, "utf8");
  return [utf8, Buffer.from(text, "utf16le"), Buffer.from(utf8.toString("base64")), Buffer.from(utf8.toString("base64url"))];
}

test("6. the relay's data directory and logs contain none of the plaintexts", async () => {
  const files = await filesUnder(RELAY_DATA_DIR);
  const names = files.map((f) => f.slice(RELAY_DATA_DIR.length + 1));
  // the specs really ran against this relay: it has a database and a log with traffic in them
  expect(names).toContain("relay.sqlite");
  expect(names).toContain("relay.log");
  const contents = await Promise.all(files.map(async (f) => ({ file: f, bytes: await readFile(f) })));
  const total = contents.reduce((n, c) => n + c.bytes.length, 0);
  expect(total).toBeGreaterThan(10_000);

  // positive control: routing metadata (an address) is stored, so the search does read the right bytes
  expect(contents.some(({ bytes }) => bytes.includes(Buffer.from("alice.smith")))).toBe(true);

  const leaks: string[] = [];
  for (const text of allPlaintexts()) {
    for (const needle of encodings(text)) {
      for (const { file, bytes } of contents) if (bytes.includes(needle)) leaks.push(`${JSON.stringify(text)} in ${file}`);
    }
  }
  expect(leaks).toEqual([]);
});
