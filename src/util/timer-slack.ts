import { readFileSync, writeFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

const SLACK_FILE = "/proc/self/timerslack_ns";

/**
 * Asks Linux to wake this thread's timed sleeps on time: by default the
 * kernel may delay a wake-up by up to 50 µs (the timer slack) to batch it
 * with others, and the generator's sub-millisecond sleeps then wake late.
 * Latency tools do the same (cyclictest sets PR_SET_TIMERSLACK to 1 ns).
 * Returns what puts the old slack back. Best effort: the file is the
 * process's main thread's (so worker threads leave it alone), and on other
 * systems, or when refused, nothing changes.
 */
export function tightenTimerSlack(): () => void {
  if (!isMainThread || process.platform !== "linux") return () => {};
  let before: string;
  try {
    before = readFileSync(SLACK_FILE, "utf8").trim();
    writeFileSync(SLACK_FILE, "1");
  } catch {
    return () => {};
  }
  return () => {
    try {
      writeFileSync(SLACK_FILE, before);
    } catch {
      // The process keeps the tighter slack: harmless.
    }
  };
}
