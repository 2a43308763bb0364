// CPU time of the processes under this one (Linux /proc), by role and thread, between two snapshots.
// Wall time on a shared 2-core machine moves ±30 % with the load; CPU time moves far less, and its sum
// over every process (browser, renderer, storage, relay) bounds what the machine's cores can do: a
// backlog that takes C seconds of CPU cannot finish in less than C / cores seconds of wall time.
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/** CPU ms per "role/thread" (e.g. "renderer/DedicatedWorker", "browser/IndexedDB", "relay/node"). */
export type CpuSnapshot = Map<string, number>;

const TICK_MS = 10; // USER_HZ is 100 on Linux

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Fields after the command name of a /proc stat line (the name may hold spaces and parentheses). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function role(pid: string, relayPid: number | null, parents: Map<string, string>): string {
  for (let p: string | undefined = pid; p && p !== "1"; p = parents.get(p)) if (relayPid !== null && p === String(relayPid)) return "relay";
  // Chromium rewrites its process title: the arguments may come back joined by spaces, not NULs
  const cmd = read(`/proc/${pid}/cmdline`)?.split(/[\0 ]/) ?? [];
  const type = cmd.find((a) => a.startsWith("--type="))?.slice(7);
  if (!type) return cmd[0]?.includes("chrom") ? "browser" : "other";
  const sub = cmd.find((a) => a.startsWith("--utility-sub-type="))?.slice(19);
  if (type === "utility" && sub) return `utility:${sub.split(".").at(-1)}`;
  return type;
}

/** Per-thread CPU ms of every process under this one, keyed by role and thread name. */
export function cpuSnapshot(relayPid: number | null): CpuSnapshot {
  const parents = new Map<string, string>();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const stat = read(`/proc/${pid}/stat`);
    if (stat) parents.set(pid, statFields(stat)[1]);
  }
  const self = String(process.pid);
  const ours = (pid: string) => {
    for (let p = parents.get(pid); p && p !== "1" && p !== "0"; p = parents.get(p)) if (p === self) return true;
    return false;
  };
  const out: CpuSnapshot = new Map();
  for (const pid of parents.keys()) {
    if (!ours(pid)) continue;
    const r = role(pid, relayPid, parents);
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const stat = read(`/proc/${pid}/task/${tid}/stat`);
      if (!stat) continue;
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/[0-9]+$/, "");
      const f = statFields(stat);
      const ms = (Number(f[11]) + Number(f[12])) * TICK_MS;
      const key = `${r}/${name}`;
      // pid in the key would split one role over processes; threads of the same name add up
      out.set(key, (out.get(key) ?? 0) + ms);
    }
  }
  return out;
}

export interface CpuUse {
  /** CPU ms spent between the snapshots, all processes together. */
  totalMs: number;
  /** The same by role ("renderer", "browser", "utility:StorageService", "relay"…). */
  byRole: Record<string, number>;
  /** The heaviest threads, "role/thread" → ms, at most 8. */
  topThreads: [string, number][];
  /** totalMs / the machine's cores: the least wall time this CPU work could have taken. */
  floorMs: number;
}

export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuUse {
  const threads: [string, number][] = [];
  const byRole: Record<string, number> = {};
  let totalMs = 0;
  for (const [key, ms] of after) {
    // a thread that came and went between the snapshots is lost; one that exited keeps no row after
    const used = ms - (before.get(key) ?? 0);
    if (used <= 0) continue;
    threads.push([key, used]);
    const r = key.slice(0, key.indexOf("/"));
    byRole[r] = (byRole[r] ?? 0) + used;
    totalMs += used;
  }
  threads.sort((a, b) => b[1] - a[1]);
  return { totalMs, byRole, topThreads: threads.slice(0, 8), floorMs: Math.round(totalMs / cpus().length) };
}

/** A CPU use in a line: the total, each process (role) heaviest first, then the heaviest threads. */
export function describeCpu(c: CpuUse): string {
  const roles = Object.entries(c.byRole)
    .sort((a, b) => b[1] - a[1])
    .map(([role, ms]) => `${role} ${ms} ms`)
    .join(", ");
  return `${c.totalMs} ms by process: ${roles}; heaviest threads: ${c.topThreads.map(([thread, ms]) => `${thread} ${ms} ms`).join(", ")}`;
}
