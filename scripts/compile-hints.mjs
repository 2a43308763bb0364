// After `next build`: marks every client chunk with V8's explicit compile hint (`//# allFunctionsCalledOnLoad`,
// on its first line), so V8 compiles the chunk's functions when it loads the script, not one by one the first
// time each runs, and the code cache Chromium keeps for the service worker's copy holds them all. Without it a
// load compiled functions lazily inside its first tasks: the backlog's longest main-thread block was 53–79 ms
// with it off and 33–40 ms with it on (docs/BENCHMARKS.md). A source map beside a chunk is moved down by the
// added line. Running it twice changes nothing.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const COMPILE_HINT = "//# allFunctionsCalledOnLoad\n";

/** Every `.js` file under `dir`. */
function scripts(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...scripts(path));
    else if (entry.endsWith(".js")) out.push(path);
  }
  return out;
}

/** Adds the hint to the chunks under `dir` that lack it; returns how many were changed. */
export function addCompileHints(dir) {
  if (!existsSync(dir)) throw new Error(`no chunks at ${dir}: build the app first`);
  let changed = 0;
  for (const path of scripts(dir)) {
    const code = readFileSync(path, "utf8");
    if (code.startsWith(COMPILE_HINT)) continue;
    writeFileSync(path, COMPILE_HINT + code);
    const map = `${path}.map`;
    if (existsSync(map)) {
      const parsed = JSON.parse(readFileSync(map, "utf8"));
      // one generated line more at the top: the mappings start with an empty line
      if (typeof parsed.mappings === "string") parsed.mappings = `;${parsed.mappings}`;
      // an index map: each section starts a line further down
      for (const section of Array.isArray(parsed.sections) ? parsed.sections : []) if (section?.offset) section.offset.line += 1;
      writeFileSync(map, JSON.stringify(parsed));
    }
    changed++;
  }
  return changed;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = join(import.meta.dirname, "..", ".next", "static", "chunks");
  console.log(`compile hints: ${addCompileHints(dir)} chunks marked`);
}
