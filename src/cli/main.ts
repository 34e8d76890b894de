import { Command, CommanderError } from "commander";
import { isMcdiagError } from "../util/errors.js";
import { analyzeCommand } from "./analyze.js";
import { checkCommand } from "./check.js";
import { compareCommand } from "./compare.js";
import type { CliContext } from "./context.js";
import { demoCommand } from "./demo.js";
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from "./exit-codes.js";
import { poolSizeCommand } from "./pool-size.js";
import { probeCommand } from "./probe.js";
import { serveCommand } from "./serve.js";
import { sweepCommand } from "./sweep.js";

const VERSION = "0.1.0";

/** Runs the CLI; resolves with the exit code. The only caller is bin/mcdiag.js. */
export async function run(argv: string[]): Promise<number> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const ctx: CliContext = {
    exitCode: EXIT_OK,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    signal: abort.signal,
  };
  const program = new Command("mcdiag")
    .description("find where memcached latency goes: the connection pool, the wire, or a Nagle/delayed-ACK stall")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) });
  for (const sub of [
    probeCommand(ctx),
    compareCommand(ctx),
    sweepCommand(ctx),
    poolSizeCommand(ctx),
    analyzeCommand(ctx),
    checkCommand(ctx),
    demoCommand(ctx),
    serveCommand(ctx),
  ]) {
    program.addCommand(sub.exitOverride().showHelpAfterError("(run with --help for usage)"));
  }
  program.addHelpText(
    "after",
    `
Examples:
  mcdiag demo                                  reproduce the 40 ms stall on a built-in server
  mcdiag compare 127.0.0.1:11211               split vs coalesced writes, Nagle on vs off
  mcdiag probe 127.0.0.1:11211 --write split   one pattern, with pool and Little's-law figures
  mcdiag analyze capture.pcapng                every stalled request in a capture, with frame numbers
  mcdiag check -- node client.js {endpoint}    fail CI when a client splits its commands
  mcdiag sweep 127.0.0.1:11211 --rates 1000,5000 --slo "p99<2ms"   find the knee
  mcdiag pool-size --rate 5000 --hold 45ms --pool 20               the pool arithmetic`,
  );
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with code 0; commander has already printed its message.
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version"
        ? EXIT_OK
        : EXIT_USAGE;
    }
    if (isMcdiagError(err)) {
      ctx.err(`mcdiag: ${err.message}\n`);
      return exitCodeFor(err.code);
    }
    const e = err as Error;
    ctx.err(`mcdiag: internal error: ${e?.message ?? String(err)}\n`);
    if (process.env.MCDIAG_DEBUG) ctx.err(`${e?.stack ?? ""}\n`);
    return 70;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
