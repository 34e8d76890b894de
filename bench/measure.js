// Runs a command to completion and reports wall time, CPU time (user + sys)
// and peak RSS (VmHWM, polled from /proc while it runs), the same way for
// every tool compared. CPU time is the child's, read from this process's own
// cutime + cstime (/proc/self/stat) before and after it is reaped, so it is
// exact to a clock tick while one child runs at a time.
import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { watchPeakRss } from "../tools/peak-rss.js";

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SEC = 100;

function childrenCpuSeconds() {
  // Fields after the command name (which may hold spaces): state is field 3, cutime 16, cstime 17.
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) / TICKS_PER_SEC;
}

export function measure(cmd, args, { stdout = "/dev/null", timeoutMs = 900_000 } = {}) {
  return new Promise((resolve, reject) => {
    const cpuBefore = childrenCpuSeconds();
    const started = process.hrtime.bigint();
    const out = openSync(stdout, "w");
    const child = spawn(cmd, args, { stdio: ["ignore", out, "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const rss = watchPeakRss(child.pid, 20);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      const peakRssMb = rss.stop();
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpuSeconds = childrenCpuSeconds() - cpuBefore;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr.slice(0, 300)}`));
      else resolve({ seconds, cpuSeconds, peakRssMb });
    });
  });
}
