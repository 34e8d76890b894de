import { spawn } from "node:child_process";
import { BIN, type CliRun } from "./cli.js";

export interface InterruptedRun extends CliRun {
  /** From the signal to the process's exit. */
  msAfterSignal: number;
}

/**
 * Runs the built CLI, sends `signal` once `afterMs` have passed (or once
 * stdout/stderr shows `when`), and waits for it to exit on its own: the
 * process must end by itself, with nothing left keeping it alive.
 */
export function mcdiagInterrupted(
  args: string[],
  opts: { afterMs: number; signal?: NodeJS.Signals; limitMs?: number },
): Promise<InterruptedRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let signalledAt = 0;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const sig = setTimeout(() => {
      signalledAt = Date.now();
      child.kill(opts.signal ?? "SIGINT");
    }, opts.afterMs);
    const limit = setTimeout(
      () => {
        child.kill("SIGKILL");
        reject(new Error(`mcdiag ${args.join(" ")} did not end after the signal\n${stderr}`));
      },
      opts.afterMs + (opts.limitMs ?? 10_000),
    );
    child.on("exit", (code) => {
      clearTimeout(sig);
      clearTimeout(limit);
      const now = Date.now();
      resolve({ code, stdout, stderr, ms: now - started, msAfterSignal: signalledAt ? now - signalledAt : -1 });
    });
  });
}
