// `node --import tsx scripts/bench-relay/profileSummary.ts FILE.cpuprofile [N] [FROM_S]`: the N functions
// with the most self time in a V8 CPU profile, with their share, and the same summed by file. FROM_S
// leaves out the first seconds of the profile (a relay's start-up and the bench's sign-ups).
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, n = "30", fromS = "0"] = process.argv.slice(2);
if (!file) throw new Error("usage: profileSummary.ts FILE.cpuprofile [N]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
let elapsed = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  elapsed += dt;
  if (elapsed < Number(fromS) * 1e6) return;
  const frame = byId.get(id)?.callFrame;
  if (!frame) return;
  total += dt;
  const short = frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(lib|scripts)\//, "$1/");
  const key = `${frame.functionName || "(anonymous)"} ${short}:${frame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + dt);
  const f = short.replace(/:\d+$/, "") || frame.functionName;
  byFile.set(f, (byFile.get(f) ?? 0) + dt);
});
const show = (m: Map<string, number>) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(n)).map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`).join("\n");
process.stdout.write(`${(total / 1e6).toFixed(1)} s sampled\n\nself time by function:\n${show(self)}\n\nby file:\n${show(byFile)}\n`);
