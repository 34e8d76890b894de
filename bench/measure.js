// Runs a command to completion and reports wall time and peak RSS (VmHWM,
// polled from /proc while it runs), the same way for every tool compared.
import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";

export function measure(cmd, args, { stdout = "/dev/null", timeoutMs = 900_000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const out = openSync(stdout, "w");
    const child = spawn(cmd, args, { stdio: ["ignore", out, "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // the process just exited
      }
    }, 20);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr.slice(0, 300)}`));
      else resolve({ seconds, peakRssMb: Math.round(peakKb / 1024) });
    });
  });
}
