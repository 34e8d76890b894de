import { spawn } from "node:child_process";
import { BIN, type CliRun } from "./cli.js";

/** How long past `afterMs` a run may take to reach `until`. */
const UNTIL_LIMIT_MS = 30_000;

export interface InterruptedRun extends CliRun {
  /** From the signal to the process's exit. */
  msAfterSignal: number;
}

/**
 * Runs the built CLI, sends `signal` once `afterMs` have passed and
 * `until` (polled every 50 ms, when given) holds, and waits for it to exit
 * on its own: the process must end by itself, with nothing left keeping it
 * alive.
 */
export function mcdiagInterrupted(
  args: string[],
  opts: { afterMs: number; until?: () => boolean; signal?: NodeJS.Signals; limitMs?: number },
): Promise<InterruptedRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let signalledAt = 0;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    let sig: NodeJS.Timeout | undefined;
    let limit: NodeJS.Timeout | undefined;
    const send = () => {
      if (opts.until !== undefined && !opts.until()) {
        if (Date.now() - started < opts.afterMs + UNTIL_LIMIT_MS) {
          sig = setTimeout(send, 50);
          return;
        }
        child.kill("SIGKILL");
        reject(new Error(`mcdiag ${args.join(" ")}: what the signal waits for did not happen\n${stderr}`));
        return;
      }
      signalledAt = Date.now();
      child.kill(opts.signal ?? "SIGINT");
      limit = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`mcdiag ${args.join(" ")} did not end after the signal\n${stderr}`));
      }, opts.limitMs ?? 10_000);
    };
    sig = setTimeout(send, opts.afterMs);
    child.on("exit", (code) => {
      clearTimeout(sig);
      clearTimeout(limit);
      const now = Date.now();
      resolve({ code, stdout, stderr, ms: now - started, msAfterSignal: signalledAt ? now - signalledAt : -1 });
    });
  });
}
