// `node --max-old-space-size=4000 --import tsx scripts/bench-relay/heapDominators.ts BEFORE AFTER N`: the
// objects of heap snapshot AFTER that are not in BEFORE (node ids are stable within one process), by
// retained size (a dominator tree, Cooper–Harvey–Kennedy), divided by N (the sockets opened between
// the two). CHILDREN=object:Socket,object:WebSocket breaks those classes down by property; EVENTS=1
// shows the sockets' listener lists; PATHS=1 lists every new object by its dominator path from the root of
// its new subtree (indexes and digits folded), self sizes per socket, MIN=bytes to hide small rows (8).
// See heapProbe.ts for taking the snapshots.
import { readFileSync } from "node:fs";
const [fa, fb, nStr] = process.argv.slice(2);
const N = Number(nStr);
const A = JSON.parse(readFileSync(fa!, "utf8"));
const oldIds = new Set<number>();
{ const nf = A.snapshot.meta.node_fields.length; const iid = A.snapshot.meta.node_fields.indexOf("id"); for (let i = 0; i < A.nodes.length; i += nf) oldIds.add(A.nodes[i + iid]); }
const s = JSON.parse(readFileSync(fb!, "utf8"));
const f = s.snapshot.meta.node_fields as string[]; const nf = f.length;
const types = s.snapshot.meta.node_types[0] as string[];
const ef = s.snapshot.meta.edge_fields as string[]; const enf = ef.length;
const etypes = s.snapshot.meta.edge_types[0] as string[];
const it = f.indexOf("type"), iname = f.indexOf("name"), isz = f.indexOf("self_size"), iec = f.indexOf("edge_count"), iid = f.indexOf("id");
const et = ef.indexOf("type"), eto = ef.indexOf("to_node");
const nodes = s.nodes as number[]; const edges = s.edges as number[];
const n = nodes.length / nf;
const firstEdge = new Int32Array(n + 1);
for (let i = 0, e = 0; i < n; i++) { firstEdge[i] = e; e += nodes[i * nf + iec]! * enf; }
firstEdge[n] = edges.length;
const weak = etypes.indexOf("weak"), shortcut = etypes.indexOf("shortcut");
// DFS postorder from 0
const order = new Int32Array(n).fill(-1); const post: number[] = [];
const stack: number[] = [0]; const it2 = new Int32Array(n); order[0] = -2;
for (let i = 0; i < n; i++) it2[i] = firstEdge[i]!;
while (stack.length) {
  const v = stack[stack.length - 1]!;
  let pushed = false;
  while (it2[v]! < firstEdge[v + 1]!) {
    const e = it2[v]!; it2[v] = e + enf;
    const t = edges[e + et]!; if (t === weak || t === shortcut) continue;
    const w = edges[e + eto]! / nf;
    if (order[w] === -1) { order[w] = -2; stack.push(w); pushed = true; break; }
  }
  if (!pushed) { stack.pop(); order[v] = post.length; post.push(v); }
}
// predecessors
const predCount = new Int32Array(n);
for (let v = 0; v < n; v++) { if (order[v]! < 0) continue; for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += enf) { const t = edges[e + et]!; if (t === weak || t === shortcut) continue; const w = edges[e + eto]! / nf; predCount[w]++; } }
const predStart = new Int32Array(n + 1); for (let i = 0; i < n; i++) predStart[i + 1] = predStart[i]! + predCount[i]!;
const preds = new Int32Array(predStart[n]!); const fill = predStart.slice(0, n);
for (let v = 0; v < n; v++) { if (order[v]! < 0) continue; for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += enf) { const t = edges[e + et]!; if (t === weak || t === shortcut) continue; const w = edges[e + eto]! / nf; preds[fill[w]!++] = v; } }
const idom = new Int32Array(n).fill(-1); idom[0] = 0;
let changed = true;
while (changed) {
  changed = false;
  for (let k = post.length - 2; k >= 0; k--) {
    const b = post[k]!;
    let nd = -1;
    for (let p = predStart[b]!; p < predStart[b + 1]!; p++) {
      const q = preds[p]!; if (idom[q] === -1) continue;
      if (nd === -1) { nd = q; continue; }
      let x = q, y = nd;
      while (x !== y) { while (order[x]! < order[y]!) x = idom[x]!; while (order[y]! < order[x]!) y = idom[y]!; }
      nd = x;
    }
    if (nd !== -1 && idom[b] !== nd) { idom[b] = nd; changed = true; }
  }
}
const retained = new Float64Array(n);
for (let i = 0; i < n; i++) retained[i] = nodes[i * nf + isz]!;
for (const v of post) if (v !== 0 && idom[v]! >= 0) retained[idom[v]!] += retained[v]!;
const name = (i: number) => { const t = types[nodes[i * nf + it]!]!; return `${t}:${String(s.strings[nodes[i * nf + iname]!]).slice(0, 50)}`; };
// new nodes whose immediate dominator is old (or root): the roots of new subtrees; group by (dominator name -> own name)
const groups = new Map<string, { c: number; r: number }>();
let total = 0;
for (let i = 0; i < n; i++) {
  if (order[i]! < 0 || oldIds.has(nodes[i * nf + iid]!)) continue;
  const d = idom[i]!;
  if (!(d === 0 || oldIds.has(nodes[d * nf + iid]!))) continue;
  total += retained[i]!;
  const key = `${name(d)} => ${name(i)}`;
  const g = groups.get(key) ?? { c: 0, r: 0 }; g.c++; g.r += retained[i]!; groups.set(key, g);
}
console.log(`new retained: ${(total / N).toFixed(0)} B per socket`);
for (const [k, g] of [...groups].sort((a, b) => b[1].r - a[1].r).slice(0, 40)) console.log(`${(g.r / N).toFixed(0).padStart(6)} B ${(g.c / N).toFixed(2).padStart(6)}×  ${k}`);
// retained by class among new nodes (may nest)
const cls = new Map<string, { c: number; r: number }>();
for (let i = 0; i < n; i++) {
  if (order[i]! < 0 || oldIds.has(nodes[i * nf + iid]!)) continue;
  const t = types[nodes[i * nf + it]!];
  if (t !== "object" && t !== "closure") continue;
  const k = name(i); const g = cls.get(k) ?? { c: 0, r: 0 }; g.c++; g.r += retained[i]!; cls.set(k, g);
}
console.log("\nretained by class (nested, new objects):");
for (const [k, g] of [...cls].sort((a, b) => b[1].r - a[1].r).slice(0, 45)) console.log(`${(g.r / N).toFixed(0).padStart(6)} B ${(g.c / N).toFixed(2).padStart(6)}×  ${k}`);
for (const want of (process.env.CHILDREN ?? "").split(",").filter(Boolean)) {
  const ch = new Map<string, { c: number; r: number }>();
  for (let i = 0; i < n; i++) {
    if (order[i]! < 0 || oldIds.has(nodes[i * nf + iid]!)) continue;
    const d = idom[i]!;
    if (name(d) !== want) continue;
    // edge name from d to i
    let en = "?";
    for (let e = firstEdge[d]!; e < firstEdge[d + 1]!; e += enf) if (edges[e + eto]! / nf === i) { const t = etypes[edges[e + et]!]; const v = edges[e + ef.indexOf("name_or_index")]!; en = t === "element" || t === "hidden" ? `[${v}]` : String(s.strings[v]); break; }
    const k = `.${en} ${name(i)}`; const g = ch.get(k) ?? { c: 0, r: 0 }; g.c++; g.r += retained[i]!; ch.set(k, g);
  }
  console.log(`\nunder ${want}:`);
  for (const [k, g] of [...ch].sort((a, b) => b[1].r - a[1].r).slice(0, 25)) console.log(`${(g.r / N).toFixed(0).padStart(6)} B ${(g.c / N).toFixed(2).padStart(6)}×  ${k}`);
}
if (process.env.EVENTS) {
  const iname2 = ef.indexOf("name_or_index");
  const ch = new Map<string, { c: number; r: number }>();
  for (let d = 0; d < n; d++) {
    const dn = name(d);
    if (!["object:Socket", "object:WebSocket", "object:Receiver"].includes(dn) || oldIds.has(nodes[d * nf + iid]!)) continue;
    for (let e = firstEdge[d]!; e < firstEdge[d + 1]!; e += enf) {
      if (etypes[edges[e + et]!] !== "property" || s.strings[edges[e + iname2]!] !== "_events") continue;
      const ev = edges[e + eto]! / nf;
      if (idom[ev] !== d) continue;
      for (let e2 = firstEdge[ev]!; e2 < firstEdge[ev + 1]!; e2 += enf) {
        const t = etypes[edges[e2 + et]!]; if (t === "weak" || t === "shortcut") continue;
        const w = edges[e2 + eto]! / nf;
        if (idom[w] !== ev) continue;
        const k = `${dn}._events.${t === "property" ? s.strings[edges[e2 + iname2]!] : `[${t}]`} ${name(w)}`;
        const g = ch.get(k) ?? { c: 0, r: 0 }; g.c++; g.r += retained[w]!; ch.set(k, g);
      }
    }
  }
  console.log("\nevents:");
  for (const [k, g] of [...ch].sort((a, b) => b[1].r - a[1].r).slice(0, 40)) console.log(`${(g.r / N).toFixed(0).padStart(6)} B ${(g.c / N).toFixed(2).padStart(6)}×  ${k}`);
}

