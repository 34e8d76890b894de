import { spawn } from "node:child_process";
import { McdiagError } from "../util/errors.js";
import type { Endpoint } from "../util/endpoint.js";
import { formatEndpoint } from "../util/endpoint.js";
import type { ChildOutcome } from "./rules.js";

/**
 * Runs the user's command with the endpoint in its environment and in its
 * arguments ({host}, {port}, {endpoint}). Its stdout and stderr go to
 * `output` (the CLI sends them to its stderr, so stdout stays JSON).
 * Killed at the timeout (TERM, then KILL).
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
    const child = spawn(args[0]!, args.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", output);
    child.stderr.on("data", output);
    let timedOut = false;
    const kill = () => {
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 2000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    signal?.addEventListener("abort", kill, { once: true });
    child.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
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
      resolve({ exitCode: code, signal: sig, timedOut, timeoutMs });
    });
  });
}
