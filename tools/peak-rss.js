// Peak resident memory of a child process, read the same way by the
// benchmarks, the fuzzer and the memory tests. Linux keeps the high-water mark
// (VmHWM) in /proc/PID/status only while the process exists, so it is polled
// while the process runs; the last poll before the exit is what is known.
import { readFileSync } from "node:fs";

/**
 * Starts polling the peak RSS of process `pid` every `intervalMs` ms.
 * `stop()` ends the polling and returns the highest value seen, in MB
 * (rounded; 0 if none was read). Call it when the process has exited.
 */
export function watchPeakRss(pid, intervalMs) {
  let peakKb = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // the process exited between polls
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(poll);
      return Math.round(peakKb / 1024);
    },
  };
}
