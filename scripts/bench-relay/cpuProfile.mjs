// Loaded into a relay process with `--import` (through NODE_OPTIONS, which refuses --cpu-prof) when
// the bench runs with --profile DIR: samples the main thread from start to exit and writes
// DIR/relay-<pid>.cpuprofile (open it in Chrome DevTools, or summarise it with profileSummary.ts).
// Plain JavaScript: NODE_OPTIONS imports load before tsx is registered.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 });
  session.post("Profiler.start");
  // A same-thread session answers synchronously, so this completes inside the exit handler.
  process.once("exit", () => {
    session.post("Profiler.stop", (err, res) => {
      if (!err) writeFileSync(join(dir, `relay-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