if (process.env.PATHS) {
  const iname2 = ef.indexOf("name_or_index");
  const isNew = (i: number) => !oldIds.has(nodes[i * nf + iid]!);
  const edgeName = (d: number, i: number) => {
    for (let e = firstEdge[d]!; e < firstEdge[d + 1]!; e += enf) {
      if (edges[e + eto]! / nf !== i) continue;
      const t = etypes[edges[e + et]!];
      return t === "element" ? "[i]" : t === "hidden" ? "[h]" : String(s.strings[edges[e + iname2]!]).replace(/[0-9]+/g, "#").slice(0, 30);
    }
    return "?";
  };
  const short = (i: number) => (["string", "number"].includes(types[nodes[i * nf + it]!]!) ? `${types[nodes[i * nf + it]!]}:` : name(i).slice(0, 48));
  const memo = new Map<number, string>();
  const path = (i: number): string => {
    let p = memo.get(i);
    if (p !== undefined) return p;
    const d = idom[i]!;
    p = d === 0 || !isNew(d) ? `${short(d)} -> ${short(i)}` : `${path(d)} .${edgeName(d, i)} ${short(i)}`;
    memo.set(i, p);
    return p;
  };
  const rows = new Map<string, { c: number; s: number }>();
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (order[i]! < 0 || !isNew(i)) continue;
    const size = nodes[i * nf + isz]!;
    total += size;
    const g = rows.get(path(i)) ?? { c: 0, s: 0 };
    g.c++;
    g.s += size;
    rows.set(path(i), g);
  }
  const min = Number(process.env.MIN ?? 8);
  console.log(`\nnew objects by path (self sizes): ${(total / N).toFixed(0)} B per socket`);
  for (const [k, g] of [...rows].filter(([, g]) => g.s / N >= min).sort((a, b) => (a[0] < b[0] ? -1 : 1))) console.log(`${(g.s / N).toFixed(0).padStart(6)} B ${(g.c / N).toFixed(2).padStart(6)}×  ${k}`);
}
