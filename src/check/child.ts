import { spawn } from "node:child_process";
import { McdiagError } from "../util/errors.js";
import type { Endpoint } from "../util/endpoint.js";
import { formatEndpoint } from "../util/endpoint.js";
import type { ChildOutcome } from "./rules.js";

/** How long output may still drain after the command exits before its pipes are closed. */
const DRAIN_AFTER_EXIT_MS = 200;
/** Between SIGTERM and SIGKILL for a command that overran its timeout. */
const KILL_GRACE_MS = 2000;

/**
 * Runs the user's command with the endpoint in its environment and in its
 * arguments ({host}, {port}, {endpoint}). Its stdout and stderr go to
 * `output` (the CLI sends them to its stderr, so stdout stays JSON).
 *
 * The command runs in a process group of its own. At the timeout (or on
 * Ctrl-C) the whole group gets SIGTERM, then SIGKILL: a client that left
 * background children does not outlive the check. When the command exits,
 * its pipes are closed after a short drain, so an orphan still holding them
 * cannot keep `check` waiting, and what is left in the group is stopped.
 */
export function runChild(
  argv: string[],
  ep: Endpoint,
  timeoutMs: number,
  output: (chunk: Buffer) => void,
  signal?: AbortSignal,
): Promise<ChildOutcome> {
  const endpoint = formatEndpoint(ep);
  const args = argv.map((a) =>
    a.replaceAll("{endpoint}", endpoint).replaceAll("{port}", String(ep.port)).replaceAll("{host}", ep.host),
  );
  const env = {
    ...process.env,
    MEMCACHED_HOST: ep.host,
    MEMCACHED_PORT: String(ep.port),
    MEMCACHED_SERVERS: endpoint,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(args[0]!, args.slice(1), { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    child.stdout.on("data", output);
    child.stderr.on("data", output);
    let timedOut = false;
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    const kill = () => {
      killGroup("SIGTERM");
      setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    const onAbort = () => kill();
    signal?.addEventListener("abort", onAbort, { once: true });
    child.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      reject(
        new McdiagError(
          "BAD_OPTION",
          err.code === "ENOENT" ? `command not found: ${args[0]}` : `cannot run ${args[0]}: ${err.code ?? err.message}`,
          { command: args[0] },
        ),
      );
    });
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      const outcome: ChildOutcome = { exitCode: code, signal: sig, timedOut, timeoutMs };
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        child.stdout.destroy();
        child.stderr.destroy();
        // Whatever the command left running in its group goes too: a check leaves no processes behind.
        killGroup(timedOut ? "SIGKILL" : "SIGTERM");
        resolve(outcome);
      };
      child.once("close", finish);
      setTimeout(finish, DRAIN_AFTER_EXIT_MS).unref();
    });
  });
}
